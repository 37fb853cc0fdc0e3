// Issue 12: redeploys under steady load, and a config push of many domains.
//   node bench/ingress-redeploy.ts [redeploys=20] [rate=200] [domains=500] [baselineSeconds=15]
// One daemon with the proxy (deploykit-test/caddy:1). Two services running a small Node HTTP server
// (deploykit-test/node:1; keep-alive, closes gracefully on SIGTERM, as a web app would) with a
// `.localhost` domain and health check path `/`: `web` (one replica, rolled out start-first) and
// `vol` (one replica with a volume, rolled out stop-first). For each service, two clients send GETs at
// `rate` req/s each (bench/_steady-client.mjs, open loop): one on the host through the proxy (HTTPS,
// SNI = the domain, keep-alive), one in a container on the project network by service name (a new
// connection per request, so each request resolves the name). Each pair runs once
// without redeploys (the baseline, same run) and once while the service is redeployed `redeploys`
// times (an env change, Deploy, wait until only the new deployment's container is left, 3 s pause). Then
// `domains` more domains are staged on `web` and deployed: the time until the proxy runs a config
// with all of them, and the proxy's memory before and after (Docker's stats: anonymous memory, RSS).
// BENCH_SERVICES=web (or vol, or empty) runs only those services' phases. Needs dockerd and the test
// images (scripts/test-images.sh).
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Docker from "dockerode";
import { Client } from "../src/http/index.ts";
import type * as deploykit from "../src/index.ts";
import { CaddyAdmin } from "../src/proxy/admin.ts";
import { routesOf } from "../src/proxy/caddy.ts";
import { Daemon, freePort } from "../test/harness/daemon.ts";
import { waitFor } from "../test/harness/wait.ts";

const REDEPLOYS = Number(process.argv[2] ?? 20);
const RATE = Number(process.argv[3] ?? 200);
const DOMAINS = Number(process.argv[4] ?? 500);
const BASELINE_S = Number(process.argv[5] ?? 15);
const PAUSE_MS = 3_000;
const NODE_IMAGE = "deploykit-test/node:1";
/**
 * The services' server: answers $GREETING; on SIGTERM stops accepting, answers what it has with
 * `Connection: close` (so keep-alive clients move on) and exits once its connections are gone.
 */
const SERVER = [
  "let closing = false;",
  'const s = require("node:http").createServer((q, r) => { if (closing) r.setHeader("connection", "close"); r.end(`${process.env.GREETING || "hello"}\\n`); });',
  "s.listen(8080);",
  'process.on("SIGTERM", () => { closing = true; s.close(() => process.exit(0)); s.closeIdleConnections(); setTimeout(() => process.exit(0), 8000).unref(); });',
].join(" ");
const CLIENT_SCRIPT = resolve("bench/_steady-client.mjs");
const docker = new Docker();
const tag = randomBytes(4).toString("hex");
const benchLabel = { "deploykit-bench": tag };
const tmp = mkdtempSync(join(tmpdir(), "dk-bench-redeploy-"));

interface Result {
  seconds: number;
  sent: number;
  ok: number;
  failed: number;
  skipped: number;
  kinds: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
  gap: number;
}
interface Load {
  stop(): Promise<Result>;
}

/** The steady client on the host, through the proxy. */
function proxyLoad(httpsPort: number, hostname: string, caFile: string): Load {
  const cfg = { url: `https://127.0.0.1:${httpsPort}/`, servername: hostname, hostHeader: hostname, caFile, rate: RATE, max: 2048 };
  const child = spawn(process.execPath, [CLIENT_SCRIPT, JSON.stringify(cfg)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (b: Buffer) => {
    out += b.toString("utf8");
  });
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  return {
    async stop() {
      child.kill("SIGTERM");
      await exited;
      return JSON.parse(out.trim()) as Result;
    },
  };
}

/** The steady client in a container on the project network, by service name. */
async function projectLoad(network: string, name: string): Promise<Load> {
  const c = await docker.createContainer({
    Image: NODE_IMAGE,
    Cmd: ["node", "/steady-client.mjs", JSON.stringify({ url: `http://${name}:8080/`, rate: RATE, max: 2048, keepAlive: false })],
    Labels: benchLabel,
    HostConfig: { NetworkMode: network, Binds: [`${CLIENT_SCRIPT}:/steady-client.mjs:ro`] },
  });
  await c.start();
  return {
    async stop() {
      await c.kill({ signal: "SIGTERM" });
      await c.wait();
      const raw = (await c.logs({ stdout: true, stderr: false, follow: false })) as unknown as Buffer;
      await c.remove({ force: true });
      return JSON.parse(demux(raw).trim()) as Result;
    },
  };
}

function demux(buf: Buffer): string {
  let out = "";
  for (let i = 0; i + 8 <= buf.length; ) {
    const len = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + len).toString("utf8");
    i += 8 + len;
  }
  return out;
}

const ms = (x: number) => `${x.toFixed(0)} ms`;
function row(what: string, r: Result): string {
  const kinds = Object.keys(r.kinds).length > 0 ? ` ${JSON.stringify(r.kinds)}` : "";
  return `| ${what} | ${r.seconds.toFixed(0)} s | ${r.ok} | ${r.failed}${kinds} | ${r.skipped} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${ms(r.gap)} |`;
}

/** Proxy memory from Docker's one-shot stats: anonymous memory (cgroup v2) or RSS (v1), MiB. */
async function proxyMemory(container: string): Promise<string> {
  const s = (await docker.getContainer(container).stats({ stream: false })) as unknown as {
    memory_stats: { usage?: number; stats?: Record<string, number> };
  };
  const st = s.memory_stats.stats ?? {};
  const anon = st.anon ?? st.rss ?? st.total_rss ?? 0;
  return `${(anon / 2 ** 20).toFixed(1)} MiB anon/RSS (usage ${((s.memory_stats.usage ?? 0) / 2 ** 20).toFixed(1)} MiB)`;
}

execFileSync("bash", ["scripts/test-images.sh"], { stdio: "inherit" });
const httpsPort = await freePort();
const proxyContainer = `dk-bench-proxy-${tag}`;
const d = await Daemon.start({ proxy: { httpPort: await freePort(), httpsPort, container: proxyContainer } });
const instanceID = d.instanceID();
let failed = false;
try {
  // An API key: the run outlasts an access token's lifetime.
  const key = await new Client(d.url, { token: d.token }).createAPIKey({ description: "bench ingress-redeploy" });
  const c = new Client(d.url, { token: key.token });
  const p = await c.createProject(`bench redeploy ${tag}`);
  const network = `dk-${p.slug}`;
  const base = { image: NODE_IMAGE, start_command: ["node", "-e", SERVER], ports: [{ container_port: 8080 }], healthcheck_path: "/" };
  await c.createService(p.id, { name: "web", ...base });
  await c.createService(p.id, { name: "vol", ...base, volumes: [{ name: "data", mount_path: "/data" }] });
  await c.deploy(p.id);
  const services = (await c.findServices(p.id)).items;
  const byName = (n: string) => services.find((s) => s.name === n) as deploykit.Service;
  const host = (n: string) => `${n}-${tag}.localhost`;
  const t0 = performance.now();
  for (const n of ["web", "vol"]) await c.createDomain(p.id, byName(n).id, { hostname: host(n) });
  await c.deploy(p.id);
  const admin = new CaddyAdmin(join(d.dataDir, "proxy", "admin", "admin.sock"));
  const liveRoutes = async () => routesOf(await admin.getConfig().catch(() => null)).size;
  await waitFor(async () => (await liveRoutes()) >= 2, { timeoutMs: 120_000, intervalMs: 100, what: "the first two routes" });
  const twoRoutesMs = performance.now() - t0;
  for (const n of ["web", "vol"])
    await waitFor(async () => (await c.findDomains(p.id, byName(n).id))[0]?.status === "active", { timeoutMs: 120_000, what: host(n) });
  const caFile = join(tmp, "root.pem");
  const ca = await c.proxyRootCertificate();
  writeFileSync(caFile, ca);
  // Both services serve through the proxy (their first deployment promoted) before any load starts.
  const status = (hostname: string) =>
    new Promise<number>((ok) => {
      const req = httpsRequest(
        { host: "127.0.0.1", port: httpsPort, path: "/", servername: hostname, headers: { host: hostname }, ca },
        (res) => {
          res.resume();
          res.on("end", () => ok(res.statusCode ?? 0));
        },
      );
      req.on("error", () => ok(0));
      req.end();
    });
  for (const n of ["web", "vol"])
    await waitFor(async () => (await status(host(n))) === 200, { timeoutMs: 120_000, intervalMs: 250, what: `${host(n)} serving` });

  /** Redeploys `svc` n times: each waits until only the new deployment's container is left. */
  const redeploy = async (svc: deploykit.Service, n: number) => {
    const owner = { scope: "service" as const, serviceID: svc.id };
    for (let i = 0; i < n; i++) {
      const [env] = await c.findEnvVars(p.id, owner);
      if (env) await c.updateEnvVar(p.id, owner, env.id, `v${i}`);
      else await c.createEnvVar(p.id, owner, "GREETING", `v${i}`);
      const applied = await c.deploy(p.id);
      const dep = applied.created_deployments.find((x) => x.service_id === svc.id);
      if (!dep) throw new Error(`redeploy ${i + 1} of ${svc.name} made no deployment`);
      await waitFor(
        async () => {
          const st = (await c.findDeploymentByID(p.id, svc.id, dep.id)).status;
          if (st === "failed" || st === "cancelled") throw new Error(`redeploy ${i + 1} of ${svc.name}: ${st}`);
          const rows = (await c.findContainers(p.id, svc.id)).items;
          return st === "healthy" && rows.length > 0 && rows.every((r) => r.deployment_id === dep.id);
        },
        { timeoutMs: 180_000, intervalMs: 250, what: `redeploy ${i + 1} of ${svc.name}` },
      );
      // The service serves a moment between redeploys (held requests drain, as after a real deploy).
      await new Promise((r) => setTimeout(r, PAUSE_MS));
    }
  };

  const lines: string[] = [];
  for (const name of (process.env.BENCH_SERVICES ?? "web,vol").split(",").filter(Boolean)) {
    const svc = byName(name);
    const phase = async (during: () => Promise<void>) => {
      const loads = [proxyLoad(httpsPort, host(name), caFile), await projectLoad(network, name)];
      const t = performance.now();
      await during();
      const seconds = (performance.now() - t) / 1000;
      const [viaProxy, byServiceName] = await Promise.all(loads.map((l) => l.stop()));
      return { viaProxy: viaProxy as Result, byServiceName: byServiceName as Result, seconds };
    };
    const baseline = await phase(() => new Promise((r) => setTimeout(r, BASELINE_S * 1000)));
    const under = await phase(() => redeploy(svc, REDEPLOYS));
    const kind = name === "web" ? "start-first, one replica" : "stop-first: one replica with a volume";
    lines.push(
      `\n${name} (${kind}): ${REDEPLOYS} redeploys in ${under.seconds.toFixed(0)} s, ${RATE} req/s per client`,
      "| client, phase | time | ok | failed | skipped (cap) | p50 | p99 | max | longest gap |",
      "|---|---|---|---|---|---|---|---|---|",
      row("proxy (HTTPS), baseline", baseline.viaProxy),
      row(`proxy (HTTPS), ${REDEPLOYS} redeploys`, under.viaProxy),
      row("by service name, baseline", baseline.byServiceName),
      row(`by service name, ${REDEPLOYS} redeploys`, under.byServiceName),
    );
    process.stdout.write(`${lines.slice(-7).join("\n")}\n`);
    if (under.viaProxy.failed > 0 || (name === "web" && under.byServiceName.failed > 0)) failed = true;
  }

  // Config push: DOMAINS more domains on web, staged and deployed at once (0: skipped).
  if (DOMAINS > 0) {
    const web = byName("web");
    const before = await proxyMemory(proxyContainer);
    for (let i = 0; i < DOMAINS; i++) await c.createDomain(p.id, web.id, { hostname: `d${i}-${tag}.localhost` });
    const t1 = performance.now();
    await c.deploy(p.id);
    await waitFor(async () => (await liveRoutes()) >= DOMAINS + 2, {
      timeoutMs: 600_000,
      intervalMs: 100,
      what: `${DOMAINS + 2} routes`,
    });
    const pushMs = performance.now() - t1;
    const just = await proxyMemory(proxyContainer);
    // Serving the last one over HTTPS needs its certificate (the internal CA issues one per name).
    const last = `d${DOMAINS - 1}-${tag}.localhost`;
    await waitFor(async () => (await status(last)) === 200, { timeoutMs: 600_000, intervalMs: 100, what: `${last} serving` });
    const servedMs = performance.now() - t1;
    await new Promise((r) => setTimeout(r, 30_000));
    const settled = await proxyMemory(proxyContainer);
    lines.push(
      `\nconfig push: Deploy → the proxy runs all routes: 2 domains ${ms(twoRoutesMs)}, ${DOMAINS + 2} domains ${ms(pushMs)}` +
        ` (the daemon pushes on its 2 s sync tick); the last of them served over HTTPS after ${ms(servedMs)}`,
      `proxy memory with 2 domains: ${before}; just after ${DOMAINS + 2}: ${just}; 30 s later: ${settled}`,
    );
    process.stdout.write(`${lines.slice(-2).join("\n")}\n`);
  }
} finally {
  await d.stop();
  for (const x of await docker.listContainers({ all: true, filters: { label: [`deploykit-bench=${tag}`] } }))
    await docker.getContainer(x.Id).remove({ force: true });
  const label = [`deploykit.instance=${instanceID}`];
  for (const x of await docker.listContainers({ all: true, filters: { label } })) await docker.getContainer(x.Id).remove({ force: true });
  for (const n of await docker.listNetworks({ filters: { label } }))
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => {});
  for (const v of (await docker.listVolumes({ filters: { label } })).Volumes ?? [])
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => {});
  await d.destroy();
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
