// `node bench/http.ts populated [services=100] [seconds=10] [rounds=3]` (issue 19): the API under a
// populated instance (bench/_populated.ts), each figure against a bare Fastify route serving the same
// bytes in the same run; the daemon's event-loop delay across resync passes (2 s interval); a canvas
// node move reaching 50 clients while resyncs run; and Deploy of one more service in another project
// against a plain `docker run` (create + start) of the same container (issue 11, ≤ 1.3×).
import type Docker from "dockerode";
import { sleep } from "../test/harness/wait.ts";
import {
  BUSYBOX,
  bareServer,
  canvasMoves,
  connectViewers,
  emptyServer,
  type Figures,
  hammer,
  load1,
  loopDelay,
  median,
  type Populated,
  pct,
  populate,
  TICKER,
  teardown,
} from "./_populated.ts";

const ok = (b: boolean) => (b ? "✔" : "✘");
const out = (s: string) => process.stdout.write(`${s}\n`);

export async function run(n: number, seconds: number, rounds: number): Promise<boolean> {
  out(`populated profile: ${n} services running, resync every 2 s, 1 SSE viewer + 5 canvas clients (load ${load1()})`);
  let p: Populated | null = null;
  let pass = true;
  try {
    p = await populate(n);
    out(`setup: ${n} services running ${p.setupS.toFixed(0)} s after Deploy`);
    const viewers = await connectViewers(p);
    const api = `${p.d.url}/api/projects/${p.projectID}/services?limit=100`;
    const body = (await p.d.request("GET", "/api/projects/" + p.projectID + "/services?limit=100")).text;
    const bare = await bareServer(body);
    try {
      await sleep(3000);
      const { daemon: q, bare: qb } = await loopDelay(p.d, bare.url, 10_000);
      out(
        `event-loop delay over 10 s of resyncs (no HTTP load): daemon p50 ${q.p50} p99 ${q.p99} max ${q.max} ms;` +
          ` idle bare process, same window: p50 ${qb.p50} p99 ${qb.p99} max ${qb.max} ms (budget daemon p99 ≤ 20 ${ok(q.p99 <= 20)})`,
      );
      pass &&= q.p99 <= 20;
      await hammer(api, p.d.token, 3); // warm-up
      const A: Figures[] = [];
      const B: Figures[] = [];
      for (let i = 0; i < rounds; i++) {
        const a = await hammer(api, p.d.token, seconds);
        const b = await hammer(bare.url, null, seconds);
        A.push(a);
        B.push(b);
        out(
          `round ${i + 1} (load ${load1()}): api ${a.rps.toFixed(0)} req/s p50 ${a.p50} p99 ${a.p99} ms (errors ${a.errors}, non-2xx ${a.non2xx})` +
            ` | bare ${b.rps.toFixed(0)} req/s p50 ${b.p50} p99 ${b.p99} ms | ratio ${(a.rps / b.rps).toFixed(2)}, p99 ${(a.p99 / Math.max(1, b.p99)).toFixed(2)}×`,
        );
      }
      const ratio = median(A.map((a, i) => a.rps / (B[i] as Figures).rps));
      const p99r = median(A.map((a, i) => a.p99 / Math.max(1, (B[i] as Figures).p99)));
      out(
        `median: api ${median(A.map((a) => a.rps)).toFixed(0)} req/s p50 ${median(A.map((a) => a.p50))} p99 ${median(A.map((a) => a.p99))} ms;` +
          ` bare ${median(B.map((b) => b.rps)).toFixed(0)} req/s p50 ${median(B.map((b) => b.p50))} p99 ${median(B.map((b) => b.p99))} ms;` +
          ` throughput ${ratio.toFixed(2)}× bare (budget ≥ 0.7 ${ok(ratio >= 0.7)}), p99 ${p99r.toFixed(2)}× bare (budget ≤ 2 ${ok(p99r <= 2)})`,
      );
      pass &&= ratio >= 0.7 && p99r <= 2;
      const lat = await canvasMoves({ url: p.d.url, projectID: p.projectID, token: p.d.token }, 6);
      const empty = await emptyServer();
      const base = await canvasMoves(empty, 6).finally(() => empty.stop());
      const m99 = pct(lat, 99);
      out(
        `canvas: node move to 50 clients during resyncs, ${lat.length} deliveries: p50 ${pct(lat, 50).toFixed(1)} ms p99 ${m99.toFixed(1)} ms` +
          ` max ${pct(lat, 100).toFixed(1)} ms (budget p99 ≤ 50 ${ok(m99 <= 50)}); same code on an empty instance, same run:` +
          ` p50 ${pct(base, 50).toFixed(1)} ms p99 ${pct(base, 99).toFixed(1)} ms (ratio p99 ${(m99 / pct(base, 99)).toFixed(2)}×)`,
      );
      pass &&= m99 <= 50;
      const r = await deployOneMore(p, 5);
      out(
        `deploy of one more service (another project, ${n} running) vs plain docker create+start on its network: ${r.deploy.toFixed(0)} ms vs ${r.plain.toFixed(0)} ms,` +
          ` ratio ${(r.deploy / r.plain).toFixed(2)}× (budget ≤ 1.3 ${ok(r.deploy / r.plain <= 1.3)})`,
      );
      pass &&= r.deploy / r.plain <= 1.3;
    } finally {
      viewers.close();
      await bare.stop();
    }
  } finally {
    await teardown(p, p?.d ?? null);
  }
  return pass;
}

/**
 * Per run: stage one busybox service in a second project and Deploy it; the clock runs from the
 * Deploy request to Docker's `start` event of its container. Baseline, alternating: a plain
 * dockerode create + start of the same image and command (clock until start() returns).
 */
async function deployOneMore(p: Populated, runs: number): Promise<{ deploy: number; plain: number }> {
  const docker: Docker = p.docker;
  const other = await p.d.must("POST", "/api/projects", 201, { body: { name: "deploy bench" } });
  const started = new Map<string, number>();
  // Both clocks stop at Docker's own `start` event (the daemon's container by its service label, the
  // plain one by its name), so the event stream's delay is on both sides.
  const events = (await docker.getEvents({ filters: { type: ["container"], event: ["start"] } })) as NodeJS.ReadableStream & {
    destroy(): void;
  };
  let buf = "";
  events.on("data", (chunk: Buffer) => {
    const at = performance.now();
    buf += chunk.toString();
    let i = buf.indexOf("\n");
    while (i >= 0) {
      const e = JSON.parse(buf.slice(0, i)) as { Actor?: { Attributes?: Record<string, string> } };
      const attrs = e.Actor?.Attributes ?? {};
      const key = attrs["deploykit.service-id"] ?? attrs.name;
      if (key) started.set(key, at);
      buf = buf.slice(i + 1);
      i = buf.indexOf("\n");
    }
  });
  const deploys: number[] = [];
  const plains: number[] = [];
  try {
    for (let i = 0; i < runs + 1; i++) {
      const staged = await p.d.must("POST", `/api/projects/${other.id}/services`, 201, {
        body: { name: `one-more-${i}`, image: BUSYBOX, start_command: TICKER },
      });
      const t0 = performance.now();
      const res = await p.d.must("POST", `/api/projects/${other.id}/deploy`, 200);
      const sid = res.temp_id_to_service_id[staged.target_temp_id] as string;
      const deadline = Date.now() + 120_000;
      while (!started.has(sid) && Date.now() < deadline) await sleep(5);
      if (i > 0) deploys.push((started.get(sid) ?? Number.NaN) - t0);
      // The same container as plainly as Docker runs it: image, command, the project's network with an
      // alias, the restart policy (what bench/reconcile.ts compares against too).
      const nets = await docker.listNetworks({ filters: { label: [`deploykit.project-id=${other.id}`] } });
      const net = nets[0]?.Name ?? "bridge";
      const name = `dkbench-perf-plain-${process.pid}-${i}`;
      const t1 = performance.now();
      const c = await docker.createContainer({
        Image: BUSYBOX,
        Cmd: TICKER,
        name,
        HostConfig: { NetworkMode: net, RestartPolicy: { Name: "unless-stopped" } },
        NetworkingConfig: { EndpointsConfig: { [net]: { Aliases: [`plain-${i}`] } } },
      });
      await c.start();
      const deadline2 = Date.now() + 60_000;
      while (!started.has(name) && Date.now() < deadline2) await sleep(5);
      if (i > 0) plains.push((started.get(name) ?? Number.NaN) - t1);
      await c.remove({ force: true });
      await sleep(2500); // let the service settle, so every run sees the same background
    }
  } finally {
    events.destroy();
  }
  return { deploy: median(deploys), plain: median(plains) };
}
