// `node bench/memory.ts populated [services=100] [seconds=20]` (issue 19): the daemon's resident
// memory under the populated profile (bench/_populated.ts: real busybox services running, resync
// every 2 s, one SSE log viewer and five canvas clients), sampled once a second while a light API
// load runs, against a bare Fastify process serving the same list bytes under the same load.
import { sleep } from "../test/harness/wait.ts";
import { bareServer, connectViewers, hammer, load1, type Populated, pct, populate, rssOf, teardown } from "./_populated.ts";

const mb = (b: number) => (b / 1024 / 1024).toFixed(1);

export async function run(n: number, seconds: number): Promise<boolean> {
  process.stdout.write(
    `populated profile (memory): ${n} services running, resync every 2 s, 1 SSE viewer + 5 canvas clients (load ${load1()})\n`,
  );
  let p: Populated | null = null;
  try {
    p = await populate(n);
    process.stdout.write(`setup: ${n} services running ${p.setupS.toFixed(0)} s after Deploy\n`);
    const viewers = await connectViewers(p);
    const body = (await p.d.request("GET", `/api/projects/${p.projectID}/services?limit=100`)).text;
    const bare = await bareServer(body);
    try {
      const api = `${p.d.url}/api/projects/${p.projectID}/services?limit=100`;
      const daemon: number[] = [];
      const base: number[] = [];
      // A light, steady load on both (8 connections), so the figures include request buffers.
      const loads = Promise.all([hammer(api, p.d.token, seconds, 8), hammer(bare.url, null, seconds, 8)]);
      for (let i = 0; i < seconds; i++) {
        await sleep(1000);
        daemon.push(rssOf(p.d.pid as number));
        base.push(rssOf(bare.pid));
      }
      await loads;
      const d50 = pct(daemon, 50);
      const b50 = pct(base, 50);
      process.stdout.write(
        `RSS over ${seconds} s: daemon p50 ${mb(d50)} MB p99 ${mb(pct(daemon, 99))} MB; bare Fastify p50 ${mb(b50)} MB p99 ${mb(pct(base, 99))} MB;` +
          ` ratio p50 ${(d50 / b50).toFixed(2)}×, p99 ${(pct(daemon, 99) / pct(base, 99)).toFixed(2)}×` +
          ` (issue 11 budget with 300 running: ≤ 120 MB ${d50 <= 120 * 2 ** 20 ? "✔" : "✘"})\n`,
      );
    } finally {
      viewers.close();
      await bare.stop();
    }
  } finally {
    await teardown(p, p?.d ?? null);
  }
  return true;
}
