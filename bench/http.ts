// HTTP API throughput (PRODUCT.md §5): authenticated GET /api/projects/{id}/services returning 100
// services (each with its thin active deployment), 64 connections, ≥ 3,000 req/s and p99 ≤ 20 ms.
// Baseline in the same run: a bare Fastify route answering the same JSON bytes (pre-serialized), so
// the ratio shows what authentication, hooks and the list cache cost on top of Fastify itself. Server and baseline each run in their own child
// process (bench/_http-server.ts); rounds alternate A/B.
//   node bench/http.ts [seconds=10] [rounds=3] [nocache]   (nocache: without the service list cache)
//   node bench/http.ts populated [services=100] [seconds=10] [rounds=3]   (issue 19: real containers
//   running, resync every 2 s, viewers connected; see bench/_http-populated.ts)
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

if (process.argv[2] === "populated") {
  const { run } = await import("./_http-populated.ts");
  const n = Number(process.argv[3] ?? 100);
  process.exit((await run(n, Number(process.argv[4] ?? 10), Number(process.argv[5] ?? 3))) ? 0 : 1);
}
const SECONDS = Number(process.argv[2] ?? 10);
const ROUNDS = Number(process.argv[3] ?? 3);
const CONNECTIONS = 64;
const here = dirname(fileURLToPath(import.meta.url));

interface Child {
  proc: ChildProcess;
  port: number;
  token: string;
  projectID: string;
}

async function child(...args: string[]): Promise<Child> {
  const proc = spawn(process.execPath, ["--max-semi-space-size=2", join(here, "_http-server.ts"), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const [line] = (await once(rl, "line")) as [string];
  rl.close();
  return { proc, ...(JSON.parse(line) as Omit<Child, "proc">) };
}

async function stop(c: Child): Promise<void> {
  c.proc.kill("SIGTERM");
  await once(c.proc, "exit");
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  bytes: number;
}

async function load(url: string, token: string | null): Promise<Figures> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const r = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, headers });
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    bytes: Math.round(r.throughput.average / Math.max(1, r.requests.average)),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const server = await child("100", ...(process.argv[4] === "nocache" ? ["nocache"] : []));
const bare = await child("bare");
const api = `http://127.0.0.1:${server.port}/api/projects/${server.projectID}/services?limit=100`;
const check = await fetch(api, { headers: { authorization: `Bearer ${server.token}` } });
const body = (await check.json()) as { data: unknown[] };
if (check.status !== 200 || body.data.length !== 100) throw new Error(`unexpected response ${check.status}`);

const A: Figures[] = [];
const B: Figures[] = [];
try {
  await load(api, server.token); // warm-up (JIT, SQLite page cache)
  for (let i = 0; i < ROUNDS; i++) {
    A.push(await load(api, server.token));
    B.push(await load(`http://127.0.0.1:${bare.port}/bare`, null));
    const a = A.at(-1) as Figures;
    const b = B.at(-1) as Figures;
    process.stdout.write(
      `round ${i + 1}: api ${a.rps.toFixed(0)} req/s p50 ${a.p50} ms p99 ${a.p99} ms (errors ${a.errors}, non-2xx ${a.non2xx}, ${a.bytes} B)` +
        ` | bare ${b.rps.toFixed(0)} req/s p99 ${b.p99} ms | ratio ${(a.rps / b.rps).toFixed(2)}\n`,
    );
  }
} finally {
  await stop(server);
  await stop(bare);
}
const rps = median(A.map((f) => f.rps));
const p99 = median(A.map((f) => f.p99));
const ratio = median(A.map((f, i) => f.rps / (B[i] as Figures).rps));
process.stdout.write(
  `\nmedian: api ${rps.toFixed(0)} req/s (budget ≥ 3000 ${rps >= 3000 ? "✔" : "✘"}), p99 ${p99} ms (budget ≤ 20 ${p99 <= 20 ? "✔" : "✘"}),` +
    ` ${(ratio * 100).toFixed(0)} % of bare Fastify (${median(B.map((f) => f.rps)).toFixed(0)} req/s)\n`,
);
