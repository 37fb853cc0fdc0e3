import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN_TOKEN, type Harness, type Overrides, startServer, T0, waitUntil } from "../../test/http/harness.ts";
import * as deploykit from "../index.ts";
import * as mock from "../mock/index.ts";
import type { LogEvent } from "./client.ts";

let h: Harness;
afterEach(async () => {
  await h?.close();
});
async function start(o: Overrides = {}) {
  h = await startServer(o);
  return h;
}

const SERVICE = { id: "s1", project_id: "p1" } as deploykit.Service;
const container = (i: number): deploykit.Container => ({
  id: `c${i}`,
  service_id: "s1",
  deployment_id: "d1",
  docker_container_id: `${String(i).padStart(2, "0")}${"ab".repeat(31)}`,
  replica_index: i,
  status: "running",
  created_at: T0,
});

/** A LogStreamer whose followers the test drives by hand. */
function fakeStreamer() {
  const followers = new Map<
    string,
    { onLine: (l: deploykit.LogLine) => void; onEnd: (e?: Error) => void; closed: boolean; tail: number }
  >();
  const logs = mock.LogStreamer({
    follow: async (id, opts, onLine, onEnd) => {
      if (id.startsWith("gone")) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
      const f = { onLine, onEnd, closed: false, tail: opts.tail };
      followers.set(id, f);
      onLine({ container_id: id.slice(0, 12), stream: "stdout", line: `history of ${id.slice(0, 4)}` });
      return {
        close: () => {
          f.closed = true;
        },
      };
    },
  });
  return { logs, followers };
}

describe("logs (SSE)", () => {
  it("streams every running container (past the 20-row page), exits and the end event", async () => {
    const { logs, followers } = fakeStreamer();
    const all = Array.from({ length: 120 }, (_, i) => container(i));
    const findContainers = vi.fn(async (f: deploykit.ContainerFilter) => ({
      items: all.slice(f.offset ?? 0, (f.offset ?? 0) + (f.limit ?? 20)),
      total: all.length,
    }));
    await start({
      logs,
      services: mock.ServiceService({ findServiceByID: async () => SERVICE }),
      containers: mock.ContainerService({ findContainers }),
    });
    const events: LogEvent[] = [];
    const done = h.client().streamLogs("p1", "s1", (e) => void events.push(e), { tail: 10 });
    await waitUntil(() => followers.size === 120 && events.length >= 120);
    expect(findContainers.mock.calls[0]?.[0]).toMatchObject({ service_id: "s1", status: "running" });
    expect([...followers.values()].every((f) => f.tail === 10)).toBe(true);
    const first = all[0] as deploykit.Container;
    followers
      .get(first.docker_container_id)
      ?.onLine({ container_id: first.docker_container_id.slice(0, 12), stream: "stderr", line: "boom" });
    followers.get(first.docker_container_id)?.onLine({ container_id: first.docker_container_id.slice(0, 12), stream: "stdout", line: "" });
    for (const f of followers.values()) f.onEnd();
    await done;
    expect(events).toContainEqual({ container_id: first.docker_container_id.slice(0, 12), stream: "stderr", line: "boom" });
    expect(events.filter((e) => "event" in e && e.event === "container_exited").length).toBe(120);
    expect(events.at(-1)).toEqual({ event: "end" });
    expect(events.some((e) => "line" in e && e.line === "")).toBe(false);
  });

  it("sends the original's headers and heartbeats", async () => {
    const { logs } = fakeStreamer();
    await start({
      logs,
      limits: { sseHeartbeatMs: 50 },
      services: mock.ServiceService({ findServiceByID: async () => SERVICE }),
      containers: mock.ContainerService({ findContainers: async () => ({ items: [container(1)], total: 1 }) }),
    });
    const ac = new AbortController();
    const res = await fetch(`${h.url}/api/projects/p1/services/s1/logs`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      signal: ac.signal,
    });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get("cache-control")).toBe("no-cache, no-transform");
    expect(res.headers.get("x-accel-buffering")).toBe("no");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!text.includes(": ping")) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain(`data: {"container_id":"01ababababab","stream":"stdout","line":"history of 01ab"}\n\n`);
    ac.abort();
  });

  it("closes the Docker subscriptions when the viewer goes away", async () => {
    const { logs, followers } = fakeStreamer();
    await start({
      logs,
      services: mock.ServiceService({ findServiceByID: async () => SERVICE }),
      containers: mock.ContainerService({ findContainers: async () => ({ items: [container(1), container(2)], total: 2 }) }),
    });
    const ac = new AbortController();
    const p = h
      .client()
      .streamLogs("p1", "s1", () => undefined, { signal: ac.signal })
      .catch(() => {});
    await waitUntil(() => followers.size === 2);
    ac.abort();
    await p;
    await waitUntil(() => [...followers.values()].every((f) => f.closed), 3000, "subscriptions closed");
  });

  it("drops lines for a viewer that cannot keep up and says how many", async () => {
    const { logs, followers } = fakeStreamer();
    await start({
      logs,
      limits: { sseBufferBytes: 64 * 1024 },
      services: mock.ServiceService({ findServiceByID: async () => SERVICE }),
      containers: mock.ContainerService({ findContainers: async () => ({ items: [container(1)], total: 1 }) }),
    });
    const res = await fetch(`${h.url}/api/projects/p1/services/s1/logs`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    await waitUntil(() => followers.size === 1);
    const f = [...followers.values()][0] as { onLine: (l: deploykit.LogLine) => void; onEnd: () => void };
    for (let i = 0; i < 5000; i++) f.onLine({ container_id: "01ababababab", stream: "stdout", line: `${i} ${"y".repeat(1000)}` });
    f.onEnd();
    const text = await res.text();
    const dropped = [...text.matchAll(/"event":"dropped","count":(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    const delivered = (text.match(/"stream":"stdout"/g) ?? []).length - 1;
    expect(dropped).toBeGreaterThan(0);
    expect(delivered + dropped).toBe(5000);
    expect(text.endsWith("event: end\ndata: {}\n\n")).toBe(true);
  });

  it("answers 404 when nothing runs, and for a service of another project", async () => {
    await start({
      services: mock.ServiceService({ findServiceByID: async (id) => ({ ...SERVICE, id, project_id: id === "s1" ? "p1" : "p2" }) }),
      containers: mock.ContainerService({ findContainers: async () => ({ items: [], total: 0 }) }),
    });
    const err = await h
      .client()
      .streamLogs("p1", "s1", () => undefined)
      .catch((e) => e);
    expect([err.code, err.message]).toEqual(["not_found", "No running containers for this service."]);
    expect(
      (
        await h
          .client()
          .streamLogs("p1", "s2", () => undefined)
          .catch((e) => e)
      ).message,
    ).toBe("Service not found.");
  });

  it("names each container's replica first, and sends Docker's timestamp with a line", async () => {
    const { logs, followers } = fakeStreamer();
    await start({
      logs,
      services: mock.ServiceService({ findServiceByID: async () => SERVICE }),
      containers: mock.ContainerService({ findContainers: async () => ({ items: [container(3)], total: 1 }) }),
    });
    const events: LogEvent[] = [];
    const done = h.client().streamLogs("p1", "s1", (e) => void events.push(e));
    await waitUntil(() => followers.size === 1 && events.length >= 2);
    const f = [...followers.values()][0];
    f?.onLine({ container_id: "03ababababab", stream: "stdout", line: "timed", ts: "2026-01-01T00:00:00.123456789Z" });
    f?.onEnd();
    await done;
    expect(events[0]).toEqual({ event: "replicas", replicas: { "03ababababab": 3 } });
    expect(events).toContainEqual({ container_id: "03ababababab", stream: "stdout", line: "timed", ts: "2026-01-01T00:00:00.123456789Z" });
  });

  it("answers 503 when Docker cannot be reached", async () => {
    await start({
      logs: mock.LogStreamer({ follow: async () => Promise.reject(deploykit.errorf(deploykit.EUNAVAILABLE, "Docker is unreachable.")) }),
      services: mock.ServiceService({ findServiceByID: async () => SERVICE }),
      containers: mock.ContainerService({ findContainers: async () => ({ items: [container(1)], total: 1 }) }),
    });
    const err = await h
      .client()
      .streamLogs("p1", "s1", () => undefined)
      .catch((e) => e);
    expect([err.code, err.message]).toEqual(["unavailable", "Docker is unreachable."]);
  });
});

describe("SPA", () => {
  let dir = "";
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = "";
  });

  it("serves files, falls back to index.html for client routes, caches hashed assets, never escapes the directory", async () => {
    dir = mkdtempSync(join(tmpdir(), "spa-"));
    mkdirSync(join(dir, "assets"));
    writeFileSync(join(dir, "index.html"), "<html>app</html>");
    writeFileSync(join(dir, "assets", "app-1234.js"), "console.log(1)");
    writeFileSync(join(tmpdir(), "secret.txt"), "secret");
    await start({ spaDir: dir });
    const get = async (p: string) => {
      const r = await fetch(h.url + p);
      const text = await r.text();
      return { status: r.status, headers: r.headers, text: async () => text };
    };
    const root = await get("/");
    expect([root.status, await root.text()]).toEqual([200, "<html>app</html>"]);
    const route = await get("/projects/p1/canvas");
    expect(await route.text()).toBe("<html>app</html>");
    expect(route.headers.get("cache-control")).toBe("no-cache");
    const asset = await get("/assets/app-1234.js");
    expect(asset.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    for (const p of ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"])
      expect(await (await get(p)).text()).not.toContain("secret");
  });

  it("explains how to build the SPA when it is missing", async () => {
    await start({ spaDir: "/nonexistent" });
    const text = await (await fetch(`${h.url}/projects`)).text();
    expect(text).toContain("make frontend");
    expect(text).toContain("make dev-frontend");
  });
});
