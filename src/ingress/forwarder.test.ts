import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { PortForwarder } from "./forwarder.ts";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A TCP server on 127.0.0.1 answering every connection with its name. */
async function backend(name: string): Promise<{ host: string; port: number; close: () => Promise<void> }> {
  const server = net.createServer((s) => s.end(name));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  const close = () => new Promise<void>((r) => server.close(() => r()));
  cleanup.push(close);
  return { host: "127.0.0.1", port, close };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Connects, reads until the peer closes; rejects on a refused or reset connection. */
function fetchOnce(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port });
    let data = "";
    s.on("data", (d) => {
      data += d.toString();
    });
    s.on("error", reject);
    s.on("close", () => resolve(data));
  });
}

async function until(fn: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

function forwarder(): PortForwarder {
  const f = new PortForwarder({ host: "127.0.0.1" });
  cleanup.push(() => f.close());
  return f;
}

describe("PortForwarder", () => {
  it("forwards to the targets round robin", async () => {
    const [a, b] = [await backend("a"), await backend("b")];
    const f = forwarder();
    const port = await freePort();
    f.setServiceRoutes("svc", [{ host_port: port, targets: [a, b] }]);
    await until(() => f.status()[0]?.listening === true);
    const got = [await fetchOnce(port), await fetchOnce(port), await fetchOnce(port), await fetchOnce(port)];
    expect(got.sort()).toEqual(["a", "a", "b", "b"]);
    expect(f.status()).toEqual([{ host_port: port, service_id: "svc", targets: 2, listening: true }]);
  });

  it("switches targets without refusing a connection", async () => {
    const [oldB, newB] = [await backend("old"), await backend("new")];
    const f = forwarder();
    const port = await freePort();
    f.setServiceRoutes("svc", [{ host_port: port, targets: [oldB] }]);
    await until(() => f.status()[0]?.listening === true);
    const seen: string[] = [];
    for (let i = 0; i < 40; i++) {
      if (i === 20) f.setServiceRoutes("svc", [{ host_port: port, targets: [newB] }]);
      seen.push(await fetchOnce(port));
    }
    expect(seen.slice(0, 20).every((s) => s === "old")).toBe(true);
    expect(seen.slice(20).every((s) => s === "new")).toBe(true);
  });

  it("skips a target that refuses and uses the next", async () => {
    const live = await backend("live");
    const dead = await backend("dead");
    await dead.close();
    const f = forwarder();
    const port = await freePort();
    f.setServiceRoutes("svc", [{ host_port: port, targets: [dead, live] }]);
    await until(() => f.status()[0]?.listening === true);
    for (let i = 0; i < 4; i++) expect(await fetchOnce(port)).toBe("live");
  });

  it("closes the connection when no target serves", async () => {
    const f = forwarder();
    const port = await freePort();
    f.setServiceRoutes("svc", [{ host_port: port, targets: [] }]);
    await until(() => f.status()[0]?.listening === true);
    expect(await fetchOnce(port)).toBe("");
  });

  it("withdrawing routes stops listening", async () => {
    const a = await backend("a");
    const f = forwarder();
    const port = await freePort();
    f.setServiceRoutes("svc", [{ host_port: port, targets: [a] }]);
    await until(() => f.status()[0]?.listening === true);
    f.setServiceRoutes("svc", []);
    expect(f.status()).toEqual([]);
    await until(() => false, 50).catch(() => {});
    await expect(fetchOnce(port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("keeps a port with the service that published it first", async () => {
    const [a, b] = [await backend("a"), await backend("b")];
    const f = forwarder();
    const port = await freePort();
    f.setServiceRoutes("first", [{ host_port: port, targets: [a] }]);
    f.setServiceRoutes("second", [{ host_port: port, targets: [b] }]);
    await until(() => f.status()[0]?.listening === true);
    expect(await fetchOnce(port)).toBe("a");
    expect(f.status().map((s) => s.service_id)).toEqual(["first"]);
    f.setServiceRoutes("first", []);
    await until(() => f.status()[0]?.service_id === "second" && f.status()[0]?.listening === true);
    expect(await fetchOnce(port)).toBe("b");
  });

  it("reports a port held by another program and retries on the next update", async () => {
    const a = await backend("a");
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, "127.0.0.1", r));
    const f = forwarder();
    f.setServiceRoutes("svc", [{ host_port: port, targets: [a] }]);
    await until(() => f.status()[0]?.error !== undefined);
    expect(f.status()[0]).toMatchObject({ listening: false, error: `Port ${port} is already in use on the host.` });
    await new Promise<void>((r) => blocker.close(() => r()));
    f.setServiceRoutes("svc", [{ host_port: port, targets: [a] }]);
    await until(() => f.status()[0]?.listening === true);
    expect(await fetchOnce(port)).toBe("a");
  });
});
