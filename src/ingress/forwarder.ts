import net from "node:net";
import * as deploykit from "../index.ts";

interface Listener {
  port: number;
  serviceID: string;
  targets: { host: string; port: number }[];
  next: number;
  /** Client connections open on this port. */
  connections: number;
  server: net.Server | null;
  listening: boolean;
  error?: string;
}

/** Give up on a target that does not accept within this long and try the next. */
const CONNECT_TIMEOUT_MS = 5_000;
/** One published port may not hold every file descriptor of the daemon. */
export const DEFAULT_MAX_CONNECTIONS_PER_PORT = 1024;
/** A forwarded connection with no traffic either way for this long is closed. */
export const DEFAULT_IDLE_TIMEOUT_MS = 15 * 60_000;

/**
 * Publishes services' TCP host ports from the daemon: one listener per host port, each connection
 * forwarded to the next serving container (round robin). Swapping targets is instant, so a
 * redeploy never refuses a connection, and replicas share one public port.
 */
export class PortForwarder implements deploykit.PortForwarder {
  readonly #host: string;
  readonly #log: deploykit.Logger;
  readonly #routes = new Map<string, deploykit.PortRoute[]>();
  readonly #listeners = new Map<number, Listener>();
  readonly #sockets = new Set<net.Socket>();
  readonly #maxConnections: number;
  readonly #idleMs: number;
  #closed = false;

  constructor(opts: { host?: string; logger?: deploykit.Logger; maxConnectionsPerPort?: number; idleTimeoutMs?: number } = {}) {
    this.#host = opts.host ?? "0.0.0.0";
    this.#maxConnections = opts.maxConnectionsPerPort ?? DEFAULT_MAX_CONNECTIONS_PER_PORT;
    this.#idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#log = (opts.logger ?? deploykit.nopLogger).child({ component: "forwarder" });
  }

  setServiceRoutes(serviceID: string, routes: deploykit.PortRoute[]): void {
    if (this.#closed) return;
    if (routes.length === 0) this.#routes.delete(serviceID);
    else this.#routes.set(serviceID, routes);
    this.#sync();
  }

  status(): deploykit.ForwardedPort[] {
    return [...this.#listeners.values()]
      .map((l) => {
        const s: deploykit.ForwardedPort = {
          host_port: l.port,
          service_id: l.serviceID,
          targets: l.targets.length,
          listening: l.listening,
        };
        if (l.error) s.error = l.error;
        return s;
      })
      .sort((a, b) => a.host_port - b.host_port);
  }

  /** Stops listening and drops every forwarded connection. */
  async close(): Promise<void> {
    this.#closed = true;
    const servers = [...this.#listeners.values()].map((l) => l.server).filter((s): s is net.Server => s !== null);
    this.#listeners.clear();
    for (const s of this.#sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  #sync(): void {
    const wanted = new Map<number, { serviceID: string; targets: deploykit.PortRoute["targets"] }>();
    // Ports already held keep their owner, so a second service claiming one cannot steal it.
    for (const l of this.#listeners.values()) {
      const route = this.#routes.get(l.serviceID)?.find((r) => r.host_port === l.port);
      if (route) wanted.set(l.port, { serviceID: l.serviceID, targets: route.targets });
    }
    for (const [serviceID, routes] of this.#routes) {
      for (const r of routes) {
        const owner = wanted.get(r.host_port);
        if (!owner) wanted.set(r.host_port, { serviceID, targets: r.targets });
        else if (owner.serviceID !== serviceID)
          this.#log.warn({ host_port: r.host_port, service_id: serviceID }, "host port already published by another service");
      }
    }
    for (const [port, l] of this.#listeners) {
      if (wanted.has(port)) continue;
      // Reopening a port we just closed can race the close; unpublishing is the only reason to close.
      this.#listeners.delete(port);
      l.server?.close();
      this.#log.info({ host_port: port, service_id: l.serviceID }, "unpublished port");
    }
    for (const [port, w] of wanted) {
      const l = this.#listeners.get(port);
      if (l) {
        // Handing the port to the next claimant keeps the socket: no window where it is closed.
        l.serviceID = w.serviceID;
        l.targets = w.targets;
        if (!l.listening && !l.server) this.#listen(l);
        continue;
      }
      const fresh: Listener = { port, serviceID: w.serviceID, targets: w.targets, next: 0, connections: 0, server: null, listening: false };
      this.#listeners.set(port, fresh);
      this.#listen(fresh);
    }
  }

  #listen(l: Listener): void {
    const server = net.createServer((client) => this.#forward(l, client));
    l.server = server;
    server.on("error", (err: NodeJS.ErrnoException) => {
      l.listening = false;
      l.server = null;
      l.error = err.code === "EADDRINUSE" ? `Port ${l.port} is already in use on the host.` : err.message;
      this.#log.warn({ host_port: l.port, service_id: l.serviceID, err: err.message }, "cannot publish port; will retry on the next pass");
    });
    server.listen({ port: l.port, host: this.#host }, () => {
      l.listening = true;
      delete l.error;
      this.#log.info({ host_port: l.port, service_id: l.serviceID }, "published port");
    });
  }

  #forward(l: Listener, client: net.Socket): void {
    this.#track(client);
    client.on("error", () => client.destroy());
    if (l.connections >= this.#maxConnections) {
      if (l.connections === this.#maxConnections)
        this.#log.warn({ host_port: l.port, service_id: l.serviceID, max: this.#maxConnections }, "connection cap reached; refusing");
      client.destroy();
      return;
    }
    l.connections++;
    client.once("close", () => l.connections--);
    client.setTimeout(this.#idleMs, () => client.destroy());
    const attempt = (tries: number) => {
      const targets = l.targets;
      if (targets.length === 0 || tries >= targets.length || client.destroyed) {
        client.destroy();
        return;
      }
      const target = targets[l.next++ % targets.length] as { host: string; port: number };
      const upstream = net.connect({ host: target.host, port: target.port });
      this.#track(upstream);
      upstream.setTimeout(CONNECT_TIMEOUT_MS, () => upstream.destroy(new Error("connect timeout")));
      const onEarlyError = () => {
        upstream.destroy();
        attempt(tries + 1);
      };
      upstream.once("error", onEarlyError);
      upstream.once("connect", () => {
        upstream.setTimeout(0);
        upstream.off("error", onEarlyError);
        upstream.on("error", () => client.destroy());
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
      });
    };
    attempt(0);
  }

  #track(s: net.Socket): void {
    this.#sockets.add(s);
    s.once("close", () => this.#sockets.delete(s));
  }
}
