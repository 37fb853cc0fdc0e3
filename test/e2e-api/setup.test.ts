/**
 * A fresh deploykitd as an attacker on the network sees it: the first admin can only be claimed with
 * the one-time setup token from the data directory (or the log), and no other origin may call the API.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ADMIN, Daemon, MAIN } from "../harness/daemon.ts";

describe("first-run setup token", () => {
  it("is written 0600 and logged as a URL; registering needs it (403 without), then the file is gone", async () => {
    const d = await Daemon.start({ register: false });
    try {
      const file = join(d.dataDir, "setup-token");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const token = d.setupToken();
      expect(token).toMatch(/^dks_[A-Za-z0-9_-]{43}$/);
      expect(d.log()).toContain(`http://127.0.0.1:${d.port}/setup?token=${token}`);

      for (const setup_token of [undefined, "", "dks_guess", token.slice(0, -1)]) {
        const r = await d.request("POST", "/api/auth/register", { token: null, body: { ...ADMIN, setup_token } });
        expect([r.status, r.body.error]).toEqual([403, "forbidden"]);
      }
      // A web page on another origin gets no CORS grant to read anything back.
      const cross = await fetch(`${d.url}/api/auth/register`, { headers: { origin: "https://evil.test" } });
      expect(cross.headers.get("access-control-allow-origin")).toBeNull();

      // The token survives a restart until it is used.
      await d.restart();
      expect(d.setupToken()).toBe(token);
      const ok = await d.request("POST", "/api/auth/register", { token: null, body: { ...ADMIN, setup_token: token } });
      expect(ok.status).toBe(201);
      expect(existsSync(file)).toBe(false);
      await d.restart();
      expect(existsSync(file)).toBe(false);
      const again = await d.request("POST", "/api/auth/register", {
        token: null,
        body: { ...ADMIN, email: "eve@x.test", setup_token: token },
      });
      expect(again.status).toBe(409);
    } finally {
      await d.destroy();
    }
  }, 60_000);
});

describe("lockout as a weapon", () => {
  it("failures from one address do not lock the admin out elsewhere; reset-password recovers offline", async () => {
    const d = await Daemon.start({ args: ["-trust-proxy"] });
    try {
      const from = (ip: string, password: string) =>
        d.request("POST", "/api/auth/login", { token: null, body: { email: ADMIN.email, password }, headers: { "x-forwarded-for": ip } });
      for (let i = 0; i < 5; i++) expect((await from("203.0.113.9", `guess-${i}-pw`)).status).toBe(401);
      expect((await from("203.0.113.9", ADMIN.password)).status).toBe(429);
      expect((await from("198.51.100.7", ADMIN.password)).status).toBe(200);

      // Offline recovery on the host, while the daemon runs: a new password, printed once.
      const run = spawnSync(process.execPath, [MAIN, "reset-password", "-db", d.dbPath, ADMIN.email.toUpperCase()], { encoding: "utf8" });
      expect(run.status).toBe(0);
      const password = /new password for [^:]+: (\S+)/.exec(run.stdout)?.[1] as string;
      expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect((await from("192.0.2.1", ADMIN.password)).status).toBe(401);
      expect((await from("192.0.2.1", password)).status).toBe(200);
      // The sessions the old password opened are gone.
      expect((await d.request("GET", "/api/auth/me")).status).toBe(401);

      const unknown = spawnSync(process.execPath, [MAIN, "reset-password", "-db", d.dbPath, "nobody@x.test"], { encoding: "utf8" });
      expect(unknown.status).toBe(1);
      expect(unknown.stderr).toContain("No user with the email nobody@x.test.");
    } finally {
      await d.destroy();
    }
  }, 60_000);
});

describe("file modes", () => {
  it("a fresh data dir is private; loose modes left by anything else are tightened at start, logged once", async () => {
    const d = await Daemon.start();
    const mode = (p: string) => statSync(p).mode & 0o777;
    try {
      expect(mode(d.dataDir)).toBe(0o700);
      for (const f of [d.dbPath, `${d.dbPath}-wal`, `${d.dbPath}-shm`]) expect(mode(f)).toBe(0o600);
      await d.stop();
      // As an older version, a copy or a restore may leave them.
      chmodSync(d.dataDir, 0o755);
      chmodSync(d.dbPath, 0o644);
      writeFileSync(`${d.dbPath}-wal`, "", { mode: 0o666 });
      chmodSync(`${d.dbPath}-wal`, 0o666);
      await d.restart();
      expect(mode(d.dataDir)).toBe(0o700);
      for (const f of [d.dbPath, `${d.dbPath}-wal`, `${d.dbPath}-shm`]) expect(mode(f)).toBe(0o600);
      expect(d.log().match(/data files were readable by others; tightened/g)).toHaveLength(1);
      expect((await d.request("GET", "/api/auth/me")).status).toBe(200);
    } finally {
      await d.destroy();
    }
  }, 60_000);
});
