// Write outage of a stop-first redeploy (issue 18): the PostgreSQL preset (deploykit-test/postgres:1,
// Debian's PostgreSQL 15) with a writer in another container committing one row every ~100 ms and
// printing an ACK with the answering server's start time. Per redeploy (one env var changed, then
// Deploy) the outage is the time from the last write acknowledged by the old server to the first
// acknowledged by the new one. Also split out, from Docker's events: the old container's stop
// (stop signal → gone) and the new one's creation (create → started). A real deploykitd drives its
// own disposable dockerd; images come from `bash scripts/test-images.sh`.
//   node bench/volume-outage.ts [redeploys=10]
import { Daemon } from "../test/harness/daemon.ts";
import {
  type Ack,
  buildDbWorkloads,
  DATABASE_IMAGES,
  DB_WORKLOADS,
  deployPresetWithWriter,
  POSTGRES_IMAGE,
  stageAndDeploy,
  waitDeployment,
  waitWritesAfter,
} from "../test/harness/databases.ts";
import { Dockerd } from "../test/harness/dockerd.ts";
import { percentile } from "../test/harness/wait.ts";

const REDEPLOYS = Number(process.argv[2] ?? 10);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

interface DockerEvent {
  at: number;
  action: string;
  name: string;
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
  const stream = (await dockerd.docker.getEvents({
    filters: { type: ["container"], event: ["kill", "destroy", "create", "start"], label: [`deploykit.service-id=${fx.dbID}`] },
  })) as unknown as NodeJS.ReadableStream & { destroy(): void };
  stream.on("data", (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line.trim()) continue;
      const ev = JSON.parse(line) as { Action: string; timeNano: number; Actor?: { Attributes?: Record<string, string> } };
      events.push({ at: ev.timeNano / 1e6, action: ev.Action, name: ev.Actor?.Attributes?.name ?? "" });
    }
  });

  const rows: { outage: number; stop: number; create: number; acked: number }[] = [];
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
    const kill = mine.find((e) => e.action === "kill");
    const gone = mine.find((e) => e.action === "destroy");
    const created = mine.find((e) => e.action === "create");
    const started = mine.find((e) => e.action === "start");
    const row = {
      outage: firstNew.at - lastOld.at,
      stop: kill && gone ? gone.at - kill.at : Number.NaN,
      create: created && started ? started.at - created.at : Number.NaN,
      acked: acks.length,
    };
    rows.push(row);
    console.log(
      `redeploy ${String(i).padStart(2)}: outage ${row.outage} ms (old container stop → gone ${row.stop.toFixed(0)} ms, new create → started ${row.create.toFixed(0)} ms)`,
    );
  }
  stream.destroy();
  const outages = rows.map((r) => r.outage);
  console.log(
    `\nwrite outage per redeploy over ${rows.length}: median ${median(outages)} ms, p90 ${percentile(outages, 90)} ms, max ${Math.max(...outages)} ms`,
  );
  console.log(
    `  of which Docker: stop → gone median ${median(rows.map((r) => r.stop)).toFixed(0)} ms, create → started median ${median(rows.map((r) => r.create)).toFixed(0)} ms`,
  );
  console.log(`  ${rows.at(-1)?.acked ?? 0} writes acknowledged in all`);
} finally {
  await d?.destroy();
  await dockerd.destroy();
}
