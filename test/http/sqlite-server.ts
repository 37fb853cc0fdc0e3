/**
 * The HTTP server over the real SQLite services and the real EventBus, Docker-facing pieces mocked:
 * what test/http/sqlite.test.ts and sealed.test.ts run their flows against. `useSQLiteServer()`
 * starts a fresh one (in-memory database) before each test and closes it, with its sockets, after.
 */
import { afterEach, beforeEach, vi } from "vitest";
import { EventBus } from "../../src/events/index.ts";
import type { Client } from "../../src/http/index.ts";
import * as deploykit from "../../src/index.ts";
import * as mock from "../../src/mock/index.ts";
import * as sqlite from "../../src/sqlite/index.ts";
import { mustOpenDB, TEST_BCRYPT_COST } from "../../src/sqlite/testing.ts";
import { SystemService } from "../../src/sysinfo/index.ts";
import { type Harness, SETUP_TOKEN, startServer, WSClient } from "./harness.ts";

export const ADMIN = { email: "ada@example.com", name: "Ada", password: "correct-horse-1", setup_token: SETUP_TOKEN };

export interface SQLiteServer {
  h: Harness;
  db: sqlite.DB;
  bus: EventBus;
  /** Every event published on the bus, in order. */
  events: deploykit.Event[];
  trigger: ReturnType<typeof vi.fn<() => void>>;
  triggerService: ReturnType<typeof vi.fn<(id: string) => void>>;
  /** The first user (admin), registered through the API, with a client holding its token. */
  admin(): Promise<Client>;
  /** A canvas socket for `projectID`, closed after the test. */
  ws(c: Client, projectID: string): Promise<WSClient>;
}

/** Registers the hooks; the returned object's fields are the current test's server. */
export function useSQLiteServer(): SQLiteServer {
  const s = {} as SQLiteServer;
  const sockets: WSClient[] = [];
  beforeEach(async () => {
    s.bus = new EventBus();
    s.events = [];
    s.bus.subscribe((e) => {
      s.events.push(e);
    });
    const db = mustOpenDB({ bus: s.bus });
    s.db = db;
    s.trigger = vi.fn<() => void>();
    s.triggerService = vi.fn<(id: string) => void>();
    s.h = await startServer({
      projects: new sqlite.ProjectService(db),
      users: new sqlite.UserService(db, { bcryptCost: TEST_BCRYPT_COST }),
      auth: new sqlite.AuthService(db, { bcryptCost: TEST_BCRYPT_COST }),
      services: new sqlite.ServiceService(db),
      deployments: new sqlite.DeploymentService(db),
      containers: new sqlite.ContainerService(db),
      canvas: new sqlite.CanvasService(db),
      envVars: new sqlite.EnvVarService(db),
      pendingChanges: new sqlite.PendingChangeService(db),
      domains: new sqlite.DomainService(db),
      settings: new sqlite.SettingsService(db),
      system: new SystemService({
        docker: mock.DockerIntrospector({
          about: async () => ({ reachable: false, error: "no Docker in this test" }),
          status: async () => deploykit.emptyDockerStatus("no Docker in this test"),
        }),
        dbPath: ":memory:",
        version: "test",
        instanceID: "test-instance",
        startedAt: new Date(),
        projects: new sqlite.ProjectService(db),
        services: new sqlite.ServiceService(db),
        containers: new sqlite.ContainerService(db),
      }),
      bus: s.bus,
      reconciler: { trigger: s.trigger, triggerService: s.triggerService, status: () => ({ docker_reachable: false }) },
      limits: { wsAuthRecheckMs: 0 },
    });
  });
  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.ws.terminate();
    await s.h.close();
    s.db.close();
  });
  s.admin = async () => {
    const c = s.h.client(null);
    const { tokens } = await c.register(ADMIN);
    c.token = tokens.access_token;
    return c;
  };
  s.ws = async (c, projectID) => {
    const socket = await WSClient.connect(s.h, projectID, c.token as string);
    sockets.push(socket);
    return socket;
  };
  return s;
}
