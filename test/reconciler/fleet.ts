// A large fleet in sync for the reconciler's scaling bench and test (issue 19): real SQLite, the
// reconciler's in-memory fake Docker (src/reconciler/testutil.ts) serving `n` running containers,
// set up through the reconciler itself. The fake answers every call at once (no socket), the worst
// case for holding the event loop: nothing a pass awaits ever yields to I/O on its own.
import { monitorEventLoopDelay } from "node:perf_hooks";
import * as deploykit from "../../src/index.ts";
import * as reconciler from "../../src/reconciler/index.ts";
import { Clock, FakeRuntime } from "../../src/reconciler/testutil.ts";
import * as sqlite from "../../src/sqlite/index.ts";

export interface Fleet {
  rec: reconciler.Reconciler;
  fake: FakeRuntime;
  services: sqlite.ServiceService;
  /** Types of the events the reconciler published, in order. */
  published: string[];
  projects: sqlite.ProjectService;
  deployments: sqlite.DeploymentService;
  close(): void;
}

const INSTANCE = "fleet-inst";

/** `n` services, each one replica of app:1, running and healthy; `path` defaults to an in-memory database. */
export async function inSyncFleet(n: number, path = ":memory:"): Promise<Fleet> {
  const db = new sqlite.DB(path);
  db.open();
  const projects = new sqlite.ProjectService(db);
  const services = new sqlite.ServiceService(db);
  const deployments = new sqlite.DeploymentService(db);
  const containers = new sqlite.ContainerService(db);
  const published: string[] = [];
  const clock = new Clock();
  clock.t = Date.now();
  const fake = new FakeRuntime(INSTANCE, clock);
  fake.startedAgoMs = 60_000;
  const rec = new reconciler.Reconciler({
    projects,
    services,
    deployments,
    containers,
    runtime: fake,
    provisioner: fake,
    bus: { publish: (e) => published.push(e.type) },
    instanceID: INSTANCE,
    stableWindowMs: 0,
    intervalMs: 3_600_000,
    logger: deploykit.nopLogger,
  });
  const project = await projects.createProject({ name: "fleet" });
  for (let i = 0; i < n; i++) {
    const svc = await services.createService(project.id, { name: `svc-${i}`, image: "app:1" });
    await deployments.createDeployment(svc.id, { image: "app:1", env_vars: { N: String(i) } });
  }
  for (let round = 0; round < 5; round++) {
    await rec.reconcileOnce();
    if ((await services.findServices({ limit: 1, status: deploykit.SERVICE_RUNNING })).total === n) break;
  }
  const running = (await services.findServices({ limit: 1, status: deploykit.SERVICE_RUNNING })).total;
  if (running !== n || fake.containers.size !== n)
    throw new Error(`fleet did not converge: ${running}/${n} running, ${fake.containers.size} containers`);
  return { rec, fake, services, projects, deployments, published, close: () => db.close() };
}

export interface LoopFigures {
  /** Longest gap between two turns of the event loop (the longest synchronous slice), wall ms. */
  maxSliceMs: number;
  /**
   * The same gap in CPU time this process used (user + system), ms: what the code itself held the
   * loop for, without the time the OS gave the core to someone else (2 shared cores, 8 engineers).
   */
  maxSliceCpuMs: number;
  /** Event-loop delay percentiles (perf_hooks, 1 ms resolution), ms. */
  p50: number;
  p99: number;
}

/** Runs `fn` while watching the event loop: a setImmediate chain records every gap between turns. */
export async function watchLoop<T>(fn: () => Promise<T>): Promise<{ result: T; loop: LoopFigures }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let maxSlice = 0;
  let maxCpu = 0;
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let on = true;
  const tick = () => {
    const t = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    maxSlice = Math.max(maxSlice, t - last);
    maxCpu = Math.max(maxCpu, (cpu.user + cpu.system) / 1000);
    last = t;
    lastCpu = process.cpuUsage();
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    const result = await fn();
    on = false;
    tick(); // the slice that ends here (all of it, when the loop never turned)
    return { result, loop: { maxSliceMs: maxSlice, maxSliceCpuMs: maxCpu, p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6 } };
  } finally {
    on = false;
    h.disable();
  }
}
