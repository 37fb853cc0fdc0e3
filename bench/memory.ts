// Daemon memory (PRODUCT.md §5): resident set size of deploykitd idle after start with the SPA
// served (≤ 100 MB; issue 11's goal ≤ 80 MB), and with 300 services running (≤ 160 MB; issue 11's
// goal ≤ 120 MB). The daemon is the real one (built dist/ when present — what `make run` starts —
// else the TypeScript entry point), on a temp database, driving the host's dockerd; the 300 services
// are deploykit-test/greeter:1 containers.
// Everything it creates is removed at the end (project delete, then a label sweep).
// Also reports start-up time: spawn to the first answered /api/health.
//   node bench/memory.ts [services=300]
//   DEPLOYKIT_BENCH_NODE_FLAGS= node bench/memory.ts 0    (Node's default flags, idle only)
//   node bench/memory.ts populated [services=100] [seconds=20]   (issue 19; bench/_memory-populated.ts)
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Docker from "dockerode";

if (process.argv[2] === "populated") {
  const { run } = await import("./_memory-populated.ts");
  process.exit((await run(Number(process.argv[3] ?? 100), Number(process.argv[4] ?? 20))) ? 0 : 1);
}
const SERVICES = Number(process.argv[2] ?? 300);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const built = join(root, "dist/server/cmd/deploykitd/main.js");
if (existsSync(built)) process.env.DEPLOYKIT_TEST_MAIN ??= built;
const { Daemon } = await import("../test/harness/daemon.ts");
const { waitFor, sleep } = await import("../test/harness/wait.ts");

execFileSync("bash", [join(root, "scripts/test-images.sh")], { stdio: "inherit" });
const docker = new Docker();
const mb = (b: number) => (b / 1024 / 1024).toFixed(1);

async function sampleRSS(d: Awaited<ReturnType<typeof Daemon.start>>, n: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    xs.push(d.rss());
    await sleep(1000);
  }
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)] as number;
}

const spa = join(root, "dist/public");
// The Node flags `make run` and dist/deploykitd start the daemon with, unless the environment says.
const NODE_FLAGS = process.env.DEPLOYKIT_BENCH_NODE_FLAGS ?? "--max-semi-space-size=2";
const started = performance.now();
const d = await Daemon.start({
  reconcileInterval: "30s",
  args: existsSync(join(spa, "index.html")) ? ["-spa-dir", spa] : [],
  env: { NODE_OPTIONS: NODE_FLAGS },
});
const startupMs = performance.now() - started;
const entry = process.env.DEPLOYKIT_TEST_MAIN ?? "src/cmd/deploykitd/main.ts";
let instanceID = "";
try {
  instanceID = (await d.must("GET", "/api/system/about", 200)).deploykit.instance_id;
  // What a first visit does: the SPA shell and its assets, then the first API calls.
  const html = await (await fetch(`${d.url}/`)).text();
  for (const m of html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)) await (await fetch(d.url + m[1])).arrayBuffer();
  await d.must("GET", "/api/projects", 200);
  await d.must("GET", "/api/auth/me", 200);
  await sleep(5000);
  const idle = await sampleRSS(d, 5);
  process.stdout.write(
    `entry ${entry} (node ${NODE_FLAGS || "default flags"})\nstart-up to first /api/health: ${startupMs.toFixed(0)} ms\n` +
      `idle after start (SPA served): ${mb(idle)} MB (budget ≤ 80 MB ${idle <= 80 * 2 ** 20 ? "✔" : "✘"})\n`,
  );

  const project = await d.must("POST", "/api/projects", 201, { body: { name: "memory bench" } });
  for (let i = 0; i < SERVICES; i++) {
    await d.must("POST", `/api/projects/${project.id}/services`, 201, {
      body: {
        name: `svc-${i}`,
        image: "deploykit-test/greeter:1",
        ports: [{ container_port: 8080 }],
        env_vars: [{ key: "GREETING", value: `hi ${i}` }],
      },
    });
  }
  const t0 = Date.now();
  await d.must("POST", `/api/projects/${project.id}/deploy`, 200);
  await waitFor(
    async () => {
      let running = 0;
      for (let offset = 0; offset < SERVICES; offset += 100) {
        const page = await d.must("GET", `/api/projects/${project.id}/services?limit=100&offset=${offset}`, 200);
        running += page.data.filter((s: { status: string }) => s.status === "running").length;
      }
      return running === SERVICES;
    },
    { timeoutMs: 20 * 60_000, intervalMs: 3000, what: `${SERVICES} services running` },
  );
  process.stdout.write(`${SERVICES} services running after ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  await sleep(5000);
  const loaded = await sampleRSS(d, 10);
  const mark = (limit: number) => (loaded <= limit * 2 ** 20 ? "✔" : "✘");
  process.stdout.write(`with ${SERVICES} services running: ${mb(loaded)} MB (budget ≤ 160 MB ${mark(160)}, goal ≤ 120 MB ${mark(120)})\n`);

  await d.must("DELETE", `/api/projects/${project.id}`, 204);
  const label = [`deploykit.instance=${instanceID}`];
  await waitFor(async () => (await docker.listContainers({ all: true, filters: { label } })).length === 0, {
    timeoutMs: 10 * 60_000,
    intervalMs: 2000,
    what: "containers removed",
  });
} finally {
  await d.stop();
  if (instanceID) {
    const label = [`deploykit.instance=${instanceID}`];
    for (const c of await docker.listContainers({ all: true, filters: { label } })) await docker.getContainer(c.Id).remove({ force: true });
    for (const n of await docker.listNetworks({ filters: { label } })) await docker.getNetwork(n.Id).remove();
    for (const v of (await docker.listVolumes({ filters: { label } })).Volumes ?? []) await docker.getVolume(v.Name).remove();
  }
  await d.destroy();
}
