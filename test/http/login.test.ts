/**
 * Password guessing against the real SQLite auth service at the production hashing cost: the limiter
 * must count attempts before the password is checked, and checking must not stall the event loop.
 */
import { spawn } from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import bcrypt from "bcryptjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as sqlite from "../../src/sqlite/index.ts";
import { mustOpenDB } from "../../src/sqlite/testing.ts";
import { pingFromChild } from "../harness/pinger.ts";
import { type Harness, startServer } from "./harness.ts";

let h: Harness;
let db: sqlite.DB;

beforeEach(async () => {
  db = mustOpenDB();
  h = await startServer({ users: new sqlite.UserService(db), auth: new sqlite.AuthService(db) });
  await new sqlite.AuthService(db, { bcryptCost: 4 }).register({ email: "ada@example.com", name: "Ada", password: "correct-horse-1" });
  // The hash a database from before argon2id holds: bcrypt at the production cost (~70 ms of CPU a check).
  db.write((tx) => tx.run("UPDATE users SET password_hash = ?", bcrypt.hashSync("correct-horse-1", 10)));
});

afterEach(async () => {
  await h.close();
  db.close();
});

function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${h.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

const BURST = `
const [url, n, body] = process.argv.slice(1);
// Warm up (module loading, JIT, one connection), then wait for the go line on stdin.
fetch(new URL("/api/health", url)).then(() => process.stdout.write("ready\\n"));
process.stdin.once("data", () => Promise.all(Array.from({ length: Number(n) }, (_, i) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...JSON.parse(body), password: "wrong-" + i }) })
    .then((r) => r.status, () => 0),
)).then((s) => process.stdout.write(JSON.stringify(s))));
`;

/**
 * `n` concurrent wrong-password logins from a process of its own (the test process only serves),
 * started and warmed up first; `fire()` sends them and resolves with their statuses.
 */
async function burstFromChild(url: string, n: number, body: object): Promise<{ fire: () => Promise<number[]> }> {
  const p = spawn(process.execPath, ["-e", BURST, url, String(n), JSON.stringify(body)], { stdio: ["pipe", "pipe", "inherit"] });
  let text = "";
  const done = new Promise<number[]>((resolve, reject) => {
    p.on("error", reject);
    p.on("exit", () => resolve(JSON.parse(text.slice(text.indexOf("\n") + 1)) as number[]));
  });
  await new Promise<void>((resolve) =>
    p.stdout.on("data", (b: Buffer) => {
      text += b.toString();
      if (text.includes("\n")) resolve();
    }),
  );
  return {
    fire: () => {
      p.stdin.end("go\n");
      return done;
    },
  };
}

function p99(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] as number;
}

describe("login under a burst of guesses", () => {
  // Retried: a timing figure on shared CPUs. Before the fix every try fails by seconds.
  it("50 concurrent wrong passwords for one email: at most 5 are checked (401), the rest 429; /api/health p99 < 100 ms", {
    retry: 2,
  }, async () => {
    // The bcrypt worker starts once per process; its start-up is not what this measures.
    await new sqlite.AuthService(db).login({ email: "ada@example.com", password: "warm-up-pw" }).catch(() => {});
    // Probe and attacker run in processes of their own; the server's own event loop is watched here.
    const burst = await burstFromChild(`${h.url}/api/auth/login`, 50, { email: "ada@example.com" });
    const ping = pingFromChild(`${h.url}/api/health`, "none", 3000, 5);
    await new Promise((r) => setTimeout(r, 500));
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const statuses = await burst.fire();
    loop.disable();
    // The probe's first requests measure its own start-up (module loading, JIT), not the server.
    const latencies = (await ping).latencies.slice(3);

    const count = (s: number) => statuses.filter((x) => x === s).length;
    expect(count(401)).toBeLessThanOrEqual(5);
    expect(count(401) + count(429)).toBe(50);
    expect(latencies.length).toBeGreaterThan(5);
    const loopP99 = loop.percentile(99) / 1e6;
    console.log(`health p99 ${p99(latencies).toFixed(1)} ms (probe process), server event-loop delay p99 ${loopP99.toFixed(1)} ms`);
    // What stalls every API call is the server's event loop: it stays under 100 ms. The round trip from
    // another process also waits for a CPU on a shared machine, so it gets a wider bound; before the
    // fix both were seconds (every check ran bcrypt on the event loop).
    expect(loopP99).toBeLessThan(100);
    expect(p99(latencies)).toBeLessThan(500);
  });

  it("after 5 failures the right password is refused too (429) from that address", async () => {
    for (let i = 0; i < 5; i++)
      expect((await post("/api/auth/login", { email: "ada@example.com", password: "wrong-pw" })).status).toBe(401);
    expect((await post("/api/auth/login", { email: "ada@example.com", password: "correct-horse-1" })).status).toBe(429);
  });

  it("current_password on a profile change is limited like a login", async () => {
    const login = await post("/api/auth/login", { email: "ada@example.com", password: "correct-horse-1" });
    const token = ((await login.json()) as { access_token: string }).access_token;
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fetch(`${h.url}/api/auth/profile`, {
          method: "PATCH",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ current_password: `wrong-${i}`, new_password: "another-password-1" }),
        }).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 422).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 422 || s === 429).length).toBe(20);
  });
});
