// Write outage of a stop-first redeploy (issue 18): the PostgreSQL preset (deploykit-test/postgres:1,
// Debian's PostgreSQL 15) with a writer in another container committing one row at a time (~50 ms
// apart) and printing an ACK with the answering server's start time. Per redeploy (one env var
// changed, then Deploy) the outage is the time from the last write acknowledged by the old server to
// the first acknowledged by the new one. It is split with Docker's events and the new server's log:
// last ACK → stop signal, stop signal → old container gone, gone → new container created,
// created → started, started → PostgreSQL ready, ready → first ACK. A real deploykitd drives its own
// disposable dockerd; the images come from `bash scripts/test-images.sh`.
//   node bench/volume-outage.ts [redeploys=10]
import Docker from "dockerode";
import { Daemon } from "../test/harness/daemon.ts";
import {
  type Ack,
  buildDbWorkloads,
  containerOutput,
  DATABASE_IMAGES,
  DB_WORKLOADS,
  deployPresetWithWriter,
  POSTGRES_IMAGE,
  stageAndDeploy,
  waitDeployment,
  waitWritesAfter,
} from "../test/harness/databases.ts";
import { Dockerd } from "../test/harness/dockerd.ts";

const REDEPLOYS = Number(process.argv[2] ?? 10);
const PHASES = ["ack→signal", "signal→gone", "gone→create", "create→start", "start→ready", "ready→ack"] as const;

function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

interface DockerEvent {
  at: number;
  action: string;
  id: string;
}

/** When PostgreSQL in `containerID` logged that it accepts connections (ms epoch, its own clock). */
async function readyAt(docker: Docker, containerID: string): Promise<number> {
  const out = await containerOutput(docker, containerID).catch(() => "");
  const m = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) UTC .*ready to accept connections/m.exec(out);
  return m ? Date.parse(`${(m[1] as string).replace(" ", "T")}Z`) : Number.NaN;
}

const dockerd = await Dockerd.start({ images: DATABASE_IMAGES });
let d: Daemon | undefined;
try {
  await buildDbWorkloads(dockerd.socketPath);
  d = await Daemon.start({ dockerSocket: dockerd.socketPath });
  const fx = await deployPresetWithWriter(d, dockerd.docker, {
    project: "bench-vol",
    presetID: "postgres",
    image: POSTGRES_IMAGE,
    writer: DB_WORKLOADS.pgWriter.tag,
    writerEnv: (env) => ({
      DB_HOST: "${{db.HOST}}",
      DB_USER: env.POSTGRES_USER as string,
      DB_PASSWORD: env.POSTGRES_PASSWORD as string,
      DB_NAME: env.POSTGRES_DB as string,
      WRITE_INTERVAL: "0.05",
    }),
  });
  const events: DockerEvent[] = [];
  // No client timeout: the stream is quiet between redeploys.
  const stream = (await new Docker({ socketPath: dockerd.socketPath }).getEvents({
    filters: { type: ["container"], event: ["kill", "destroy", "create", "start"], label: [`deploykit.service-id=${fx.dbID}`] },
  })) as unknown as NodeJS.ReadableStream & { destroy(): void };
  stream.on("data", (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line.trim()) continue;
      const ev = JSON.parse(line) as { Action: string; id: string; timeNano: number };
      events.push({ at: ev.timeNano / 1e6, action: ev.Action, id: ev.id });
    }
  });

  const rows: { outage: number; phases: number[]; writes: number; replaced: number }[] = [];
  let acks: Ack[] = await waitWritesAfter(dockerd.docker, fx, Date.now(), 5);
  for (let i = 1; i <= REDEPLOYS; i++) {
    const t0 = Date.now();
    const oldServer = acks.at(-1)?.server as string;
    const dep = await stageAndDeploy(d, fx, { revision: String(i) });
    await waitDeployment(d, fx, dep.id);
    acks = await waitWritesAfter(dockerd.docker, fx, Date.now(), 5);
    const lastOld = acks.filter((a) => a.server === oldServer).at(-1);
    const firstNew = acks.find((a) => a.at > t0 && a.server !== oldServer);
    if (!lastOld || !firstNew) throw new Error(`redeploy ${i}: cannot tell the servers apart in the writer's ACKs`);
    const mine = events.filter((e) => e.at >= t0);
    const at = (action: string) => mine.find((e) => e.action === action);
    const signal = at("kill")?.at ?? Number.NaN;
    const gone = at("destroy")?.at ?? Number.NaN;
    // The container that answered first; creates after it replaced a serving container (another outage).
    const before = mine.filter((e) => e.at < firstNew.at);
    const created = before.filter((e) => e.action === "create").at(-1);
    const started = created
      ? (mine.find((e) => e.action === "start" && e.id === created.id && e.at >= created.at)?.at ?? Number.NaN)
      : Number.NaN;
    const ready = created ? await readyAt(dockerd.docker, created.id) : Number.NaN;
    const marks = [lastOld.at, signal, gone, created?.at ?? Number.NaN, started, ready, firstNew.at];
    const phases = PHASES.map((_, k) => (marks[k + 1] as number) - (marks[k] as number));
    const retried = before.filter((e) => e.action === "create").length - 1;
    const replaced = mine.filter((e) => e.action === "create" && e.at >= firstNew.at).length;
    const notes = [
      retried > 0 ? `${retried} container created and removed before it` : "",
      replaced > 0 ? `serving container replaced ${replaced}× afterwards` : "",
    ].filter(Boolean);
    rows.push({ outage: firstNew.at - lastOld.at, phases, writes: acks.length, replaced });
    console.log(
      `redeploy ${String(i).padStart(2)}: outage ${firstNew.at - lastOld.at} ms = ${PHASES.map((p, k) => `${p} ${Math.round(phases[k] as number)}`).join(", ")}${notes.length ? ` (${notes.join("; ")})` : ""}`,
    );
  }
  stream.destroy();
  const outages = rows.map((r) => r.outage);
  console.log(`\nwrite outage per redeploy over ${rows.length}: median ${median(outages)} ms, max ${Math.max(...outages)} ms`);
  console.log(
    `  phase medians: ${PHASES.map((p, k) => `${p} ${Math.round(median(rows.map((r) => r.phases[k] as number)))} ms`).join(", ")}`,
  );
  console.log(
    `  ${rows.at(-1)?.writes ?? 0} writes acknowledged in all; serving containers replaced after a switch: ${rows.reduce((n, r) => n + r.replaced, 0)}`,
  );
} finally {
  await d?.destroy();
  await dockerd.destroy();
}
