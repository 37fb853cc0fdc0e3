/**
 * Test harness for the HTTP layer: a Server on 127.0.0.1:0 built from strict mocks (unset methods
 * throw "not mocked"), known tokens for an admin, a member and an API key, and typed clients.
 */
import type { AddressInfo } from "node:net";
import { WebSocket } from "ws";
import { Client, Server, type ServerOptions } from "../../src/http/index.ts";
import * as deploykit from "../../src/index.ts";
import * as mock from "../../src/mock/index.ts";

export const T0 = "2026-01-01T00:00:00.000Z";

export const ADMIN: deploykit.User = {
  id: "u-admin",
  email: "admin@example.com",
  name: "Ada Admin",
  role: "admin",
  created_at: T0,
  updated_at: T0,
};
export const MEMBER: deploykit.User = {
  id: "u-member",
  email: "member@example.com",
  name: "Max Member",
  role: "member",
  created_at: T0,
  updated_at: T0,
};
export const ADMIN_TOKEN = "dka_admin";
export const MEMBER_TOKEN = "dka_member";
export const KEY_TOKEN = "dk_memberkey";
export const SETUP_TOKEN = "dks_test-setup-token";

/** A setup gate that accepts `token` until it is consumed. */
export function setupGate(token = SETUP_TOKEN): deploykit.SetupGate {
  let live = true;
  return {
    verify: (t) => live && t === token,
    consume: () => {
      live = false;
    },
  };
}

/** Principals by token; tests may add or remove entries (revocation). */
export function principalTable(): Map<string, deploykit.Principal> {
  const far = new Date(Date.now() + 3600_000).toISOString();
  return new Map<string, deploykit.Principal>([
    [ADMIN_TOKEN, { user: ADMIN, session_id: "s-admin", expires_at: far }],
    [MEMBER_TOKEN, { user: MEMBER, session_id: "s-member", expires_at: far }],
    [KEY_TOKEN, { user: MEMBER, api_key_id: "k-member", expires_at: null }],
  ]);
}

/** An in-memory bus that records what was published and delivers synchronously. */
export class FakeBus implements deploykit.EventBus {
  readonly published: deploykit.Event[] = [];
  private readonly handlers = new Set<(e: deploykit.Event) => void | Promise<void>>();

  publish(event: deploykit.Event): void {
    this.published.push(event);
    for (const h of this.handlers) void h(event);
  }

  subscribe(handler: (e: deploykit.Event) => void | Promise<void>): deploykit.Subscription {
    this.handlers.add(handler);
    return {
      close: () => {
        this.handlers.delete(handler);
      },
      dropped: 0,
    };
  }
}

export interface Harness {
  server: Server;
  url: string;
  port: number;
  opts: ServerOptions;
  bus: FakeBus;
  tokens: Map<string, deploykit.Principal>;
  /** A typed client with the given token (default the admin's). */
  client(token?: string | null): Client;
  close(): Promise<void>;
}

export type Overrides = Partial<ServerOptions>;

/** Builds a server from strict mocks plus `overrides`, listening on a free port. */
export async function startServer(overrides: Overrides = {}): Promise<Harness> {
  const tokens = principalTable();
  const bus = new FakeBus();
  const opts: ServerOptions = {
    projects: mock.ProjectService(),
    users: mock.UserService(),
    auth: mock.AuthService({
      authenticate: async (token) => {
        const p = tokens.get(token);
        if (!p) throw deploykit.errorf(deploykit.EUNAUTHORIZED, "Invalid or expired token.");
        return p;
      },
      // A credential holds while some token of the table still maps to its session or key.
      recheck: async (p) => {
        const same = (q: deploykit.Principal) =>
          q.user.id === p.user.id && q.user.role === p.user.role && q.session_id === p.session_id && q.api_key_id === p.api_key_id;
        if (![...tokens.values()].some(same)) throw deploykit.errorf(deploykit.EUNAUTHORIZED, "Credentials revoked.");
      },
    }),
    services: mock.ServiceService(),
    deployments: mock.DeploymentService(),
    containers: mock.ContainerService(),
    canvas: mock.CanvasService(),
    envVars: mock.EnvVarService(),
    pendingChanges: mock.PendingChangeService(),
    settings: mock.SettingsService(),
    system: mock.SystemService(),
    bus,
    logs: mock.LogStreamer(),
    exec: mock.ContainerExec(),
    shellSessions: mock.ShellSessionService(),
    reconciler: mock.Reconciler(),
    setup: setupGate(),
    corsOrigin: "*",
    trustProxy: false,
    spaDir: null,
    version: "test",
    ...overrides,
  };
  const server = new Server(opts);
  const { port } = await server.listen({ host: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${port}`;
  return {
    server,
    url,
    port,
    opts,
    bus,
    tokens,
    client: (token: string | null = ADMIN_TOKEN) => new Client(url, { token }),
    close: () => server.close(),
  };
}

/** A canvas WebSocket client that records every message it receives. */
export class WSClient {
  readonly ws: WebSocket;
  readonly messages: { type: string; payload: unknown }[] = [];
  closeCode: number | null = null;
  closeReason = "";
  private readonly opened: Promise<void>;
  private readonly closedP: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.ws.once("error", reject);
    });
    this.closedP = new Promise((resolve) => {
      this.ws.on("close", (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve();
      });
    });
    this.ws.on("message", (data) => this.messages.push(JSON.parse(data.toString())));
  }

  open(): Promise<void> {
    return this.opened;
  }

  closed(): Promise<void> {
    return this.closedP;
  }

  send(type: string, payload: unknown): void {
    this.ws.send(JSON.stringify({ type, payload }));
  }

  /** Waits for the n-th (default first) message of a type not yet consumed by `take`. */
  async next(type: string, timeoutMs = 3000): Promise<{ type: string; payload: unknown }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.messages.findIndex((m) => m.type === type);
      if (i >= 0) return this.messages.splice(i, 1)[0] as { type: string; payload: unknown };
      if (Date.now() > deadline) throw new Error(`no ${type} message; got ${this.messages.map((m) => m.type).join(", ")}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  has(type: string): boolean {
    return this.messages.some((m) => m.type === type);
  }

  /** Opens, authenticates and waits for the initial state. */
  static async connect(
    h: { url: string },
    projectID: string,
    token = ADMIN_TOKEN,
    headers: Record<string, string> = {},
  ): Promise<WSClient> {
    const c = new WSClient(`${h.url.replace(/^http/, "ws")}/api/projects/${projectID}/canvas/ws`, headers);
    await c.open();
    c.send("auth", { token });
    await c.next("pending-changes:state");
    c.messages.length = 0;
    return c;
  }
}

export function addressOf(server: Server): number {
  return (server.app.server.address() as AddressInfo).port;
}

export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs = 3000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
