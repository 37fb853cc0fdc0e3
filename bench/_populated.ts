// The "populated" profile (issue 19) shared by bench/http.ts and bench/memory.ts: the real daemon
// (what `make run` starts) with N real busybox services running, each printing a line a second, the
// periodic resync at 2 s, one SSE log viewer and five canvas clients connected. Every figure is a
// ratio to a bare Fastify route serving the same bytes in the same run (alternating rounds).
// BENCH_CPU_PROF=<dir> writes the daemon's --cpu-prof there (on exit); BENCH_KEEP_LOG=1 prints its log tail.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import Docker from "dockerode";
import { CanvasClient } from "../test/harness/canvas.ts";
import { Daemon } from "../test/harness/daemon.ts";
import { SSEViewer } from "../test/harness/sse.ts";
import { sleep, waitFor } from "../test/harness/wait.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
export const BUSYBOX = "deploykit-test/busybox:1";
/** One line a second, forever: what the SSE viewer follows. */
export const TICKER = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done"];
const NODE_FLAGS = "--max-semi-space-size=2";

export { median } from "./_stats.ts";

export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}

export const load1 = () => loadavg()[0]?.toFixed(1) ?? "?";

export interface Populated {
  d: Daemon;
  instanceID: string;
  projectID: string;
  serviceIDs: string[];
  /** Seconds from Deploy to every service running. */
  setupS: number;
  docker: Docker;
}

/** Starts the daemon (probe loaded) and deploys `n` ticker services in one project. */
export async function populate(n: number, opts: { interval?: string } = {}): Promise<Populated> {
  const prof = process.env.BENCH_CPU_PROF;
  const built = join(root, "dist/server/cmd/deploykitd/main.js");
  if (existsSync(built)) process.env.DEPLOYKIT_TEST_MAIN ??= built;
  const d = await Daemon.start({
    reconcileInterval: opts.interval ?? "2s",
    probe: true,
    env: { NODE_OPTIONS: `${NODE_FLAGS}${prof ? ` --cpu-prof --cpu-prof-dir=${prof}` : ""}` },
  });
  const docker = new Docker();
  const instanceID = (await d.must("GET", "/api/system/about", 200)).deploykit.instance_id as string;
  // Setting up hundreds of containers on a loaded machine outlasts an access token (15 min).
  const refresh = setInterval(() => {
    d.login()
      .then((t) => {
        d.token = t.access_token;
      })
      .catch(() => {});
  }, 5 * 60_000);
  refresh.unref();
  refreshers.set(d, refresh);
  try {
    return await deployTickers(d, docker, instanceID, n);
  } catch (err) {
    await teardown({ d, instanceID, projectID: "", serviceIDs: [], setupS: 0, docker }, d);
    throw err;
  }
}

const refreshers = new Map<Daemon, ReturnType<typeof setInterval>>();

async function deployTickers(d: Daemon, docker: Docker, instanceID: string, n: number): Promise<Populated> {
  const project = await d.must("POST", "/api/projects", 201, { body: { name: "populated bench" } });
  for (let i = 0; i < n; i++) {
    await d.must("POST", `/api/projects/${project.id}/services`, 201, {
      body: { name: `tick-${i}`, image: BUSYBOX, start_command: TICKER },
    });
  }
  const t0 = Date.now();
  await d.must("POST", `/api/projects/${project.id}/deploy`, 200);
  await waitFor(async () => (await runningCount(d, project.id, n)) === n, {
    timeoutMs: 30 * 60_000,
    intervalMs: 3000,
    what: `${n} services running`,
  });
  const setupS = (Date.now() - t0) / 1000;
  const page = await d.must("GET", `/api/projects/${project.id}/services?limit=100`, 200);
  return { d, instanceID, projectID: project.id, serviceIDs: page.data.map((s: { id: string }) => s.id), setupS, docker };
}

async function runningCount(d: Daemon, projectID: string, n: number): Promise<number> {
  let running = 0;
  for (let offset = 0; offset < n; offset += 100) {
    const page = await d.must("GET", `/api/projects/${projectID}/services?limit=100&offset=${offset}`, 200);
    running += page.data.filter((s: { status: string }) => s.status === "running").length;
  }
  return running;
}

/** Removes everything the daemon created (by its instance label) and the daemon itself. */
export async function teardown(p: Populated | null, d: Daemon | null): Promise<void> {
  if (d) clearInterval(refreshers.get(d));
  if (d) await d.stop(60_000);
  if (p) {
    const label = [`deploykit.instance=${p.instanceID}`];
    const docker = p.docker;
    const cs = await docker.listContainers({ all: true, filters: { label } });
    for (let i = 0; i < cs.length; i += 20)
      await Promise.all(
        cs.slice(i, i + 20).map((c) =>
          docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => {}),
        ),
      );
    for (const net of await docker.listNetworks({ filters: { label } }))
      await docker
        .getNetwork(net.Id)
        .remove()
        .catch(() => {});
    for (const v of (await docker.listVolumes({ filters: { label } })).Volumes ?? [])
      await docker
        .getVolume(v.Name)
        .remove()
        .catch(() => {});
  }
  if (process.env.BENCH_KEEP_LOG && d) process.stderr.write(`${d.log()}\n`);
  if (d) await d.destroy();
}

export interface Viewers {
  sse: SSEViewer;
  canvas: CanvasClient[];
  close(): void;
}

/** One SSE log viewer (of the first service) and five canvas clients, as users leave them open. */
export async function connectViewers(p: Populated): Promise<Viewers> {
  const sid = p.serviceIDs[0] as string;
  const sse = new SSEViewer(`${p.d.url}/api/projects/${p.projectID}/services/${sid}/logs?follow=true&tail=10`, p.d.token);
  await sse.ready;
  const canvas: CanvasClient[] = [];
  for (let i = 0; i < 5; i++) {
    const c = await CanvasClient.join(p.d.url, p.projectID, p.d.token);
    c.keep = 10;
    canvas.push(c);
  }
  return {
    sse,
    canvas,
    close: () => {
      sse.vanish();
      for (const c of canvas) c.ws.close();
    },
  };
}

/** A child process answering GET /bare with exactly these bytes (Fastify, nothing else). */
export async function bareServer(body: string): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const proc: ChildProcess = spawn(process.execPath, [NODE_FLAGS, join(here, "_http-server.ts"), "bare-stdin"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  proc.stdin?.end(body);
  const rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const [line] = (await once(rl, "line")) as [string];
  rl.close();
  const { port } = JSON.parse(line) as { port: number };
  return {
    url: `http://127.0.0.1:${port}/bare`,
    pid: proc.pid as number,
    stop: async () => {
      proc.kill("SIGTERM");
      await once(proc, "exit");
    },
  };
}

export interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export async function hammer(url: string, token: string | null, seconds: number, connections = 64): Promise<Figures> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const r = await autocannon({ url, connections, duration: seconds, headers });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx };
}

export interface Delay {
  p50: number;
  p99: number;
  max: number;
}

/**
 * Event-loop delay of the daemon over `ms` (the probe histogram, reset at the start) and of the bare
 * server's idle process over the same window: on a shared machine the difference is the daemon's own.
 */
export async function loopDelay(d: Daemon, bareURL: string, ms: number): Promise<{ daemon: Delay; bare: Delay }> {
  const eld = bareURL.replace(/\/bare$/, "/eld");
  await fetch(eld);
  process.kill(d.pid as number, "SIGUSR2");
  const t0 = Date.now();
  await sleep(ms);
  const bare = (await (await fetch(eld)).json()) as Delay;
  const p = await d.probe(t0 + ms);
  return { daemon: { p50: p.eld.p50, p99: p.eld.p99, max: p.eld.max }, bare };
}

/**
 * 50 canvas clients in the project; one moves a node every `intervalMs` for `seconds` (spanning
 * several 2 s resyncs): latency from the send to each of the 49 receipts.
 */
export async function canvasMoves(
  p: { url: string; projectID: string; token: string },
  seconds: number,
  intervalMs = 20,
): Promise<number[]> {
  const clients: CanvasClient[] = [];
  for (let i = 0; i < 50; i++) {
    const c = await CanvasClient.join(p.url, p.projectID, p.token);
    c.keep = 5;
    clients.push(c);
  }
  const sent = new Map<number, number>();
  const lat: number[] = [];
  for (const c of clients.slice(1))
    c.ws.on("message", (data) => {
      const at = performance.now();
      const msg = JSON.parse(data.toString()) as { type: string; payload: { positions?: { position_x: number }[] } };
      if (msg.type !== "node:moved") return;
      const t = sent.get(msg.payload.positions?.[0]?.position_x ?? -1);
      if (t !== undefined) lat.push(at - t);
    });
  const mover = clients[0] as CanvasClient;
  mover.send("node:upsert", { id: "bench-node", type: "note", position_x: -1, position_y: 0 });
  await sleep(300);
  const moves = Math.round((seconds * 1000) / intervalMs);
  for (let i = 0; i < moves; i++) {
    sent.set(i, performance.now());
    mover.send("node:move", { positions: [{ id: "bench-node", position_x: i, position_y: i }] });
    await sleep(intervalMs);
  }
  const want = moves * 49;
  const deadline = Date.now() + 10_000;
  while (lat.length < want && Date.now() < deadline) await sleep(20);
  for (const c of clients) c.ws.close();
  return lat;
}

/** Resident memory of a process in bytes, from /proc. */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * The canvas baseline for the same run: the same server code over an empty instance with no Docker
 * and no reconciler (bench/_http-server.ts, what bench/canvas.ts measures), in its own process.
 */
export async function emptyServer(): Promise<{ url: string; projectID: string; token: string; stop: () => Promise<void> }> {
  const proc: ChildProcess = spawn(process.execPath, [NODE_FLAGS, join(here, "_http-server.ts"), "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const [line] = (await once(rl, "line")) as [string];
  rl.close();
  const { port, token, projectID } = JSON.parse(line) as { port: number; token: string; projectID: string };
  return {
    url: `http://127.0.0.1:${port}`,
    projectID,
    token,
    stop: async () => {
      proc.kill("SIGTERM");
      await once(proc, "exit");
    },
  };
}
