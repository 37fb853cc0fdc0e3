/**
 * What the end-to-end suite runs against: a real deploykitd on a free port with a fresh database,
 * the real dockerd, and Debian's Chromium driven by playwright-core (PRODUCT.md §6).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import type { Daemon as HarnessDaemon } from "../harness/daemon.ts";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const OUT = join(ROOT, "test-results/e2e");
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The image the suite deploys: the greeter test image when present, else one derived from busybox. */
export const BASE_IMAGE = "deploykit-test/busybox:1";
export const WEB_IMAGE = "dk-e2e/web:1";
/**
 * Serves "<GREETING>" over HTTP on :80 and prints a tick every second (for the live logs). The page is
 * written before httpd starts: the `;` matters. With `&&` before the tick loop, `&` put the whole
 * mkdir … && loop list in the background, so httpd raced the mkdir, exited "can't change directory
 * to '/www'" about half the time, and the container restarted — on a loaded box often enough for the
 * readiness gate to fail the deployment as crash-looping (test/images/e2e-web.test.ts guards it).
 */
export const WEB_CMD = [
  "sh",
  "-c",
  'mkdir -p /www && echo "${GREETING:-hello} from $(hostname)" > /www/index.html && echo "serving ${GREETING:-hello}" && echo "stderr check" >&2; ' +
    // sh stays PID 1 and leaves on SIGTERM (httpd as PID 1 ignores it, and every stop would wait out
    // the 30 s grace before SIGKILL).
    '(i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done) & httpd -f -v -p 80 -h /www & pid=$!; ' +
    "trap 'kill $pid; exit 0' TERM INT; wait $pid",
];

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

export function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
}

export function ensureImages(): string {
  try {
    sh("docker", ["image", "inspect", BASE_IMAGE]);
  } catch {
    execFileSync("bash", [join(ROOT, "scripts/test-images.sh")], { stdio: "inherit" });
  }
  let cmd = "";
  try {
    // Re-serialized: Docker's JSON escapes & < > as \u0026 and so on.
    cmd = JSON.stringify(JSON.parse(sh("docker", ["image", "inspect", "--format", "{{json .Config.Cmd}}", WEB_IMAGE])));
  } catch {
    // Not built yet.
  }
  // Rebuilt when the command changed, so a fix to WEB_CMD reaches an image built before it.
  if (cmd !== JSON.stringify(WEB_CMD)) {
    sh("docker", ["build", "-q", "-t", WEB_IMAGE, "-"], `FROM ${BASE_IMAGE}\nCMD ${JSON.stringify(WEB_CMD)}\n`);
  }
  return WEB_IMAGE;
}

export function ensureSPA(): string {
  const dir = join(ROOT, "dist/public");
  if (!existsSync(join(dir, "index.html"))) execFileSync("npm", ["run", "build:frontend"], { cwd: ROOT, stdio: "inherit" });
  return dir;
}

export interface Daemon {
  url: string;
  port: number;
  proc: ChildProcess | null;
  dataDir: string;
  log: string[];
  stop(): Promise<void>;
}

/**
 * Starts deploykitd on a fresh database (DEPLOYKIT_TEST_MAIN overrides the entry point; DK_E2E_URL
 * uses a daemon that is already running, for developing the suite).
 */
export async function startDaemon(spaDir: string, opts: { dataDir?: string } = {}): Promise<Daemon> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "dk-e2e-"));
  const log: string[] = [];
  if (process.env.DK_E2E_URL) {
    const url = process.env.DK_E2E_URL.replace(/\/$/, "");
    return {
      url,
      port: Number(new URL(url).port),
      proc: null,
      dataDir,
      log,
      stop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    [
      process.env.DEPLOYKIT_TEST_MAIN ?? join(ROOT, "src/cmd/deploykitd/main.ts"),
      "-addr",
      `127.0.0.1:${port}`,
      "-db",
      join(dataDir, "deploykit.db"),
      "-reconcile-interval",
      "2s",
      "-spa-dir",
      spaDir,
      "-log-level",
      "warn",
      // The proxy would bind :80/:443 and pull caddy:2: the browser suite does not route domains yet.
      "-proxy=false",
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  const keep = (b: Buffer) => {
    for (const l of b.toString().split("\n")) if (l) log.push(l);
    if (log.length > 500) log.splice(0, log.length - 500);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`deploykitd exited with ${proc.exitCode}:\n${log.join("\n")}`);
    try {
      const r = await fetch(`${url}/api/health`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`deploykitd did not answer /api/health:\n${log.join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    proc,
    dataDir,
    log,
    stop: async () => {
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        await Promise.race([new Promise((r) => proc.once("exit", r)), new Promise((r) => setTimeout(r, 8000))]);
        if (proc.exitCode === null) proc.kill("SIGKILL");
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** chromium.launch gives every run a fresh temporary profile (user-data-dir) and removes it on close. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

/**
 * A browser context already signed in with `tokens` (written where the SPA keeps them before any
 * page loads): for benchmarks that seed a user straight into the database and skip the login page.
 */
export async function signedInContext(
  browser: Browser,
  tokens: { access_token: string; refresh_token: string; expires_at: string },
  viewport: { width: number; height: number },
): Promise<BrowserContext> {
  const ctx = await browser.newContext({ viewport });
  await ctx.addInitScript((t) => {
    localStorage.setItem("access_token", t.access_token);
    localStorage.setItem("refresh_token", t.refresh_token);
    localStorage.setItem("access_expires_at", t.expires_at);
  }, tokens);
  return ctx;
}

/** Removes every Docker object labelled with the daemon's instance id (the last safety net). */
export function removeDockerObjects(instanceID: string): string[] {
  const label = `label=deploykit.instance=${instanceID}`;
  const removed: string[] = [];
  const list = (args: string[]) =>
    sh("docker", args)
      .split("\n")
      .map((s) => s.trim())
      .filter(Boolean);
  try {
    const containers = list(["ps", "-aq", "--filter", label]);
    if (containers.length) {
      sh("docker", ["rm", "-f", "-v", ...containers]);
      removed.push(...containers.map((c) => `container ${c}`));
    }
    const networks = list(["network", "ls", "-q", "--filter", label]);
    for (const n of networks) {
      sh("docker", ["network", "rm", n]);
      removed.push(`network ${n}`);
    }
    const volumes = list(["volume", "ls", "-q", "--filter", label]);
    if (volumes.length) {
      sh("docker", ["volume", "rm", "-f", ...volumes]);
      removed.push(...volumes.map((v) => `volume ${v}`));
    }
  } catch (err) {
    removed.push(`cleanup error: ${(err as Error).message}`);
  }
  return removed;
}

export function dockerCount(kind: "ps" | "network" | "volume", instanceID: string): number {
  const args = kind === "ps" ? ["ps", "-aq"] : [kind, "ls", "-q"];
  return sh("docker", [...args, "--filter", `label=deploykit.instance=${instanceID}`])
    .split("\n")
    .filter((s) => s.trim()).length;
}

export function outDir(): string {
  mkdirSync(OUT, { recursive: true });
  return OUT;
}

/** A feature suite's teardown: the browser, then the daemon and whatever it left in Docker. */
export async function closeSuite(browser: Browser | undefined, d: HarnessDaemon | undefined): Promise<void> {
  await browser?.close();
  const id = d?.instanceID();
  await d?.stop();
  if (id) removeDockerObjects(id);
  await d?.destroy();
}

/**
 * Runs a suite's journey; on failure prints the error at once (node:test reports failures only after
 * the teardown, and a page that hung is easier to read here), with what `extra` gives then (a daemon log tail, say),
 * and keeps a screenshot as test-results/e2e/<name>-failed.png.
 */
export async function journeyOrReport(
  name: string,
  journey: () => Promise<void>,
  page: () => Page | undefined,
  extra: () => string = () => "",
): Promise<void> {
  try {
    await journey();
  } catch (err) {
    const more = extra();
    console.error(`${name} e2e failed:`, err, more ? `\n${more}` : "");
    await page()
      ?.screenshot({ path: join(outDir(), `${name}-failed.png`) })
      .catch(() => {});
    throw err;
  }
}
