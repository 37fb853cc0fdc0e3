// Reconciler benchmarks (PRODUCT.md §5):
//  1. a full reconcileOnce over 300 services in sync: median wall time of ≥ 10 passes (budget
//     ≤ 200 ms) and Docker list calls per pass (must not grow with the service count);
//  2. deploy latency: deployment created + triggerService → container running through the
//     reconciler, against a plain dockerode create+start of the same container (budget ≤ 1.3×).
// Real SQLite (a file), the real dockerd with 300 real containers, the real EventBus.
//   node bench/reconcile.ts [services=300]
//   node bench/reconcile.ts fake [services=1000] [passes=11]   (issue 19: 1,000 services on a fake
//   Docker, see bench/_reconcile-fake.ts)
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import Dockerode from "dockerode";
import * as docker from "../src/docker/index.ts";
import * as events from "../src/events/index.ts";
import * as deploykit from "../src/index.ts";
import * as reconciler from "../src/reconciler/index.ts";
import * as sqlite from "../src/sqlite/index.ts";
import { ensureWebImage, WEB_IMAGE } from "../test/reconciler/helpers.ts";

if (process.argv[2] === "fake") {
  const { run } = await import("./_reconcile-fake.ts");
  process.exit((await run(Number(process.argv[3] ?? 1000), Number(process.argv[4] ?? 11))) ? 0 : 1);
}
const N = Number(process.argv[2] ?? 300);
const PASSES = 21;
const DEPLOYS = 7;
const instanceID = `bench-${randomBytes(4).toString("hex")}`;
const raw = new Dockerode({ socketPath: "/var/run/docker.sock" });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Counts calls per method name on any object. */
function counting<T extends object>(target: T, counts: Record<string, number>): T {
  return new Proxy(target, {
    get(t, prop, recv) {
      const v = Reflect.get(t, prop, recv);
      if (typeof v !== "function" || typeof prop !== "string") return v;
      return (...args: unknown[]) => {
        counts[prop] = (counts[prop] ?? 0) + 1;
        return v.apply(t, args);
      };
    },
  });
}

async function cleanup(): Promise<void> {
  const filters = { label: [`${deploykit.LABEL_INSTANCE}=${instanceID}`] };
  const cs = await raw.listContainers({ all: true, filters });
  for (let i = 0; i < cs.length; i += 20)
    await Promise.all(
      cs.slice(i, i + 20).map((c) =>
        raw
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {}),
      ),
    );
  for (const n of await raw.listNetworks({ filters }))
    await raw
      .getNetwork(n.Id)
      .remove()
      .catch(() => {});
  for (const v of (await raw.listVolumes({ filters })).Volumes ?? [])
    await raw
      .getVolume(v.Name)
      .remove()
      .catch(() => {});
}

const debugLogger: deploykit.Logger = {
  trace: () => {},
  debug: () => {},
  info: (o, m) => console.log("info", m ?? "", o),
  warn: (o, m) => console.log("warn", m ?? "", o),
  error: (o, m) => console.log("error", m ?? "", o),
  child: () => debugLogger,
};

const dir = mkdtempSync(join(tmpdir(), "dk-bench-recon-"));
const db = new sqlite.DB(join(dir, "deploykit.db"));
db.open();
const projects = new sqlite.ProjectService(db);
const services = new sqlite.ServiceService(db);
const deployments = new sqlite.DeploymentService(db);
const containers = new sqlite.ContainerService(db);
const client = new docker.Client({ instanceID });
const counts: Record<string, number> = {};
const bus = new events.EventBus();

try {
  await ensureWebImage(raw);
  const rec = new reconciler.Reconciler({
    projects,
    services,
    deployments,
    containers,
    runtime: counting(client.runtime, counts),
    provisioner: counting(client.provisioner, counts),
    bus,
    instanceID,
    stableWindowMs: 0,
    workers: process.env.BENCH_WORKERS ? Number(process.env.BENCH_WORKERS) : undefined,
    logger: process.env.BENCH_DEBUG ? debugLogger : deploykit.nopLogger,
  });

  // --- 1. 300 services in sync --------------------------------------------------------------
  const project = await projects.createProject({ name: "bench" });
  for (let i = 0; i < N; i++) {
    const svc = await services.createService(project.id, { name: `svc-${i}`, image: WEB_IMAGE });
    await deployments.createDeployment(svc.id, { image: WEB_IMAGE, env_vars: { VERSION: `v${i}` } });
  }
  let t0 = performance.now();
  for (let round = 0; round < 10; round++) {
    await rec.reconcileOnce().catch((err) => console.error("setup pass:", deploykit.errorMessage(err), err?.message));
    const { items } = await services.findServices({ limit: 100, status: "running" });
    const running = (await services.findServices({ limit: 1, status: "running" })).total;
    if (running === N && items.length > 0) break;
  }
  const setupS = (performance.now() - t0) / 1000;
  const running = (await services.findServices({ limit: 1, status: "running" })).total;
  const dockerCount = (await raw.listContainers({ filters: { label: [`${deploykit.LABEL_INSTANCE}=${instanceID}`] } })).length;
  console.log(
    `setup: ${N} services, ${running} running, ${dockerCount} containers running in Docker, ${setupS.toFixed(1)} s through the reconciler`,
  );
  if (running !== N || dockerCount !== N) throw new Error("setup did not converge");

  await rec.reconcileOnce(); // warm-up
  const times: number[] = [];
  const lists: number[] = [];
  const writes: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < PASSES; i++) {
    for (const k of Object.keys(counts)) delete counts[k];
    t0 = performance.now();
    await rec.reconcileOnce();
    times.push(performance.now() - t0);
    lists.push((counts.listContainers ?? 0) + (counts.listNetworks ?? 0) + (counts.listVolumes ?? 0));
    writes.push((counts.runContainer ?? 0) + (counts.removeContainer ?? 0));
    // Docker's floor in the same conditions, alternating with the passes: the same 3 lists and 300
    // inspections, 16 at a time, straight through dockerode with nothing else.
    t0 = performance.now();
    const filters = { label: [`${deploykit.LABEL_INSTANCE}=${instanceID}`] };
    const [cs] = await Promise.all([
      raw.listContainers({ all: true, filters }),
      raw.listNetworks({ filters }),
      raw.listVolumes({ filters }),
    ]);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < cs.length) await raw.getContainer(cs[next++]!.Id).inspect();
      }),
    );
    floor.push(performance.now() - t0);
  }
  console.log(
    `load average during the passes: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  console.log(
    `reconcileOnce, ${N} services in sync: median ${median(times).toFixed(1)} ms, min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)} (${PASSES} passes)`,
  );
  console.log(
    `Docker alone (3 lists + ${N} inspects, 16 at a time), alternating with the passes: median ${median(floor).toFixed(1)} ms, min ${Math.min(...floor).toFixed(1)}`,
  );
  console.log(
    `Docker list calls per pass: ${[...new Set(lists)].join(",")} (containers+networks+volumes); inspects per pass: ${counts.inspectContainer ?? 0}; creates/removes: ${Math.max(...writes)}`,
  );

  // --- 2. deploy latency ----------------------------------------------------------------------
  // A live reconciler (the daemon's setup) whose start-up resync of the 300 services has settled, so
  // triggerService is not queued behind it; no periodic resync during the runs.
  const live = new reconciler.Reconciler({
    projects,
    services,
    deployments,
    containers,
    runtime: client.runtime,
    provisioner: client.provisioner,
    bus,
    instanceID,
    intervalMs: 3_600_000,
  });
  live.start();
  await new Promise((r) => setTimeout(r, 5_000));
  const network = deploykit.projectNetworkName(project.slug);
  const viaRec: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < DEPLOYS; i++) {
    const svc = await services.createService(project.id, { name: `lat-${i}`, image: WEB_IMAGE });
    const created = new Promise<void>((resolve) => {
      const sub = bus.subscribe((e) => {
        if (e.type === deploykit.EVENT_CONTAINER_CREATED && e.payload.service_id === svc.id) {
          sub.close();
          resolve();
        }
      });
    });
    t0 = performance.now();
    await deployments.createDeployment(svc.id, { image: WEB_IMAGE, env_vars: { VERSION: "lat" } });
    live.triggerService(svc.id);
    await created;
    viaRec.push(performance.now() - t0);

    t0 = performance.now();
    const c = await raw.createContainer({
      name: `dk-bench-plain-${instanceID}-${i}`,
      Image: WEB_IMAGE,
      Env: ["VERSION=lat"],
      Labels: deploykit.instanceLabels(instanceID),
      HostConfig: { NetworkMode: network, RestartPolicy: { Name: "unless-stopped" } },
      NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [`plain-${i}`] } } },
    });
    await c.start();
    plain.push(performance.now() - t0);
  }
  await live.stop();
  const ratio = median(viaRec) / median(plain);
  console.log(
    `deploy → container running: reconciler median ${median(viaRec).toFixed(1)} ms, plain create+start median ${median(plain).toFixed(1)} ms, ratio ${ratio.toFixed(2)}× (${DEPLOYS} runs each)`,
  );
  const okPass = median(times) <= 200 && new Set(lists).size === 1;
  const okDeploy = ratio <= 1.3;
  console.log(`budget: pass ≤ 200 ms and constant lists: ${okPass ? "OK" : "OVER"}; deploy ≤ 1.3×: ${okDeploy ? "OK" : "OVER"}`);
  if (!okPass || !okDeploy) process.exitCode = 1;
} finally {
  await cleanup();
  db.close?.();
  rmSync(dir, { recursive: true, force: true });
}
