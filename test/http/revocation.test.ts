/**
 * Revocation reaches long-lived connections: a canvas WebSocket and an SSE log stream opened with a
 * session or an API key are closed (4001 / stream ended) within 5 s of the credential's end.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Client } from "../../src/http/index.ts";
import type * as deploykit from "../../src/index.ts";
import * as mock from "../../src/mock/index.ts";
import * as sqlite from "../../src/sqlite/index.ts";
import { mustOpenDB, TEST_BCRYPT_COST } from "../../src/sqlite/testing.ts";
import { type Harness, SETUP_TOKEN, startServer, WSClient, waitUntil } from "./harness.ts";

let h: Harness;
let db: sqlite.DB;
let admin: Client;
let project: deploykit.Project;
const sockets: WSClient[] = [];
const streams: AbortController[] = [];

const RUNNING: deploykit.Container = {
  id: "c1",
  service_id: "s1",
  deployment_id: "d1",
  docker_container_id: "ab".repeat(32),
  replica_index: 0,
  status: "running",
  created_at: "2026-01-01T00:00:00.000Z",
};

beforeEach(async () => {
  db = mustOpenDB();
  h = await startServer({
    projects: new sqlite.ProjectService(db),
    users: new sqlite.UserService(db, { bcryptCost: TEST_BCRYPT_COST }),
    auth: new sqlite.AuthService(db, { bcryptCost: TEST_BCRYPT_COST }),
    canvas: new sqlite.CanvasService(db),
    pendingChanges: new sqlite.PendingChangeService(db),
    // The log source is a stand-in that never ends by itself: only revocation can end the stream.
    services: mock.ServiceService({ findServiceByID: async () => ({ id: "s1", project_id: project.id }) as deploykit.Service }),
    containers: mock.ContainerService({ findContainers: async () => ({ items: [RUNNING], total: 1 }) }),
    logs: mock.LogStreamer({ follow: async () => ({ close: () => {} }) }),
  });
  admin = h.client(null);
  admin.token = (
    await admin.register({ email: "ada@example.com", name: "Ada", password: "correct-horse-1", setup_token: SETUP_TOKEN })
  ).tokens.access_token;
  project = await new sqlite.ProjectService(db).createProject({ name: "P" });
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.ws.terminate();
  for (const a of streams.splice(0)) a.abort();
  await h.close();
  db.close();
});

interface Victim {
  user: deploykit.User;
  /** The session of the victim (always there) and the credential under test. */
  session: Client;
  credential: string;
}

async function member(viaKey: boolean): Promise<Victim> {
  const user = await admin.createUser({ email: "max@example.com", name: "Max", password: "password-max-1" });
  const session = h.client(null);
  session.token = (await session.login("max@example.com", "password-max-1")).access_token;
  const credential = viaKey ? (await session.createAPIKey({ description: "ci" })).token : session.token;
  return { user, session, credential };
}

/** Opens a canvas socket and an SSE stream with `token`; resolves when both are live. */
async function connect(token: string) {
  const ws = await WSClient.connect(h, project.id, token);
  sockets.push(ws);
  const abort = new AbortController();
  streams.push(abort);
  const res = await fetch(`${h.url}/api/projects/${project.id}/services/s1/logs`, {
    headers: { authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  expect(res.status).toBe(200);
  const ended = (async () => {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    try {
      while (!(await reader.read()).done) {}
    } catch {}
  })();
  let sseEnded = false;
  void ended.then(() => {
    sseEnded = true;
  });
  return { ws, sseEnded: () => sseEnded };
}

const cases: [string, boolean, (v: Victim) => Promise<unknown>][] = [
  ["logout", false, (v) => v.session.logout()],
  ["logout-all", false, (v) => v.session.logoutAll()],
  ["API key revocation", true, async (v) => v.session.deleteAPIKey((await v.session.findAPIKeys())[0]?.id as string)],
  ["an admin's password reset", false, (v) => admin.updateUser(v.user.id, { password: "reset-by-admin-1" })],
  ["a role change", false, (v) => admin.updateUser(v.user.id, { role: "admin" })],
  ["user deletion (session)", false, (v) => admin.deleteUser(v.user.id)],
  ["user deletion (API key)", true, (v) => admin.deleteUser(v.user.id)],
];

describe("revocation reaches open connections", () => {
  it.each(cases)("%s closes the canvas socket (4001) and the SSE stream within 5 s", async (_name, viaKey, revoke) => {
    const v = await member(viaKey);
    const { ws, sseEnded } = await connect(v.credential);
    // Still open before the revocation (one check interval later).
    await new Promise((r) => setTimeout(r, 2500));
    expect(ws.closeCode).toBeNull();
    expect(sseEnded()).toBe(false);

    const t0 = Date.now();
    await revoke(v);
    await waitUntil(() => ws.closeCode !== null && sseEnded(), 5000, "both connections closed");
    expect(ws.closeCode).toBe(4001);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it("changing your own password closes the connections of your other sessions, not this one's", async () => {
    const v = await member(false);
    const other = h.client(null);
    other.token = (await other.login("max@example.com", "password-max-1")).access_token;
    const elsewhere = await connect(other.token);
    const here = await connect(v.credential);
    const t0 = Date.now();
    await v.session.updateProfile({ current_password: "password-max-1", new_password: "password-max-2" });
    await waitUntil(() => elsewhere.ws.closeCode !== null && elsewhere.sseEnded(), 5000, "the other session's connections closed");
    expect(elsewhere.ws.closeCode).toBe(4001);
    expect(Date.now() - t0).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 2500));
    expect(here.ws.closeCode).toBeNull();
    expect((await v.session.me()).id).toBe(v.user.id);
  });

  it("an unrelated credential stays connected", async () => {
    const v = await member(false);
    const other = await connect(admin.token as string);
    await v.session.logout();
    await new Promise((r) => setTimeout(r, 3000));
    expect(other.ws.closeCode).toBeNull();
    expect(other.sseEnded()).toBe(false);
  });
});
