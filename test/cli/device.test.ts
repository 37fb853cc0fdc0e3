/**
 * `deploykit login` without a token (device code) through the API, the built CLI polling a real
 * daemon: approve → a new API key of the approver lands in the credentials and logout revokes it;
 * deny → exit 3; an API key may not approve; codes serve one key.
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../harness/daemon.ts";
import { waitFor } from "../harness/wait.ts";
import { CliUser, ensureBuilt } from "./harness.ts";

let d: Daemon;
let u: CliUser;

beforeAll(async () => {
  ensureBuilt();
  d = await Daemon.start();
  u = new CliUser();
}, 120_000);

afterAll(async () => {
  await d?.destroy();
  u?.cleanup();
});

/** Starts `deploykit login --json`; resolves with the code it prints and its exit. */
async function startLogin(): Promise<{ code: string; url: string; exit: Promise<{ code: number | null; out: string; err: string }> }> {
  const child: ChildProcess = u.spawn(["--url", d.url, "login", "--json"]);
  let out = "";
  let err = "";
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const exit = new Promise<{ code: number | null; out: string; err: string }>((res) =>
    child.on("close", (code) => res({ code, out, err })),
  );
  const first = await waitFor(() => out.split("\n")[0]?.endsWith("}") && JSON.parse(out.split("\n")[0] as string), {
    timeoutMs: 20_000,
    what: `the device code (stderr: ${err})`,
  });
  return { code: first.user_code, url: first.url, exit };
}

describe("deploykit login in the browser (device code)", () => {
  it("approve: the CLI receives a new key of the approver; logout revokes it", async () => {
    const { code, url, exit } = await startLogin();
    expect(code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(url).toBe(`${d.url}/device?code=${code}`);
    const pending = await d.must("GET", `/api/auth/device/${code.toLowerCase().replace("-", " ")}`, 200);
    expect(pending).toMatchObject({ user_code: code, status: "pending" });
    expect(pending.description).toContain("deploykit CLI on ");
    // An API key cannot approve: a key must not mint keys that outlive it.
    const key = (await d.must("POST", "/api/api-keys", 201, { body: { description: "ci" } })).token;
    expect((await d.request("POST", `/api/auth/device/${code}/approve`, { token: key })).status).toBe(403);
    expect((await d.request("POST", `/api/auth/device/${code}/approve`, { token: null })).status).toBe(401);
    expect((await d.must("POST", `/api/auth/device/${code}/approve`, 200)).status).toBe("approved");
    const r = await exit;
    expect(r.code, r.err).toBe(0);
    const creds = JSON.parse(readFileSync(join(u.config, "deploykit/credentials.json"), "utf8"));
    expect(creds.token).toMatch(/^dk_/);
    const keys = await d.must("GET", "/api/api-keys", 200);
    expect(keys.data.map((k: { id: string }) => k.id)).toContain(creds.api_key_id);
    // One key per code: the used code is gone.
    expect((await d.request("POST", `/api/auth/device/${code}/approve`)).status).toBe(404);
    expect((await d.request("POST", "/api/auth/device/token", { body: { device_code: "dkd_nope" }, token: null })).status).toBe(404);
    const who = await u.run(["whoami", "--json"]);
    expect(JSON.parse(who.stdout).user.email).toBe("admin@faults.test");
    expect((await u.run(["logout"])).code).toBe(0);
    const after = await d.must("GET", "/api/api-keys", 200);
    expect(after.data.map((k: { id: string }) => k.id)).not.toContain(creds.api_key_id);
    expect((await d.request("GET", "/api/auth/me", { token: creds.token })).status).toBe(401);
  });

  it("deny: the CLI exits 3 and stores nothing", async () => {
    const { code, exit } = await startLogin();
    expect((await d.must("POST", `/api/auth/device/${code}/deny`, 200)).status).toBe("denied");
    const r = await exit;
    expect(r.code).toBe(3);
    expect(r.err).toContain("denied");
    expect((await u.run(["whoami"])).code).toBe(3);
  });

  it("refuses bad input with 4xx (the field named), never 500", async () => {
    expect((await d.request("GET", "/api/auth/device/not-a-code")).status).toBe(404);
    expect(
      (await d.request("POST", "/api/auth/device", { body: { description: "x".repeat(300) }, token: null })).body.errors,
    ).toHaveProperty("description");
    const missing = await d.request("POST", "/api/auth/device/token", { body: {}, token: null });
    expect([400, 422]).toContain(missing.status);
  });
});
