import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { sleep, waitFor } from "./wait.ts";

/** The host engine the other tests use. The harness reads images from it and never stops or pauses it. */
export const HOST_SOCKET = "/var/run/docker.sock";
export const TEST_IMAGE = "deploykit-test/busybox:1";

export interface DockerdOptions {
  /** Images copied from the host engine into this one (one docker save | docker load, so shared layers travel once). */
  images?: string[];
}

/**
 * A second, disposable dockerd for fault tests: its own --data-root, --exec-root, --pidfile and unix
 * socket under a temp dir, so tests can stop, restart or SIGSTOP it without disturbing the host's
 * engine. It runs in a network namespace of its own (`nsenter --net`): dockerd manages links named
 * docker0 and br-* and deletes "stale" ones at startup (a second engine in the host namespace deleted
 * the host engine's docker0), so every link, bridge and veth it makes stays in that namespace and
 * goes with it. Its unix socket is an ordinary file, reachable from the host; published ports are
 * not (they bind inside the namespace).
 */
export class Dockerd {
  readonly dir: string;
  readonly socketPath: string;
  /** `unix://…`, for DOCKER_HOST. */
  readonly dockerHost: string;
  /** A client with a short timeout (health checks, inspection by tests). */
  readonly docker: Docker;
  private readonly pool: string;
  private readonly netns: string;
  private readonly octet: number;
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private paused = false;
  private logTail: string[] = [];

  private constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "dk2-"));
    this.socketPath = join(this.dir, "docker.sock");
    this.dockerHost = `unix://${this.socketPath}`;
    this.docker = new Docker({ socketPath: this.socketPath, timeout: 15_000 });
    this.octet = randomInt(200, 250);
    this.pool = `10.${this.octet}.0.0/16`;
    this.netns = `dk2-${randomInt(0, 2 ** 31).toString(36)}`;
  }

  /** Starts a fresh engine and loads the images (default: the busybox test image). */
  static async start(opts: DockerdOptions = {}): Promise<Dockerd> {
    const d = new Dockerd();
    registerForExit(d);
    try {
      await d.start();
      await d.loadFromHost(...(opts.images ?? [TEST_IMAGE]));
    } catch (err) {
      await d.destroy();
      throw err;
    }
    return d;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc !== null;
  }

  /** (Re)starts dockerd on the same data; resolves when it answers /_ping. */
  async start(): Promise<void> {
    if (this.proc) return;
    ensureNetns(this.netns);
    // nsenter enters only the network namespace (`ip netns exec` would also remount /sys and lose the cgroup mounts).
    const args = [
      `--net=/run/netns/${this.netns}`,
      "dockerd",
      "--data-root",
      join(this.dir, "data"),
      "--exec-root",
      join(this.dir, "exec"),
      "--pidfile",
      join(this.dir, "dockerd.pid"),
      "-H",
      this.dockerHost,
      `--bip=10.${this.octet}.255.1/24`,
      "--iptables=false",
      "--ip-masq=false",
      "--default-address-pool",
      `base=${this.pool},size=24`,
      "--storage-driver=overlay2",
    ];
    const proc = spawn("nsenter", args, { stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    const keep = (b: Buffer) => {
      this.logTail.push(...b.toString("utf8").split("\n"));
      if (this.logTail.length > 200) this.logTail.splice(0, this.logTail.length - 200);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    this.exited = new Promise((resolve) =>
      proc.once("exit", () => {
        if (this.proc === proc) this.proc = null;
        resolve();
      }),
    );
    await waitFor(
      async () => {
        if (!this.proc) throw new Error(`dockerd exited during startup:\n${this.log()}`);
        return (await this.docker.ping().then(
          () => true,
          () => false,
        )) as boolean;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: "second dockerd to answer" },
    );
  }

  /** Graceful stop (SIGTERM); the data root is kept, so start() brings the same objects back. */
  async stop(): Promise<void> {
    if (!this.proc) return;
    this.resume();
    this.proc.kill("SIGTERM");
    const done = await Promise.race([this.exited.then(() => true), sleep(30_000).then(() => false)]);
    if (!done) {
      this.proc?.kill("SIGKILL");
      await this.exited;
    }
  }

  /** SIGSTOP: the socket still accepts connections but nothing answers, like a hung engine. */
  pause(): void {
    if (!this.proc || this.paused) return;
    this.proc.kill("SIGSTOP");
    this.paused = true;
  }

  resume(): void {
    if (!this.proc || !this.paused) return;
    this.proc.kill("SIGCONT");
    this.paused = false;
  }

  /** Copies images from the host engine into this one, in one archive. */
  async loadFromHost(...images: string[]): Promise<void> {
    const host = new Docker({ socketPath: HOST_SOCKET });
    // GET /images/get?names=…: dockerode has the call, its typings do not.
    const tar = await (host as unknown as { getImages(o: { names: string[] }): Promise<NodeJS.ReadableStream> }).getImages({
      names: images,
    });
    const res = await this.docker.loadImage(tar);
    await new Promise<void>((resolve, reject) => {
      res.on("error", reject);
      res.on("end", () => resolve());
      res.resume();
    });
    for (const image of images) await this.docker.getImage(image).inspect();
  }

  log(): string {
    return this.logTail.join("\n");
  }

  /** Removes every container, stops the engine, unmounts whatever it left and deletes the temp dir. */
  async destroy(): Promise<void> {
    this.resume();
    if (!this.proc) await this.start().catch(() => {});
    if (this.proc) {
      try {
        for (const c of await this.docker.listContainers({ all: true })) {
          await this.docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => {});
        }
        // Each network is a bridge link in the host's namespace; dockerd leaves them behind on exit.
        for (const n of await this.docker.listNetworks()) {
          if (["bridge", "host", "none"].includes(n.Name)) continue;
          await this.docker
            .getNetwork(n.Id)
            .remove()
            .catch(() => {});
        }
      } catch {
        // The engine is unreachable; stopping it below still tears its containers down.
      }
    }
    await this.stop();
    killProcessesOf(this.dir);
    spawnSyncQuiet("ip", ["netns", "del", this.netns]);
    unmountUnder(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }
}

/**
 * Kills what the engine left running: containerd shims whose command line names our exec root (a
 * container whose removal failed keeps its shim after dockerd exits), and their children.
 */
function killProcessesOf(dir: string): void {
  const procs: { pid: number; ppid: number; cmd: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ");
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      procs.push({ pid: Number(entry), ppid, cmd });
    } catch {
      // exited meanwhile
    }
  }
  const doomed = new Set(procs.filter((p) => p.cmd.includes(`${dir}/`) && p.pid !== process.pid).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs)
      if (doomed.has(p.ppid) && !doomed.has(p.pid)) {
        doomed.add(p.pid);
        grew = true;
      }
  }
  for (const pid of doomed) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Creates the engine's network namespace with loopback up (idempotent). */
function ensureNetns(name: string): void {
  if (spawnSyncQuiet("ip", ["netns", "exec", name, "true"]) === 0) return;
  if (spawnSyncQuiet("ip", ["netns", "add", name]) !== 0) throw new Error(`cannot create network namespace ${name} (root needed)`);
  spawnSyncQuiet("ip", ["netns", "exec", name, "ip", "link", "set", "lo", "up"]);
}

/** Unmounts anything still mounted below dir (overlay layers, shm, netns) so rm cannot walk into it. */
export function unmountUnder(dir: string): void {
  if (!existsSync("/proc/self/mounts")) return;
  const mounts = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1] ?? "")
    .map((p) => p.replace(/\\040/g, " "))
    .filter((p) => p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    const r = spawnSyncQuiet("umount", ["-l", m]);
    if (r !== 0) spawnSyncQuiet("umount", ["-f", m]);
  }
}

function spawnSyncQuiet(cmd: string, args: string[]): number {
  return spawnSync(cmd, args, { stdio: "ignore" }).status ?? 1;
}

// Engines still alive when the test worker exits are stopped, so a crashed test cannot leave one behind.
const live = new Set<Dockerd>();
let hooked = false;
function registerForExit(d: Dockerd): void {
  live.add(d);
  if (hooked) return;
  hooked = true;
  process.once("exit", () => {
    for (const e of live) {
      const pid = e.pid;
      if (pid) {
        try {
          process.kill(pid, "SIGCONT");
          process.kill(pid, "SIGTERM");
        } catch {
          // already gone
        }
      }
    }
  });
}
