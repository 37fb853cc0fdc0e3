// A load generator run as a process of its own (`node test/harness/loadgen.ts '<json config>'`), so
// the test runner's own work does not distort the figures: `clients` concurrent loops for `seconds`,
// each picking a read or a staged write, over keep-alive connections (Node's fetch pool has no
// per-origin connection cap, so each client gets its own socket). Prints one JSON result.
interface Config {
  url: string;
  token: string;
  projects: string[];
  clients: number;
  seconds: number;
  /** Share of staged writes (0–1); the rest are reads. */
  writeShare: number;
}

const cfg = JSON.parse(process.argv[2] ?? "{}") as Config;

const lat: Record<string, number[]> = {};
const statuses: Record<string, Record<number, number>> = {};
const written: { project: string; key: string }[] = [];
const errors: string[] = [];
const headers = { authorization: `Bearer ${cfg.token}` };

function note(op: string, status: number, ms: number): void {
  if (!lat[op]) lat[op] = [];
  lat[op].push(ms);
  if (!statuses[op]) statuses[op] = {};
  const s = statuses[op];
  s[status] = (s[status] ?? 0) + 1;
}

async function client(i: number, end: number): Promise<void> {
  const project = cfg.projects[i % cfg.projects.length] as string;
  let n = 0;
  while (Date.now() < end) {
    const roll = Math.random();
    const t0 = performance.now();
    try {
      if (roll < cfg.writeShare) {
        const key = `C${i}_${n++}`;
        const r = await fetch(`${cfg.url}/api/projects/${project}/env-vars`, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify({ key, value: `v${n}` }),
        });
        await r.arrayBuffer();
        note("stage env var", r.status, performance.now() - t0);
        if (r.status === 201) written.push({ project, key });
      } else {
        const paths = [
          `/api/projects/${project}/services?limit=100`,
          "/api/projects",
          `/api/projects/${project}/pending-changes?limit=100`,
          "/api/auth/me",
        ];
        const path = paths[Math.floor(roll * 1000) % paths.length] as string;
        const r = await fetch(`${cfg.url}${path}`, { headers });
        await r.arrayBuffer();
        note(
          path.includes("pending")
            ? "read pending"
            : path.includes("services")
              ? "read services"
              : path === "/api/auth/me"
                ? "read me"
                : "read projects",
          r.status,
          performance.now() - t0,
        );
      }
    } catch (err) {
      errors.push((err as Error).message);
      note("network error", 0, performance.now() - t0);
    }
  }
}

function pct(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number);
}

const start = Date.now();
const end = start + cfg.seconds * 1000;
await Promise.all(Array.from({ length: cfg.clients }, (_, i) => client(i, end)));
const seconds = (Date.now() - start) / 1000;
const ops: Record<
  string,
  { count: number; per_s: number; p50: number; p95: number; p99: number; max: number; statuses: Record<number, number> }
> = {};
for (const [op, v] of Object.entries(lat))
  ops[op] = {
    count: v.length,
    per_s: Math.round(v.length / seconds),
    p50: pct(v, 50),
    p95: pct(v, 95),
    p99: pct(v, 99),
    max: pct(v, 100),
    statuses: statuses[op] ?? {},
  };
const all = Object.values(lat).flat();
process.stdout.write(
  JSON.stringify({
    seconds: Math.round(seconds * 10) / 10,
    clients: cfg.clients,
    requests: all.length,
    per_s: Math.round(all.length / seconds),
    p50: pct(all, 50),
    p99: pct(all, 99),
    ops,
    written,
    errors: errors.slice(0, 20),
  }),
);
