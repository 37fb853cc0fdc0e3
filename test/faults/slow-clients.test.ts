import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CanvasClient } from "../harness/canvas.ts";
import { Daemon } from "../harness/daemon.ts";
import { HOST_SOCKET } from "../harness/dockerd.ts";
import { removeInstanceObjects } from "../harness/images.ts";
import { percentile, sleep, waitFor } from "../harness/wait.ts";

// D10 and the canvas half of "slow and vanished clients": a client that stops reading while the
// room is busy is cut off (1013) without growing the daemon's memory or stalling the others; clients
// that vanish without a close frame leave the room (user:left) and release their sockets; a client
// that never authenticates is closed; an oversized frame is refused. No containers are created; the
// sweep's project network on the host engine is removed afterwards.

const MB = 1024 * 1024;
let d: Daemon;
let projectID: string;
const clients: CanvasClient[] = [];

async function userToken(email: string): Promise<{ id: string; token: string }> {
  const u = await d.must("POST", "/api/users", 201, {
    body: { email, name: email.split("@")[0], password: "correct-horse-battery-staple", role: "member" },
  });
  const t = await d.login(email, "correct-horse-battery-staple");
  return { id: u.id, token: t.access_token };
}

async function join(token: string): Promise<CanvasClient> {
  const c = await CanvasClient.join(d.url, projectID, token);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  d = await Daemon.start({ probe: true });
  projectID = (await d.must("POST", "/api/projects", 201, { body: { name: "slow-clients" } })).id;
});

afterAll(async () => {
  for (const c of clients) c.vanish();
  const instance = d ? d.instanceID() : null;
  await d?.destroy();
  if (instance) await removeInstanceObjects(HOST_SOCKET, instance);
});

describe("slow and vanished canvas clients", () => {
  it("a client that stops reading is disconnected (1013); the others get every message promptly; memory stays flat", async () => {
    const slowUser = await userToken("slow@faults.test");
    const normal = await Promise.all(Array.from({ length: 10 }, () => join(d.token)));
    const slow = await join(slowUser.token);
    const mover = await join(d.token);
    slow.stall();
    await sleep(300);
    const base = await d.probeAfterGC();

    const ids = Array.from({ length: 20 }, () => randomUUID());
    const data = JSON.stringify({ note: "x".repeat(15_000) });
    const sentAt = new Map<string, number>();
    const N = 400;
    for (let i = 0; i < N; i++) {
      const label = `m${i}`;
      const echo = mover.waitFor("node:upserted", (f) => f.payload?.label === label, 15_000);
      sentAt.set(label, performance.now());
      mover.send("node:upsert", { id: ids[i % ids.length], type: "note", label, position_x: i, position_y: 0, data });
      await echo;
    }
    const during = await d.probe(Date.now());

    // Every normal client got all N upserts, in order, quickly.
    const latencies: number[] = [];
    for (const c of normal) {
      const got = c.frames.filter((f) => f.type === "node:upserted" && String(f.payload?.label).startsWith("m"));
      expect(got.map((f) => f.payload.label)).toEqual(Array.from({ length: N }, (_, i) => `m${i}`));
      for (const f of got) latencies.push(f.at - (sentAt.get(f.payload.label) as number));
    }
    // The slow client was cut off: the others saw it leave.
    await normal[0]!.waitFor("user:left", (f) => f.payload?.user_id === slowUser.id, 10_000);
    (slow.ws as unknown as { _socket: import("node:net").Socket })._socket.resume();
    const closed = await Promise.race([slow.closed, sleep(5000).then(() => null)]);
    // The close frame (1013) waits behind the megabyte the client never read; the hub cuts the socket
    // 2 s after closing, and then the frame is lost with the queue (1006). Which one the client sees
    // depends on how long the other clients' 400 messages took after the drop.
    expect([1013, 1006]).toContain(closed?.code);

    const figures = {
      messages: N,
      message_kb: Math.round(data.length / 1024),
      delivery_p50_ms: Math.round(percentile(latencies, 50)),
      delivery_p99_ms: Math.round(percentile(latencies, 99)),
      eld_p99_ms: during.eld.p99,
      rss_growth_mb: Math.round((during.max_rss - base.rss) / MB),
    };
    console.log(`slow canvas client figures: ${JSON.stringify(figures)}`);
    expect(figures.delivery_p99_ms).toBeLessThan(1000);
    expect(during.max_rss - base.rss).toBeLessThan(80 * MB);
  });

  it("vanished clients (no close frame) leave the room and release their sockets", async () => {
    const ghost = await userToken("ghost@faults.test");
    const watcher = clients[0]!;
    const fds0 = d.fdCount();
    const ghosts = await Promise.all(Array.from({ length: 5 }, () => join(ghost.token)));
    await watcher.waitFor("user:joined", (f) => f.payload?.user_id === ghost.id);
    for (const g of ghosts) g.vanish();
    await watcher.waitFor("user:left", (f) => f.payload?.user_id === ghost.id, 10_000);
    await waitFor(() => d.fdCount() <= fds0 + 1, { timeoutMs: 10_000, what: "the ghosts' sockets to be released" });
    // The room still works for everyone else.
    const label = `after-ghosts-${randomUUID()}`;
    watcher.send("cursor:move", { x: 1, y: 2 });
    clients[1]!.send("node:upsert", { id: randomUUID(), type: "note", label, position_x: 0, position_y: 0, data: "{}" });
    await watcher.waitFor("node:upserted", (f) => f.payload?.label === label);
  });

  it("a socket that never authenticates is closed with 4001; an oversized frame is refused", async () => {
    const silent = new CanvasClient(d.url, projectID);
    clients.push(silent);
    await silent.opened();
    const t0 = Date.now();
    expect((await silent.closed).code).toBe(4001);
    expect(Date.now() - t0).toBeLessThan(8000);

    const big = await join(d.token);
    big.sendRaw(JSON.stringify({ type: "cursor:move", payload: { x: 1, y: 2, pad: "x".repeat(200 * 1024) } }));
    expect((await Promise.race([big.closed, sleep(5000).then(() => null)]))?.code).toBe(1009);
    expect((await d.request("GET", "/api/health")).status).toBe(200);
  });
});
