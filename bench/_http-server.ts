// Child process for bench/http.ts and bench/canvas.ts: the HTTP server over a real SQLite file
// (WAL, synchronous=FULL), the real EventBus, and no Docker (log streaming and the reconciler are
// stand-ins). Prints one JSON line {port, token, projectID} when listening; exits on SIGTERM. The
// parents start it with the Node flags `make run` uses (--max-semi-space-size=2).
//   node bench/_http-server.ts [services=100]      the DeployKit server
//   node bench/_http-server.ts 100 nocache         the same without the service list cache
//   node bench/_http-server.ts bare                a bare Fastify route answering the same JSON
//   node bench/_http-server.ts bare-stdin          a bare Fastify route answering the bytes given on stdin
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import Fastify from "fastify";
import { EventBus } from "../src/events/index.ts";
import { Server } from "../src/http/index.ts";
import * as deploykit from "../src/index.ts";
import * as sqlite from "../src/sqlite/index.ts";
import { mustOpenDB, TEST_BCRYPT_COST } from "../src/sqlite/testing.ts";

const arg = process.argv[2] ?? "100";
const dir = mkdtempSync(join(tmpdir(), "dk-bench-http-"));
const db = mustOpenDB({ path: join(dir, "bench.db") });
const bus = new EventBus();

async function populate(n: number): Promise<{ token: string; projectID: string; services: sqlite.ServiceService }> {
  const auth = new sqlite.AuthService(db, { bcryptCost: TEST_BCRYPT_COST });
  const { tokens } = await auth.register({ email: "bench@example.com", name: "Bench", password: "bench-password" });
  const project = await new sqlite.ProjectService(db).createProject({ name: "bench" });
  const services = new sqlite.ServiceService(db);
  const deployments = new sqlite.DeploymentService(db);
  for (let i = 0; i < n; i++) {
    const s = await services.createService(project.id, {
      name: `svc-${i}`,
      image: "nginx:1.27",
      ports: [{ container_port: 80, host_port: 20000 + i }],
      replicas: 1,
    });
    const d = await deployments.createDeployment(s.id, { image: "nginx:1.27", env_vars: { A: "1", B: "2" }, ports: s.ports });
    await deployments.markStarting(d.id);
    await deployments.markHealthy(d.id, 0);
  }
  return { token: tokens.access_token, projectID: project.id, services };
}

const nop = () => {};
let close: () => Promise<void>;
if (arg === "bare-stdin") {
  // The populated profile (bench/_populated.ts): the daemon's own response bytes, read from stdin.
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks).toString("utf8");
  const app = Fastify();
  app.get("/bare", async (_req, reply) => reply.type("application/json; charset=utf-8").send(body));
  // The same event-loop-delay histogram as the daemon's probe, so the bench can tell the machine's
  // scheduling delay (2 shared cores) from the daemon's own blocking: GET /eld reads and resets it.
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const ms = (ns: number) => Math.round((ns / 1e6) * 10) / 10;
  app.get("/eld", async () => {
    const out = { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
    h.reset();
    return out;
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as { port: number }).port;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  close = () => app.close();
} else if (arg === "bare") {
  const { token, projectID, services } = await populate(100);
  const page = await services.findServices({ project_id: projectID, limit: 100 });
  // The same bytes, already serialized: the baseline is Fastify's own cost of answering this body.
  const body = JSON.stringify({ data: page.items, total_count: page.total, offset: 0, limit: 100 });
  const app = Fastify();
  app.get("/bare", async (_req, reply) => reply.type("application/json; charset=utf-8").send(body));
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as { port: number }).port;
  process.stdout.write(`${JSON.stringify({ port, token, projectID })}\n`);
  close = () => app.close();
} else {
  const { token, projectID } = await populate(Number(arg));
  const server = new Server({
    projects: new sqlite.ProjectService(db),
    users: new sqlite.UserService(db),
    auth: new sqlite.AuthService(db),
    services: new sqlite.ServiceService(db),
    deployments: new sqlite.DeploymentService(db),
    containers: new sqlite.ContainerService(db),
    canvas: new sqlite.CanvasService(db),
    envVars: new sqlite.EnvVarService(db),
    pendingChanges: new sqlite.PendingChangeService(db),
    settings: new sqlite.SettingsService(db),
    system: { about: async () => Promise.reject(new Error("unused")), status: async () => Promise.reject(new Error("unused")) },
    bus,
    logs: {
      follow: async () => Promise.reject(deploykit.errorf(deploykit.EUNAVAILABLE, "No Docker in this benchmark.")),
      history: async () => Promise.reject(deploykit.errorf(deploykit.EUNAVAILABLE, "No Docker in this benchmark.")),
      search: async () => Promise.reject(deploykit.errorf(deploykit.EUNAVAILABLE, "No Docker in this benchmark.")),
    },
    exec: { openShell: async () => Promise.reject(deploykit.errorf(deploykit.EUNAVAILABLE, "No Docker in this benchmark.")) },
    shellSessions: new sqlite.ShellSessionService(db),
    reconciler: { trigger: nop, triggerService: nop },
    // Registration happens through the service above, never over HTTP.
    setup: { verify: () => false, consume: nop },
    corsOrigin: "*",
    trustProxy: false,
    spaDir: null,
    version: "bench",
    limits: process.argv[3] === "nocache" ? { listCacheMs: 0 } : {},
  });
  const { port } = await server.listen({ host: "127.0.0.1", port: 0 });
  process.stdout.write(`${JSON.stringify({ port, token, projectID })}\n`);
  close = () => server.close();
}

process.on("SIGTERM", async () => {
  await close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
