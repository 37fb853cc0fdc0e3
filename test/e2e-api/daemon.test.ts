/**
 * deploykitd as a process: starting without Docker (degraded), graceful shutdown closing WebSockets
 * with 1001, a second signal exiting at once, the backup subcommand, and the flags.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { Client } from "../../src/http/index.ts";
import { Daemon, MAIN } from "../harness/daemon.ts";
import { waitFor } from "../harness/wait.ts";
import { WSClient } from "../http/harness.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function run(args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", timeout: 30_000 });
}

describe("deploykitd process", () => {
  it("starts without Docker, serves the API, and shuts down gracefully (WebSockets get 1001)", async () => {
    const d = await Daemon.start({ dockerSocket: "/nonexistent/docker.sock" });
    try {
      const c = new Client(d.url, { token: d.token });
      const about = await c.about();
      expect(about.docker.reachable).toBe(false);
      await waitFor(async () => ((await c.status()).reconciler as { docker_reachable?: boolean })?.docker_reachable === false, {
        timeoutMs: 20_000,
        what: "reconciler reports Docker unreachable",
      });
      const p = await c.createProject("Offline");
      expect((await c.findProjects()).total).toBe(1);
      const page = await fetch(`${d.url}/projects/${p.id}`);
      expect(page.headers.get("content-type")).toContain("text/html");
      const ws = await WSClient.connect({ url: d.url }, p.id, d.token);
      const exit = await d.stop();
      expect(exit.code).toBe(0);
      await ws.closed();
      expect(ws.closeCode).toBe(1001);
    } finally {
      await d.destroy();
    }
  }, 60_000);

  it("exits at once on a second signal while shutdown waits for a request", async () => {
    const d = await Daemon.start({ dockerSocket: "/nonexistent/docker.sock", register: false });
    try {
      // A request whose body never completes keeps the server's shutdown waiting (up to its grace).
      const sock = connect(d.port, "127.0.0.1");
      await new Promise((r) => sock.once("connect", r));
      sock.write("POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{");
      await new Promise((r) => setTimeout(r, 200));
      const pid = d.pid as number;
      const t0 = Date.now();
      process.kill(pid, "SIGTERM");
      await new Promise((r) => setTimeout(r, 300));
      process.kill(pid, "SIGINT");
      const exit = await d.waitExit(10_000);
      expect(exit.code).toBe(1);
      expect(Date.now() - t0).toBeLessThan(2500);
      sock.destroy();
    } finally {
      await d.destroy();
    }
  }, 60_000);

  it("copies the database with `deploykitd backup <file>`", async () => {
    const d = await Daemon.start({ dockerSocket: "/nonexistent/docker.sock" });
    const dir = mkdtempSync(join(tmpdir(), "dk-backup-"));
    dirs.push(dir);
    try {
      const file = join(dir, "copy.db");
      const r = run(["-db", d.dbPath, "backup", file]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`backed up ${d.dbPath} to ${file}`);
      const db = new Database(file, { readonly: true });
      expect((db.prepare("SELECT count(*) AS n FROM users").get() as { n: number }).n).toBe(1);
      db.close();
    } finally {
      await d.destroy();
    }
  }, 60_000);

  it("takes scheduled backups while serving and shows the last result in admin System", async () => {
    const d = await Daemon.start({ dockerSocket: "/nonexistent/docker.sock" });
    try {
      const c = new Client(d.url, { token: d.token });
      await c.createProject("Kept");
      const before = await c.status();
      expect(before.backups).toMatchObject({ enabled: true, interval_hours: 24, retention: 7, directory: join(d.dataDir, "backups") });
      const r = await c.backupNow();
      expect(r.ok).toBe(true);
      expect(r.path?.startsWith(join(d.dataDir, "backups", "deploykit-"))).toBe(true);
      const db = new Database(r.path as string, { readonly: true });
      expect((db.prepare("SELECT count(*) AS n FROM projects").get() as { n: number }).n).toBe(1);
      db.close();
      const after = await c.status();
      expect(after.backups).toMatchObject({ kept: 1, last: { ok: true, path: r.path } });
      expect(after.backups?.warning).toBeUndefined();
      // A directory the daemon cannot write is a warning in the status, not only a log line.
      await c.updateSettings({ backup_dir: "/proc/deploykit-cannot-write-here" });
      expect((await c.backupNow()).ok).toBe(false);
      expect((await c.status()).backups?.warning).toMatch(/^The last scheduled backup failed/);
    } finally {
      await d.destroy();
    }
  }, 60_000);

  it("prints the version and the help, and refuses bad flags with status 2", () => {
    expect(run(["-version"]).stdout).toMatch(/^deploykitd \d+\.\d+\.\d+\n$/);
    expect(run(["-help"]).stdout).toContain("-reconcile-interval");
    const bad = run(["-nope"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("deploykitd:");
    expect(run(["-log-level", "loud"]).status).toBe(2);
  });
});
