/** Issue 10, item 11: what one address or one user may hold open. */
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, type Harness, MEMBER_TOKEN, startServer, T0, WSClient } from "../../test/http/harness.ts";
import type * as deploykit from "../index.ts";
import * as mock from "../mock/index.ts";
import { MAX_UNAUTHENTICATED_PER_ADDRESS } from "./canvas-hub.ts";
import { MAX_STREAMS_PER_USER } from "./logs.ts";

let h: Harness;
const sockets: WSClient[] = [];
const streams: AbortController[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.ws.terminate();
  for (const a of streams.splice(0)) a.abort();
  await h?.close();
});

const PROJECT: deploykit.Project = { id: "p1", name: "Shop", slug: "shop-abc123", created_at: T0, updated_at: T0 };
const RUNNING: deploykit.Container = {
  id: "c1",
  service_id: "s1",
  deployment_id: "d1",
  docker_container_id: "ab".repeat(32),
  replica_index: 0,
  status: "running",
  created_at: T0,
};

async function start() {
  h = await startServer({
    projects: mock.ProjectService({ findProjectByID: async () => PROJECT }),
    canvas: mock.CanvasService({ getCanvas: async () => ({ nodes: [], edges: [] }) }),
    pendingChanges: mock.PendingChangeService({ findPendingChanges: async () => [] }),
    services: mock.ServiceService({ findServiceByID: async () => ({ id: "s1", project_id: "p1" }) as deploykit.Service }),
    containers: mock.ContainerService({ findContainers: async () => ({ items: [RUNNING], total: 1 }) }),
    logs: mock.LogStreamer({ follow: async () => ({ close: () => {} }) }),
    limits: { wsAuthTimeoutMs: 30_000 },
  });
}

const wsURL = () => `${h.url.replace(/^http/, "ws")}/api/projects/p1/canvas/ws`;

describe("caps", () => {
  it(`one address may hold at most ${MAX_UNAUTHENTICATED_PER_ADDRESS} unauthenticated canvas sockets (429 beyond); authenticating frees the slot`, async () => {
    await start();
    for (let i = 0; i < MAX_UNAUTHENTICATED_PER_ADDRESS; i++) {
      const s = new WSClient(wsURL());
      sockets.push(s);
      await s.open();
    }
    const over = new WSClient(wsURL());
    sockets.push(over);
    await expect(over.open()).rejects.toThrow("HTTP 429");
    // One of them authenticates: its slot is free again.
    const first = sockets[0] as WSClient;
    first.send("auth", { token: ADMIN_TOKEN });
    await first.next("pending-changes:state");
    const next = new WSClient(wsURL());
    sockets.push(next);
    await next.open();
    // Closing frees slots too.
    for (const s of sockets.slice(1, 6)) s.ws.close();
    await Promise.all(sockets.slice(1, 6).map((s) => s.closed()));
    const again = new WSClient(wsURL());
    sockets.push(again);
    await again.open();
  });

  it(`one user may hold at most ${MAX_STREAMS_PER_USER} log streams (429 beyond); others are not affected`, async () => {
    await start();
    const open = (token: string) => {
      const a = new AbortController();
      streams.push(a);
      return fetch(`${h.url}/api/projects/p1/services/s1/logs`, { headers: { authorization: `Bearer ${token}` }, signal: a.signal });
    };
    const statuses = (await Promise.all(Array.from({ length: MAX_STREAMS_PER_USER + 3 }, () => open(MEMBER_TOKEN)))).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(MAX_STREAMS_PER_USER);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    expect((await open(ADMIN_TOKEN)).status).toBe(200);
  });
});
