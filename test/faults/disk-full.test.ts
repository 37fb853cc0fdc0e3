import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../harness/daemon.ts";
import { HOST_SOCKET } from "../harness/dockerd.ts";
import { removeInstanceObjects } from "../harness/images.ts";
import { Tmpfs } from "../harness/tmpfs.ts";

// D07(a): the daemon's data dir (database, WAL) on a 24 MB tmpfs that a ballast file fills up.
// Writes must fail with a clear, retryable error (503, not 500), reads keep working, nothing is
// corrupted or half-written, and writes work again as soon as space is freed — without a restart.

let fs: Tmpfs;
let d: Daemon;
let instance = "";

beforeAll(async () => {
  fs = Tmpfs.mount(24 * 1024 * 1024);
  d = await Daemon.start({ dataDir: fs.dir });
  instance = d.instanceID();
});

afterAll(async () => {
  await d?.destroy();
  fs?.release();
  fs?.unmount();
  if (instance) await removeInstanceObjects(HOST_SOCKET, instance);
});

describe("disk nearly full under the database", () => {
  it("writes fail with a clear 503, reads work, writes resume after space is freed, nothing corrupts", async () => {
    const p = await d.must("POST", "/api/projects", 201, { body: { name: "disk" } });
    const acknowledged: string[] = [];
    for (let i = 0; i < 20; i++) {
      await d.must("POST", `/api/projects/${p.id}/env-vars`, 201, { body: { key: `BEFORE_${i}`, value: "v".repeat(2000) } });
      acknowledged.push(`BEFORE_${i}`);
    }

    fs.fill(0);
    const failures: { status: number; body: { error?: string; message?: string } }[] = [];
    for (let i = 0; i < 200 && failures.length < 5; i++) {
      const r = await d.request("POST", `/api/projects/${p.id}/env-vars`, { body: { key: `FULL_${i}`, value: "v".repeat(4000) } });
      if (r.status === 201) acknowledged.push(`FULL_${i}`);
      else failures.push({ status: r.status, body: r.body });
    }
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) {
      expect(f.status).toBe(503);
      expect(f.body.message).toMatch(/disk is full/i);
    }
    const other = await d.request("POST", "/api/projects", { body: { name: "while-full" } });
    expect([201, 503]).toContain(other.status);
    if (other.status === 503) expect(other.body.message).toMatch(/disk is full/i);

    // Reads keep working and show exactly the acknowledged writes.
    const pending = await d.must<{ data: { payload: { key: string } }[] }>("GET", `/api/projects/${p.id}/pending-changes?limit=100`, 200);
    expect(pending.data.map((c) => c.payload.key)).toEqual(acknowledged);
    expect((await d.request("GET", "/api/auth/me")).status).toBe(200);

    fs.release();
    await d.must("POST", `/api/projects/${p.id}/env-vars`, 201, { body: { key: "AFTER", value: "x" } });
    acknowledged.push("AFTER");

    await d.kill("SIGKILL");
    expect(d.integrity()).toEqual({ integrity: "ok", foreignKeyViolations: 0 });
    await d.restart();
    const after = await d.must<{ data: { payload: { key: string } }[] }>("GET", `/api/projects/${p.id}/pending-changes?limit=100`, 200);
    expect(after.data.map((c) => c.payload.key)).toEqual(acknowledged);
  });
});
