import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { PortForwarder } from "./forwarder.ts";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A TCP echo server on 127.0.0.1 that keeps connections open. */
async function echo(): Promise<{ host: string; port: number }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { host: "127.0.0.1", port: (server.address() as net.AddressInfo).port };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Connects and sends "ping"; resolves with whether "ping" came back, and the socket. */
async function ping(port: number): Promise<{ echoed: boolean; socket: net.Socket; closed: Promise<void> }> {
  const socket = net.connect({ host: "127.0.0.1", port });
  cleanup.push(() => void socket.destroy());
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  socket.on("error", () => {});
  const echoed = await new Promise<boolean>((resolve) => {
    socket.once("data", () => resolve(true));
    socket.once("close", () => resolve(false));
    socket.write("ping");
  });
  return { echoed, socket, closed };
}

async function listening(f: PortForwarder, port: number): Promise<void> {
  const end = Date.now() + 2000;
  while (!f.status().some((s) => s.host_port === port && s.listening)) {
    if (Date.now() > end) throw new Error("not listening");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("PortForwarder limits", () => {
  it("refuses connections beyond the per-port cap; a closed one frees its slot", async () => {
    const f = new PortForwarder({ host: "127.0.0.1", maxConnectionsPerPort: 3 });
    cleanup.push(() => f.close());
    const port = await freePort();
    f.setServiceRoutes("svc", [{ host_port: port, targets: [await echo()] }]);
    await listening(f, port);
    const open = [await ping(port), await ping(port), await ping(port)];
    expect(open.map((o) => o.echoed)).toEqual([true, true, true]);
    expect((await ping(port)).echoed).toBe(false);
    open[0]?.socket.destroy();
    await open[0]?.closed;
    await new Promise((r) => setTimeout(r, 50));
    expect((await ping(port)).echoed).toBe(true);
  });

  it("closes a connection idle for the timeout, not one that keeps talking", async () => {
    const f = new PortForwarder({ host: "127.0.0.1", idleTimeoutMs: 300 });
    cleanup.push(() => f.close());
    const port = await freePort();
    f.setServiceRoutes("svc", [{ host_port: port, targets: [await echo()] }]);
    await listening(f, port);
    const idle = await ping(port);
    const busy = await ping(port);
    let busyClosed = false;
    void busy.closed.then(() => {
      busyClosed = true;
    });
    const talk = setInterval(() => busy.socket.write("x"), 100);
    cleanup.push(() => clearInterval(talk));
    const t0 = Date.now();
    await idle.closed;
    expect(Date.now() - t0).toBeLessThan(1500);
    await new Promise((r) => setTimeout(r, 500));
    expect(busyClosed).toBe(false);
  });
});
