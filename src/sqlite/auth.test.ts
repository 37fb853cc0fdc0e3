import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance as nodePerformance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import bcrypt from "bcryptjs";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as deploykit from "../index.ts";
import { AuthService, tokenDigest } from "./auth.ts";
import type { DB } from "./db.ts";
import { expectError, FakeClock, mustCreateAuthUser, mustCreateUser, mustOpenDB, TEST_BCRYPT_COST } from "./testing.ts";

/** One connection per thread; every thread blocks on `start` until the test releases them at once. */
const RACE_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { path, index, start, here } = workerData;
(async () => {
  const deploykit = await import(new URL("../index.ts", here).href);
  const { DB } = await import(new URL("./db.ts", here).href);
  const { AuthService } = await import(new URL("./auth.ts", here).href);
  const db = new DB(path);
  db.open();
  // [0] is the start signal, [1] counts the threads about to wait for it.
  Atomics.add(new Int32Array(start), 1, 1);
  Atomics.wait(new Int32Array(start), 0, 0);
  try {
    await new AuthService(db, { bcryptCost: 4 }).register({ email: "t" + index + "@x.io", name: "T" + index, password: "password123" });
    parentPort.postMessage({ ok: true });
  } catch (err) {
    parentPort.postMessage({ ok: false, code: deploykit.errorCode(err), message: deploykit.errorMessage(err) });
  } finally {
    db.close();
  }
})();
`;

const authOf = (db: DB) => new AuthService(db, { bcryptCost: TEST_BCRYPT_COST });
const MIN = 60 * 1000;

let tmp: string | undefined;
afterEach(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

describe("AuthService registration", () => {
  it("registers the first user as admin, then closes", async () => {
    const db = mustOpenDB();
    const auth = authOf(db);
    expect(await auth.canRegister()).toBe(true);
    const { user, tokens } = await auth.register({ email: "First@X.io", name: "First", password: "password123", role: "member" });
    expect(user).toMatchObject({ email: "first@x.io", role: "admin" });
    expect((await auth.authenticate(tokens.access_token)).user.id).toBe(user.id);
    expect(await auth.canRegister()).toBe(false);
    await expectError(
      auth.register({ email: "b@x.io", name: "B", password: "password123" }),
      deploykit.ECONFLICT,
      "Registration is closed.",
    );
  });

  it("validates the registration", async () => {
    const err = await expectError(authOf(mustOpenDB()).register({ email: "", name: "N", password: "x" }), deploykit.EINVALID);
    expect(err.fields).toEqual({ email: ["Email is required."], password: ["Password must be at least 8 characters."] });
  });

  it("creates exactly one admin out of 50 concurrent registrations on separate connections", async () => {
    tmp = mkdtempSync(join(tmpdir(), "dk-race-"));
    const path = join(tmp, "race.db");
    mustOpenDB({ path }).close();
    const dbs = Array.from({ length: 50 }, () => mustOpenDB({ path }));
    const results = await Promise.allSettled(
      dbs.map((db, i) => authOf(db).register({ email: `u${i}@x.io`, name: `U${i}`, password: "password123" })),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    const refused = results.filter((r) => r.status === "rejected");
    expect(ok).toHaveLength(1);
    for (const r of refused) {
      expect(deploykit.errorCode(r.reason)).toBe(deploykit.ECONFLICT);
      expect(deploykit.errorMessage(r.reason)).toBe("Registration is closed.");
    }
    const count = dbs[0]!.read((tx) =>
      tx.get<{ n: number; admins: number }>("SELECT COUNT(*) AS n, SUM(role = 'admin') AS admins FROM users"),
    );
    expect(count).toEqual({ n: 1, admins: 1 });
    for (const db of dbs) db.close();
  });

  it("creates exactly one admin when 8 threads register at the same instant", async () => {
    tmp = mkdtempSync(join(tmpdir(), "dk-race-threads-"));
    const path = join(tmp, "race.db");
    mustOpenDB({ path }).close();
    const start = new SharedArrayBuffer(8);
    const workers = Array.from(
      { length: 8 },
      (_, index) => new Worker(RACE_WORKER, { eval: true, workerData: { path, index, start, here: import.meta.url } }),
    );
    const results = workers.map(
      (w) =>
        new Promise<{ ok: boolean; code?: string; message?: string }>((resolve, reject) => {
          w.once("message", resolve);
          w.once("error", reject);
        }),
    );
    // Once every thread has opened its connection and is about to block on the signal, release them together.
    await vi.waitFor(() => expect(Atomics.load(new Int32Array(start), 1)).toBe(8), { timeout: 30_000 });
    Atomics.store(new Int32Array(start), 0, 1);
    Atomics.notify(new Int32Array(start), 0);
    const settled = await Promise.all(results);
    await Promise.all(workers.map((w) => w.terminate()));
    expect(settled.filter((r) => r.ok)).toHaveLength(1);
    for (const r of settled.filter((r) => !r.ok))
      expect(r).toEqual({ ok: false, code: deploykit.ECONFLICT, message: "Registration is closed." });
    const db = mustOpenDB({ path });
    expect(db.read((tx) => tx.get("SELECT COUNT(*) AS n FROM users"))).toEqual({ n: 1 });
    db.close();
  });
});

describe("AuthService.login", () => {
  it("signs in case-insensitively and opens a new session each time", async () => {
    const db = mustOpenDB();
    const { user } = await mustCreateAuthUser(db, { email: "me@x.io" });
    const auth = authOf(db);
    const a = await auth.login({ email: " ME@x.io ", password: "password123" });
    const b = await auth.login({ email: "me@x.io", password: "password123" });
    expect(a.access_token).toMatch(/^dka_[A-Za-z0-9_-]{43}$/);
    expect(a.refresh_token).toMatch(/^dkr_[A-Za-z0-9_-]{43}$/);
    expect(a.access_token).not.toBe(b.access_token);
    const pa = await auth.authenticate(a.access_token);
    const pb = await auth.authenticate(b.access_token);
    expect(pa.user.id).toBe(user.id);
    expect(pa.session_id).not.toBe(pb.session_id);
  });

  it.each([
    [{ email: "me@x.io", password: "wrong-password" }, deploykit.EUNAUTHORIZED, "Invalid email or password."],
    [{ email: "nobody@x.io", password: "password123" }, deploykit.EUNAUTHORIZED, "Invalid email or password."],
    [{ email: "", password: "" }, deploykit.EINVALID, "Validation failed."],
  ] as const)("refuses %j", async (input, code, message) => {
    const db = mustOpenDB();
    await mustCreateAuthUser(db, { email: "me@x.io" });
    await expectError(authOf(db).login(input), code, message);
  });

  it("keeps bcrypt hashes working and replaces them with argon2id at the next sign-in", async () => {
    const db = mustOpenDB();
    const { user } = await mustCreateAuthUser(db, { email: "me@x.io" });
    const legacy = bcrypt.hashSync("password123", 4);
    db.write((tx) => tx.run("UPDATE users SET password_hash = ? WHERE id = ?", legacy, user.id));
    await expectError(authOf(db).login({ email: "me@x.io", password: "wrong-password" }), deploykit.EUNAUTHORIZED);
    expect(db.read((tx) => tx.get<{ password_hash: string }>("SELECT password_hash FROM users")?.password_hash)).toBe(legacy);
    await authOf(db).login({ email: "me@x.io", password: "password123" });
    const stored = db.read((tx) => tx.get<{ password_hash: string }>("SELECT password_hash FROM users")?.password_hash);
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=\d+,t=2,p=1\$/);
    await authOf(db).login({ email: "me@x.io", password: "password123" });
    await expectError(authOf(db).login({ email: "me@x.io", password: "password12" }), deploykit.EUNAUTHORIZED);
  });

  it("checks passwords off the event loop", async () => {
    const db = mustOpenDB();
    const { user } = await mustCreateAuthUser(db, { email: "me@x.io" });
    // A bcrypt hash at the production cost: ~70 ms of CPU per check when it ran on the main thread.
    db.write((tx) => tx.run("UPDATE users SET password_hash = ? WHERE id = ?", bcrypt.hashSync("password123", 10), user.id));
    const auth = new AuthService(db);
    await auth.login({ email: "me@x.io", password: "warm-up" }).catch(() => {});
    // Event-loop utilization: the share of the time the main thread was busy. Eight checks on it
    // (~560 ms of bcrypt) keep it near 1; off it, the loop mostly waits.
    const before = nodePerformance.eventLoopUtilization();
    await Promise.all(Array.from({ length: 8 }, () => auth.login({ email: "me@x.io", password: "wrong-password" }).catch(() => {})));
    const elu = nodePerformance.eventLoopUtilization(before);
    expect(elu.utilization).toBeLessThan(0.5);
  });
});

describe("AuthService tokens", () => {
  it("expires access tokens after 15 minutes by the injected clock", async () => {
    const clock = new FakeClock();
    const db = mustOpenDB({ now: clock.now });
    const { tokens } = await mustCreateAuthUser(db);
    const auth = authOf(db);
    expect(tokens.expires_at).toBe(new Date(clock.now().getTime() + 15 * MIN).toISOString());
    clock.advance(15 * MIN - 1);
    const p = await auth.authenticate(tokens.access_token);
    expect(p.expires_at).toBe(tokens.expires_at);
    clock.advance(1);
    await expectError(auth.authenticate(tokens.access_token), deploykit.EUNAUTHORIZED, "Invalid or expired token.");
  });

  it.each(["", "garbage", "dka_not-a-real-token", "dk_nope"])("refuses token %j", async (token) => {
    const db = mustOpenDB();
    await mustCreateAuthUser(db);
    await expectError(authOf(db).authenticate(token), deploykit.EUNAUTHORIZED, "Invalid or expired token.");
  });

  it("rotates on the same session and invalidates the old pair", async () => {
    const clock = new FakeClock();
    const db = mustOpenDB({ now: clock.now });
    const { tokens } = await mustCreateAuthUser(db);
    const auth = authOf(db);
    const session = (await auth.authenticate(tokens.access_token)).session_id;
    clock.advance(5 * MIN);
    const next = await auth.refresh(tokens.refresh_token);
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect((await auth.authenticate(next.access_token)).session_id).toBe(session);
    await expectError(auth.authenticate(tokens.access_token), deploykit.EUNAUTHORIZED, "Invalid or expired token.");
    const third = await auth.refresh(next.refresh_token);
    expect((await auth.authenticate(third.access_token)).session_id).toBe(session);
  });

  it("revokes the session when a rotated refresh token is presented again", async () => {
    const db = mustOpenDB();
    const { tokens } = await mustCreateAuthUser(db);
    const auth = authOf(db);
    const next = await auth.refresh(tokens.refresh_token);
    await expectError(
      auth.refresh(tokens.refresh_token),
      deploykit.EUNAUTHORIZED,
      "Refresh token reuse detected; the session was revoked.",
    );
    await expectError(auth.authenticate(next.access_token), deploykit.EUNAUTHORIZED, "Invalid or expired token.");
    await expectError(auth.refresh(next.refresh_token), deploykit.EUNAUTHORIZED, "Invalid refresh token.");
  });

  it.each([
    ["", "Refresh token is required."],
    ["   ", "Refresh token is required."],
    ["dkr_unknown", "Invalid refresh token."],
  ])("refuses refresh token %j", async (token, message) => {
    await expectError(authOf(mustOpenDB()).refresh(token), deploykit.EUNAUTHORIZED, message);
  });

  it("refuses and deletes a session whose refresh window has passed, and slides the window on use", async () => {
    const clock = new FakeClock();
    const db = mustOpenDB({ now: clock.now });
    const { tokens } = await mustCreateAuthUser(db);
    const auth = authOf(db);
    clock.advance(6 * 24 * 60 * MIN);
    const slid = await auth.refresh(tokens.refresh_token);
    clock.advance(6 * 24 * 60 * MIN);
    const again = await auth.refresh(slid.refresh_token);
    clock.advance(7 * 24 * 60 * MIN);
    await expectError(auth.refresh(again.refresh_token), deploykit.EUNAUTHORIZED, "Refresh token has expired.");
    await expectError(auth.refresh(again.refresh_token), deploykit.EUNAUTHORIZED, "Invalid refresh token.");
  });

  it("logs out one session or all of them", async () => {
    const db = mustOpenDB();
    const { user, tokens } = await mustCreateAuthUser(db);
    const auth = authOf(db);
    const second = await auth.login({ email: user.email, password: "password123" });
    const third = await auth.login({ email: user.email, password: "password123" });
    const sid = (await auth.authenticate(tokens.access_token)).session_id!;
    await auth.logout(sid);
    await auth.logout(sid);
    await expectError(auth.authenticate(tokens.access_token), deploykit.EUNAUTHORIZED, "Invalid or expired token.");
    await auth.authenticate(second.access_token);
    await auth.logoutAll(user.id);
    await expectError(auth.authenticate(second.access_token), deploykit.EUNAUTHORIZED, "Invalid or expired token.");
    await expectError(auth.refresh(third.refresh_token), deploykit.EUNAUTHORIZED, "Invalid refresh token.");
  });

  it("purges sessions whose refresh window has passed", async () => {
    const clock = new FakeClock();
    const db = mustOpenDB({ now: clock.now });
    const { user } = await mustCreateAuthUser(db);
    const auth = authOf(db);
    await auth.login({ email: user.email, password: "password123" });
    clock.advance(3 * 24 * 60 * MIN);
    const fresh = await auth.login({ email: user.email, password: "password123" });
    clock.advance(4 * 24 * 60 * MIN);
    expect(await auth.purgeExpiredSessions()).toBe(2);
    expect(await auth.purgeExpiredSessions()).toBe(0);
    await auth.refresh(fresh.refresh_token);
  });

  it("sees role changes at once", async () => {
    const db = mustOpenDB();
    await mustCreateAuthUser(db);
    const { user, tokens } = await mustCreateAuthUser(db);
    db.write((tx) => tx.run("UPDATE users SET role = 'admin' WHERE id = ?", user.id));
    expect((await authOf(db).authenticate(tokens.access_token)).user.role).toBe("admin");
  });
});

describe("AuthService API keys", () => {
  it("creates, authenticates, lists and deletes a key", async () => {
    const clock = new FakeClock();
    const db = mustOpenDB({ now: clock.now });
    const { user } = await mustCreateAuthUser(db);
    const auth = authOf(db);
    const key = await auth.createAPIKey(user.id, { description: " CI " });
    expect(key.token).toMatch(/^dk_[A-Za-z0-9_-]{43}$/);
    expect(key.prefix).toBe(key.token.slice(0, 11));
    expect(key).toMatchObject({ description: "CI", expires_at: null, last_used_at: null, user_id: user.id });
    clock.advance(1000);
    const later = await auth.createAPIKey(user.id, { description: "Later", expires_at: "2026-06-01T00:00:00+02:00" });
    expect(later.expires_at).toBe("2026-05-31T22:00:00.000Z");
    const p = await auth.authenticate(key.token);
    expect(p).toMatchObject({ api_key_id: key.id, expires_at: null });
    expect(p.user.id).toBe(user.id);
    expect(p.session_id).toBeUndefined();
    const list = await auth.findAPIKeys(user.id);
    expect(list.map((k) => k.id)).toEqual([later.id, key.id]);
    expect(list[1]).not.toHaveProperty("token");
    await auth.deleteAPIKey(user.id, key.id);
    await expectError(auth.authenticate(key.token), deploykit.EUNAUTHORIZED, "Invalid or expired token.");
    await expectError(auth.deleteAPIKey(user.id, key.id), deploykit.ENOTFOUND, "API key not found.");
  });

  it("hides other users' keys", async () => {
    const db = mustOpenDB();
    const { user: a } = await mustCreateAuthUser(db);
    const b = await mustCreateUser(db);
    const key = await authOf(db).createAPIKey(a.id, { description: "mine" });
    await expectError(authOf(db).deleteAPIKey(b.id, key.id), deploykit.ENOTFOUND, "API key not found.");
    expect(await authOf(db).findAPIKeys(b.id)).toEqual([]);
    await authOf(db).authenticate(key.token);
  });

  it("stops accepting an expired key", async () => {
    const clock = new FakeClock("2026-01-01T00:00:00.000Z");
    const db = mustOpenDB({ now: clock.now });
    const { user } = await mustCreateAuthUser(db);
    const key = await authOf(db).createAPIKey(user.id, { description: "short", expires_at: "2026-01-01T01:00:00Z" });
    expect((await authOf(db).authenticate(key.token)).expires_at).toBe("2026-01-01T01:00:00.000Z");
    clock.advance(60 * MIN);
    await expectError(authOf(db).authenticate(key.token), deploykit.EUNAUTHORIZED, "Invalid or expired token.");
  });

  it.each([
    [{ description: "" }, { description: ["Description is required."] }],
    [{ description: "x".repeat(201) }, { description: ["Description is too long (max 200 characters)."] }],
    [{ description: "d", expires_at: "tomorrow" }, { expires_at: ["Expiry must be an RFC 3339 timestamp."] }],
    [{ description: "d", expires_at: "2020-01-01T00:00:00Z" }, { expires_at: ["Expiry must be in the future."] }],
  ])("validates %j", async (input, fields) => {
    const db = mustOpenDB({ now: new FakeClock().now });
    const { user } = await mustCreateAuthUser(db);
    const err = await expectError(authOf(db).createAPIKey(user.id, input), deploykit.EINVALID);
    expect(err.fields).toEqual(fields);
  });

  it("refuses a key for an unknown user", async () => {
    await expectError(authOf(mustOpenDB()).createAPIKey("nope", { description: "d" }), deploykit.ENOTFOUND, "User not found.");
  });

  it("writes last_used_at at most once a minute", async () => {
    const clock = new FakeClock();
    const db = mustOpenDB({ now: clock.now });
    const { user } = await mustCreateAuthUser(db);
    const auth = authOf(db);
    const key = await auth.createAPIKey(user.id, { description: "ci" });
    const lastUsed = async () => (await auth.findAPIKeys(user.id))[0]?.last_used_at;
    const t0 = clock.now().toISOString();
    await auth.authenticate(key.token);
    expect(await lastUsed()).toBe(t0);
    clock.advance(59 * 1000);
    await auth.authenticate(key.token);
    expect(await lastUsed()).toBe(t0);
    clock.advance(1000);
    await auth.authenticate(key.token);
    expect(await lastUsed()).toBe(clock.now().toISOString());
  });
});

describe("secrets at rest", () => {
  it("never writes a plaintext password, token or API key to the database file", async () => {
    tmp = mkdtempSync(join(tmpdir(), "dk-secrets-"));
    const path = join(tmp, "secrets.db");
    const db = mustOpenDB({ path });
    const password = "correct-horse-battery";
    const { user, tokens } = await mustCreateAuthUser(db, { password });
    const auth = authOf(db);
    const rotated = await auth.refresh(tokens.refresh_token);
    const key = await auth.createAPIKey(user.id, { description: "ci" });
    db.close();
    const bytes = Buffer.concat(
      [path, `${path}-wal`].flatMap((f) => {
        try {
          return [readFileSync(f)];
        } catch {
          return [];
        }
      }),
    );
    const secrets = [password, tokens.access_token, tokens.refresh_token, rotated.access_token, rotated.refresh_token, key.token];
    for (const s of secrets) {
      expect(bytes.includes(Buffer.from(s))).toBe(false);
      // The random part alone must not be there either (a stored token without its prefix is still a token).
      expect(bytes.includes(Buffer.from(s.slice(s.indexOf("_") + 1)))).toBe(false);
    }
    // The digests are what is stored.
    expect(bytes.includes(Buffer.from(tokenDigest(key.token)))).toBe(true);
  });
});
