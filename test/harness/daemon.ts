import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, type WriteStream } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { sleep, waitFor } from "./wait.ts";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
/** The daemon entry point (DEPLOYKIT_TEST_MAIN overrides it, e.g. to run a built dist/ main). */
export const MAIN = process.env.DEPLOYKIT_TEST_MAIN ?? join(ROOT, "src/cmd/deploykitd/main.ts");

const PROBE = join(ROOT, "test/harness/probe.ts");

export const ADMIN = { email: "admin@faults.test", name: "Admin", password: "correct-horse-battery-staple" };

export interface DaemonOptions {
  /** Reuse a data dir (and its database); default a fresh temp dir. */
  dataDir?: string;
  /** Unix socket of the Docker engine the daemon drives (default: the host engine via the environment). */
  dockerSocket?: string;
  /** Extra environment, e.g. `{ DEPLOYKIT_FAULT_POINT: "apply:after-insert" }`. */
  env?: Record<string, string>;
  /** Extra flags. */
  args?: string[];
  /** `-reconcile-interval`, default "2s" so convergence is observable quickly. */
  reconcileInterval?: string;
  /** Register the first admin and keep its tokens (default true). */
  register?: boolean;
  /** `-log-level`, default "warn". */
  logLevel?: string;
  /** Fixed port (restart keeps it); default a free one. */
  port?: number;
  /** Load test/harness/probe.ts into the daemon (event-loop delay and memory, read with probe()). */
  probe?: boolean;
  /**
   * Run the Caddy proxy (issue 12) with the local test image on these 127.0.0.1 ports; default off
   * (`-proxy=false`), so daemons never contend for :80/:443 or one container name.
   */
  proxy?: { httpPort: number; httpsPort: number; container: string; image?: string };
}

/** The proxy image tests run (scripts/test-images.sh builds it from Debian's caddy package). */
export const PROXY_TEST_IMAGE = "deploykit-test/caddy:1";

export interface Probe {
  at: number;
  eld: { p50: number; p99: number; max: number; mean: number; count: number };
  rss: number;
  max_rss: number;
  heap_used: number;
  external: number;
  handles: number;
}

export interface Response<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
  ms: number;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as-is (no JSON encoding); sets no content type unless `headers` does. */
  raw?: string | Buffer;
  /** Bearer token; `null` sends none; default the admin's access token. */
  token?: string | null;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolveP, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      const port = typeof a === "object" && a ? a.port : 0;
      srv.close(() => resolveP(port));
    });
  });
}

/**
 * deploykitd as a real child process (`node src/cmd/deploykitd/main.ts`) on 127.0.0.1 with its own
 * temp data dir and database. The tests kill it (SIGKILL, SIGTERM) and restart it on the same data.
 * NODE_ENV=test, so test-only hooks (DEPLOYKIT_FAULT_POINT) are honoured.
 */
export class Daemon {
  readonly dataDir: string;
  readonly dbPath: string;
  readonly port: number;
  readonly url: string;
  readonly opts: DaemonOptions;
  /** The first admin's current access token (after start with register). */
  token = "";
  refreshToken = "";
  private proc: ChildProcess | null = null;
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({ code: 0, signal: null });
  private logFile: WriteStream | null = null;
  private tail: string[] = [];
  private ownsDir: boolean;

  private constructor(opts: DaemonOptions, port: number) {
    this.opts = opts;
    this.ownsDir = !opts.dataDir;
    this.dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "dkd-"));
    this.dbPath = join(this.dataDir, "deploykit.db");
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Starts the daemon, waits for /api/health and (by default) registers the first admin. */
  static async start(opts: DaemonOptions = {}): Promise<Daemon> {
    const d = new Daemon(opts, opts.port ?? (await freePort()));
    live.add(d);
    await d.spawn(opts.env ?? {});
    if (opts.register !== false) await d.registerAdmin();
    return d;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get alive(): boolean {
    return this.proc !== null;
  }

  /** Last lines the daemon wrote (stdout and stderr). */
  log(): string {
    return this.tail.join("\n");
  }

  private async spawn(env: Record<string, string>): Promise<void> {
    const args = [
      ...(this.opts.probe ? ["--expose-gc", "--import", PROBE] : []),
      MAIN,
      "-addr",
      `127.0.0.1:${this.port}`,
      "-db",
      this.dbPath,
      "-data-dir",
      this.dataDir,
      "-log-level",
      this.opts.logLevel ?? "warn",
      "-reconcile-interval",
      this.opts.reconcileInterval ?? "2s",
      // Test daemons come and go by the hundred (many by SIGKILL): each would leave an INPUT jump
      // behind. test/hostile/isolation.test.ts turns isolation on; the e2e suite runs with the default.
      "-isolate",
      "false",
      ...(this.opts.proxy
        ? [
            "-proxy-image",
            this.opts.proxy.image ?? PROXY_TEST_IMAGE,
            "-proxy-http-addr",
            `127.0.0.1:${this.opts.proxy.httpPort}`,
            "-proxy-https-addr",
            `127.0.0.1:${this.opts.proxy.httpsPort}`,
            "-proxy-container",
            this.opts.proxy.container,
          ]
        : ["-proxy=false"]),
      ...(this.opts.args ?? []),
    ];
    const childEnv: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "test", ...env };
    delete childEnv.DEPLOYKIT_DB;
    delete childEnv.DEPLOYKIT_ADDR;
    if (this.opts.probe) childEnv.DEPLOYKIT_PROBE_FILE = join(this.dataDir, "probe.json");
    if (this.opts.dockerSocket) childEnv.DOCKER_HOST = `unix://${this.opts.dockerSocket}`;
    if (!env.DEPLOYKIT_FAULT_POINT) delete childEnv.DEPLOYKIT_FAULT_POINT;
    const proc = spawn(process.execPath, args, { env: childEnv, stdio: ["ignore", "pipe", "pipe"], cwd: ROOT });
    this.proc = proc;
    if (!this.logFile) {
      this.logFile = createWriteStream(join(this.dataDir, "daemon.log"), { flags: "a" });
      // The data dir may be the full disk under test; the log copy is best effort.
      this.logFile.on("error", () => {});
    }
    const logFile = this.logFile;
    logFile.write(`--- start pid=${proc.pid} env=${JSON.stringify(env)}\n`);
    const keep = (b: Buffer) => {
      logFile.write(b);
      this.tail.push(...b.toString("utf8").split("\n").filter(Boolean));
      if (this.tail.length > 300) this.tail.splice(0, this.tail.length - 300);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    this.exit = new Promise((res) =>
      proc.once("exit", (code, signal) => {
        if (this.proc === proc) this.proc = null;
        logFile.write(`--- exit code=${code} signal=${signal}\n`);
        res({ code, signal });
      }),
    );
    await this.waitHealthy();
  }

  /** Resolves when GET /api/health answers 200; fails at once if the process exits. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        if (!this.proc) throw new Error(`deploykitd exited before it was healthy:\n${this.log()}`);
        try {
          const r = await fetch(`${this.url}/api/health`, { signal: AbortSignal.timeout(2000) });
          return r.status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs, intervalMs: 50, what: "deploykitd /api/health" },
    );
  }

  /** The one-time token a fresh daemon writes to `<data-dir>/setup-token`. */
  setupToken(): string {
    return readFileSync(join(this.dataDir, "setup-token"), "utf8").trim();
  }

  async registerAdmin(): Promise<void> {
    const r = await this.request<{ tokens: { access_token: string; refresh_token: string } }>("POST", "/api/auth/register", {
      body: { ...ADMIN, setup_token: this.setupToken() },
      token: null,
    });
    if (r.status !== 201) throw new Error(`register failed: ${r.status} ${r.text}`);
    this.token = r.body.tokens.access_token;
    this.refreshToken = r.body.tokens.refresh_token;
  }

  /** Logs in (used after a restart when a test wants a fresh session). */
  async login(email = ADMIN.email, password = ADMIN.password): Promise<{ access_token: string; refresh_token: string }> {
    const r = await this.request<{ access_token: string; refresh_token: string }>("POST", "/api/auth/login", {
      body: { email, password },
      token: null,
    });
    if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
    return r.body;
  }

  /** One HTTP call; never throws on a status, returns it with the parsed body (or the text). */
  // biome-ignore lint/suspicious/noExplicitAny: tests read untyped JSON bodies
  async request<T = any>(method: string, path: string, o: RequestOptions = {}): Promise<Response<T>> {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const token = o.token === undefined ? this.token : o.token;
    if (token) headers.authorization ??= `Bearer ${token}`;
    let body: string | Buffer | undefined;
    if (o.raw !== undefined) body = o.raw;
    else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    const t0 = performance.now();
    const r = await fetch(`${this.url}${path}`, {
      method,
      headers,
      body: body as BodyInit | undefined,
      signal: o.signal ?? AbortSignal.timeout(60_000),
    });
    const text = await r.text();
    const ms = performance.now() - t0;
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON; keep the text
    }
    return { status: r.status, headers: r.headers, text, body: parsed as T, ms };
  }

  /** Like request, but throws unless the status is the expected one; returns the body. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read untyped JSON bodies
  async must<T = any>(method: string, path: string, expected: number, o: RequestOptions = {}): Promise<T> {
    const r = await this.request<T>(method, path, o);
    if (r.status !== expected) throw new Error(`${method} ${path}: want ${expected}, got ${r.status} ${r.text.slice(0, 500)}`);
    return r.body;
  }

  /** Sends a signal and waits for the process to exit (SIGKILL by default). */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.proc) return await this.exit;
    this.proc.kill(signal);
    return await this.exit;
  }

  /** Waits for the process to exit on its own (a fault point SIGKILLs it). */
  async waitExit(timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const r = await Promise.race([this.exit, sleep(timeoutMs).then(() => null)]);
    if (!r) throw new Error(`deploykitd did not exit within ${timeoutMs} ms:\n${this.log()}`);
    return r;
  }

  /** Graceful stop: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.proc) return await this.exit;
    this.proc.kill("SIGTERM");
    const r = await Promise.race([this.exit, sleep(graceMs).then(() => null)]);
    if (r) return r;
    return await this.kill("SIGKILL");
  }

  /** Starts the daemon again on the same data dir and port (after kill/stop), with optional env. */
  async restart(env: Record<string, string> = {}): Promise<void> {
    if (this.proc) await this.stop();
    await this.spawn(env);
  }

  /** Starts the process but does not wait for health (for fault points hit during startup). */
  async spawnNoWait(env: Record<string, string> = {}): Promise<void> {
    if (this.proc) await this.stop();
    await this.spawn(env).catch(() => {});
  }

  /** Resident memory of the daemon in bytes, from /proc. */
  rss(): number {
    if (!this.proc?.pid) return 0;
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.proc.pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  }

  /** The probe's latest figures (option probe), waiting for one written after `after` (ms epoch). */
  async probe(after = 0): Promise<Probe> {
    return await waitFor(
      () => {
        try {
          const p = JSON.parse(readFileSync(join(this.dataDir, "probe.json"), "utf8")) as Probe;
          return p.at > after ? p : null;
        } catch {
          return null;
        }
      },
      { timeoutMs: 5000, intervalMs: 50, what: "daemon probe figures" },
    );
  }

  /** Collects garbage in the daemon and resets the probe's event-loop histogram (the measured phase starts now). */
  resetProbe(): void {
    if (this.proc?.pid) process.kill(this.proc.pid, "SIGUSR2");
  }

  /** Collects garbage in the daemon, then returns fresh probe figures. */
  async probeAfterGC(): Promise<Probe> {
    this.resetProbe();
    await sleep(300);
    return await this.probe(Date.now());
  }

  /**
   * The daemon's main thread's CPU time and the time it spent runnable but waiting for a CPU (ns,
   * /proc/<pid>/task/<pid>/schedstat). The wait is what a busy machine, not the daemon, adds to its
   * event-loop delays and latencies; zeros where the kernel does not keep it.
   */
  schedstat(): { runNs: number; waitNs: number } {
    const pid = this.proc?.pid;
    try {
      const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").trim().split(/\s+/).map(Number);
      return { runNs: run ?? 0, waitNs: wait ?? 0 };
    } catch {
      return { runNs: 0, waitNs: 0 };
    }
  }

  /** Number of open file descriptors of the daemon. */
  fdCount(): number {
    if (!this.proc?.pid) return 0;
    try {
      return readdirCount(`/proc/${this.proc.pid}/fd`);
    } catch {
      return 0;
    }
  }

  /**
   * Opens the database read-only (only while the daemon is stopped, or for reads: WAL readers do not
   * disturb the writer) and runs `fn`.
   */
  withDB<T>(fn: (db: Database.Database) => T, readonly = true): T {
    const db = new Database(this.dbPath, { readonly, fileMustExist: true });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  }

  /** PRAGMA integrity_check and foreign_key_check on the database file. */
  integrity(): { integrity: string; foreignKeyViolations: number } {
    return this.withDB((db) => ({
      integrity: (db.pragma("integrity_check", { simple: true }) as string) ?? "",
      foreignKeyViolations: (db.pragma("foreign_key_check") as unknown[]).length,
    }));
  }

  /** The instance id stored in the database at first start (labels every Docker object). */
  instanceID(): string {
    return this.withDB((db) => {
      const row = db.prepare("SELECT value FROM settings WHERE key = 'instance_id'").get() as { value?: string } | undefined;
      if (!row?.value) throw new Error("instance id not found in the database");
      return row.value;
    });
  }

  /** Stops the daemon and deletes its data dir (when the harness created it). */
  async destroy(): Promise<void> {
    await this.kill("SIGKILL");
    await new Promise<void>((res) => (this.logFile ? this.logFile.end(res) : res()));
    this.logFile = null;
    if (this.ownsDir && !process.env.DEPLOYKIT_KEEP_TEST_DATA) rmSync(this.dataDir, { recursive: true, force: true });
    live.delete(this);
  }
}

function readdirCount(dir: string): number {
  return readdirSync(dir).length;
}

const live = new Set<Daemon>();
process.once("exit", () => {
  for (const d of live) {
    const pid = d.pid;
    if (pid) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
});
