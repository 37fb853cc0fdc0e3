import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ADMIN,
  type Harness,
  KEY_TOKEN,
  MEMBER,
  MEMBER_TOKEN,
  type Overrides,
  SETUP_TOKEN,
  startServer,
  T0,
} from "../../test/http/harness.ts";
import * as deploykit from "../index.ts";
import * as mock from "../mock/index.ts";

let h: Harness;
afterEach(async () => {
  await h?.close();
});
async function start(o: Overrides = {}): Promise<Harness> {
  h = await startServer(o);
  return h;
}

const PROJECT: deploykit.Project = { id: "p1", name: "Shop", slug: "shop-abc123", created_at: T0, updated_at: T0 };
const DEPLOYMENT: deploykit.Deployment = {
  id: "d1",
  service_id: "s1",
  image: "nginx:1",
  env_vars: { A: "1" },
  ports: [],
  volumes: [],
  replicas: 1,
  stop_grace_seconds: 30,
  restart_policy: "always",
  restart_max_retries: 10,
  cron_timeout_seconds: 3600,
  healthcheck_timeout_seconds: 60,
  status: "healthy",
  attempt_count: 0,
  baseline_restart_count: 3,
  created_at: T0,
};
const SERVICE: deploykit.Service = {
  id: "s1",
  project_id: "p1",
  name: "web",
  status: "running",
  icon_url: null,
  active_deployment_id: "d1",
  image: "nginx:1",
  ports: [],
  volumes: [],
  resources: null,
  replicas: 1,
  stop_grace_seconds: 30,
  healthcheck_path: null,
  healthcheck_timeout_seconds: 60,
  drain_seconds: 5,
  start_command: null,
  entrypoint: null,
  restart_policy: "always",
  restart_max_retries: 10,
  pre_deploy_command: null,
  cron_schedule: null,
  cron_timeout_seconds: 3600,
  created_at: T0,
  updated_at: T0,
  active_deployment: DEPLOYMENT,
};
const CHANGE: deploykit.PendingChange = {
  id: "c1",
  project_id: "p1",
  seq: 1,
  op: "service.update",
  target_type: "service",
  target_id: "s1",
  payload: {},
  created_at: T0,
};
const TOKENS: deploykit.AuthTokens = { access_token: "dka_x", refresh_token: "dkr_x", expires_at: T0 };

describe("auth", () => {
  it("logs in and limits failures per normalized email with 429 and Retry-After", async () => {
    const login = vi.fn(async (i: deploykit.LoginInput) => {
      if (i.password === "right-password") return TOKENS;
      throw deploykit.errorf(deploykit.EUNAUTHORIZED, "Invalid email or password.");
    });
    await start({ auth: mock.AuthService({ login }) });
    const c = h.client(null);
    expect(await c.login("a@x.io", "right-password")).toEqual(TOKENS);
    for (let i = 0; i < 5; i++) {
      const err = await c.login(i % 2 ? "A@X.io " : "a@x.io", "wrong-password").catch((e) => e);
      expect(err.code).toBe("unauthorized");
    }
    const err = await c.login("a@x.io", "right-password").catch((e) => e);
    expect(err.code).toBe("rate_limited");
    expect(err.retryAfterSeconds).toBeGreaterThan(800);
    expect(login).toHaveBeenCalledTimes(6);
    // Another email from the same address is still allowed (the address budget is 20).
    expect(await c.login("b@x.io", "right-password")).toEqual(TOKENS);
  });

  it("limits failures per client address across emails", async () => {
    await start({
      auth: mock.AuthService({
        login: async () => Promise.reject(deploykit.errorf(deploykit.EUNAUTHORIZED, "Invalid email or password.")),
      }),
    });
    const c = h.client(null);
    for (let i = 0; i < 20; i++) expect((await c.login(`u${i}@x.io`, "pw").catch((e) => e)).code).toBe("unauthorized");
    expect((await c.login("fresh@x.io", "pw").catch((e) => e)).code).toBe("rate_limited");
  });

  it("validates login fields before anything else (422)", async () => {
    await start();
    const err = await h
      .client(null)
      .login("", "")
      .catch((e) => e);
    expect(err.fields).toEqual({ email: ["Email is required."], password: ["Password is required."] });
  });

  it("limits registration per address", async () => {
    const register = vi.fn(async () => Promise.reject(deploykit.errorf(deploykit.ECONFLICT, "Registration is closed.")));
    await start({ auth: mock.AuthService({ register, canRegister: async () => true }) });
    const c = h.client(null);
    const input = { email: "a@x.io", name: "A", password: "password1", setup_token: SETUP_TOKEN };
    for (let i = 0; i < 10; i++) expect((await c.register(input).catch((e) => e)).code).toBe("conflict");
    expect((await c.register(input).catch((e) => e)).code).toBe("rate_limited");
  });

  it("refuses registration without the setup token, or with a wrong one (403), and accepts it once", async () => {
    const register = vi.fn(async () => ({ user: ADMIN, tokens: TOKENS }));
    let open = true;
    await start({ auth: mock.AuthService({ register, canRegister: async () => open }) });
    const c = h.client(null);
    const input = { email: "a@x.io", name: "A", password: "password1" };
    for (const setup_token of [undefined, "", "dks_wrong", `${SETUP_TOKEN}x`]) {
      const err = await c.register({ ...input, setup_token } as typeof input & { setup_token: string }).catch((e) => e);
      expect([err.code, err.message]).toEqual([
        "forbidden",
        "A valid setup token is required: see the file setup-token in the data directory, or the daemon's log.",
      ]);
    }
    expect(register).not.toHaveBeenCalled();
    expect((await c.register({ ...input, setup_token: SETUP_TOKEN })).user).toEqual(ADMIN);
    open = false;
    const closed = await c.register({ ...input, setup_token: SETUP_TOKEN }).catch((e) => e);
    expect([closed.code, closed.message]).toEqual(["conflict", "Registration is closed."]);
  });

  it("registers with the role forced by the service (role in the body is not passed on)", async () => {
    const register = vi.fn(async () => ({ user: ADMIN, tokens: TOKENS }));
    await start({ auth: mock.AuthService({ register, canRegister: async () => true }) });
    const c = h.client(null);
    expect(await c.canRegister()).toBe(true);
    expect(await c.register({ email: "a@x.io", name: "A", password: "password1", role: "member", setup_token: SETUP_TOKEN })).toEqual({
      user: ADMIN,
      tokens: TOKENS,
    });
    expect(register).toHaveBeenCalledWith({ email: "a@x.io", name: "A", password: "password1" });
  });

  it("logout ends the current session; API keys are a no-op; logout-all ends every session", async () => {
    const logout = vi.fn(async () => {});
    const logoutAll = vi.fn(async () => {});
    await start({ auth: mock.AuthService({ authenticate: (t) => principal(t), logout, logoutAll }) });
    await h.client(MEMBER_TOKEN).logout();
    expect(logout).toHaveBeenCalledWith("s-member");
    await h.client(KEY_TOKEN).logout();
    expect(logout).toHaveBeenCalledTimes(1);
    await h.client(MEMBER_TOKEN).logoutAll();
    expect(logoutAll).toHaveBeenCalledWith(MEMBER.id);
  });

  it("returns the current user without internal fields", async () => {
    await start();
    expect(await h.client(MEMBER_TOKEN).me()).toEqual(MEMBER);
  });
});

async function principal(t: string): Promise<deploykit.Principal> {
  const p = h.tokens.get(t);
  if (!p) throw deploykit.errorf(deploykit.EUNAUTHORIZED, "Invalid or expired token.");
  return p;
}

describe("projects", () => {
  it("creates (triggering the reconciler), lists with the envelope, stages renames", async () => {
    const trigger = vi.fn();
    const append = vi.fn(async (_p: string, _u: string | null, c: deploykit.PendingChangeAppend) => ({
      ...CHANGE,
      op: c.op,
      payload: c.payload ?? {},
    }));
    await start({
      projects: mock.ProjectService({
        createProject: async () => PROJECT,
        findProjects: async () => ({ items: [PROJECT], total: 7 }),
      }),
      reconciler: mock.Reconciler({ trigger }),
      pendingChanges: mock.PendingChangeService({ appendPendingChange: append }),
    });
    const c = h.client(MEMBER_TOKEN);
    expect(await c.createProject("Shop")).toEqual(PROJECT);
    expect(trigger).toHaveBeenCalledTimes(1);
    const res = await fetch(`${h.url}/api/projects?limit=500&offset=-3`, { headers: { authorization: `Bearer ${MEMBER_TOKEN}` } });
    expect(await res.json()).toEqual({ data: [PROJECT], total_count: 7, offset: 0, limit: 100 });
    const pc = await c.updateProject("p1", "New name");
    expect(pc.payload).toEqual({ name: "New name" });
    expect(append).toHaveBeenCalledWith("p1", MEMBER.id, {
      op: "project.update",
      target_type: "project",
      target_id: "p1",
      payload: { name: "New name" },
    });
    expect((await c.updateProject("p1", " ").catch((e) => e)).message).toBe("Name cannot be empty.");
  });
});

describe("services", () => {
  it("stages a new service through a canvas node and service.create, removing the node when staging fails", async () => {
    const upsertNode = vi.fn(async (_p: string, n: deploykit.CanvasNodeUpsert) => ({
      node: { ...n, project_id: "p1", label: n.label ?? "", data: n.data ?? "{}", created_at: T0, updated_at: T0 } as deploykit.CanvasNode,
      previous: null,
    }));
    const deleteNode = vi.fn(async () => {});
    let fail = false;
    const append = vi.fn(async (_p: string, _u: string | null, c: deploykit.PendingChangeAppend) => {
      if (fail) throw deploykit.errorf(deploykit.ECONFLICT, deploykit.serviceNameTakenMessage("web"));
      return {
        ...CHANGE,
        op: c.op,
        target_id: undefined,
        target_temp_id: c.target_temp_id,
        payload: c.payload ?? {},
      } as deploykit.PendingChange;
    });
    await start({
      projects: mock.ProjectService({ findProjectByID: async () => PROJECT }),
      canvas: mock.CanvasService({ upsertNode, deleteNode }),
      pendingChanges: mock.PendingChangeService({ appendPendingChange: append }),
    });
    const c = h.client();
    const pc = await c.createService("p1", {
      name: "web",
      image: "deploykit-test/greeter:1",
      ports: [{ container_port: 8080, host_port: 18080 }],
      env_vars: [{ key: "GREETING", value: "hello" }],
    });
    expect(pc.op).toBe("service.create");
    const node = upsertNode.mock.calls[0]?.[1] as deploykit.CanvasNodeUpsert;
    expect(pc.target_temp_id).toBe(node.id);
    expect(node).toMatchObject({ type: "service", label: "web", data: JSON.stringify({ image: "deploykit-test/greeter:1" }) });
    expect(pc.payload).toEqual({
      name: "web",
      image: "deploykit-test/greeter:1",
      ports: [{ container_port: 8080, host_port: 18080 }],
      env_vars: [{ scope: "service", key: "GREETING", value: "hello" }],
    });
    fail = true;
    const err = await c.createService("p1", { name: "web", image: "nginx" }).catch((e) => e);
    expect([err.code, err.message]).toEqual(["conflict", 'A service named "web" already exists in the project.']);
    expect(deleteNode).toHaveBeenCalledWith("p1", (upsertNode.mock.calls[1]?.[1] as deploykit.CanvasNodeUpsert | undefined)?.id);
  });

  it.each([
    [{ name: "Web_1", image: "nginx" }, { name: [deploykit.SERVICE_NAME_MESSAGE] }],
    [{ name: "web", image: "" }, { image: ["Image is required."] }],
    [{ name: "web", image: "nginx", replicas: -1 }, { replicas: ["Replicas must be a whole number of zero or more."] }],
    [
      {
        name: "web",
        image: "nginx",
        env_vars: [
          { key: "A", value: "1" },
          { key: "A", value: "2" },
        ],
      },
      { "env_vars[1].key": ["Duplicate env var key: A"] },
    ],
    [
      { name: "web", image: "nginx", volumes: [{ name: "data", mount_path: "/" }] },
      { "volumes[0].mount_path": ["Mount path cannot be / or contain '..'."] },
    ],
  ])("refuses invalid service input %j with 422", async (input, fields) => {
    await start({ projects: mock.ProjectService({ findProjectByID: async () => PROJECT }) });
    const err = await h
      .client()
      .createService("p1", input as never)
      .catch((e) => e);
    expect(err.code).toBe("invalid");
    expect(err.fields).toEqual(fields);
  });

  it("stages settings as service.update and refuses services of another project", async () => {
    const append = vi.fn(async (_p: string, _u: string | null, c: deploykit.PendingChangeAppend) => ({
      ...CHANGE,
      payload: c.payload ?? {},
    }));
    await start({
      services: mock.ServiceService({ findServiceByID: async (id) => (id === "s1" ? SERVICE : { ...SERVICE, id, project_id: "other" }) }),
      pendingChanges: mock.PendingChangeService({ appendPendingChange: append }),
    });
    const c = h.client();
    const upd = { replicas: 2, ports: [{ container_port: 80, host_port: 8081 }], resources: { memory_mb: 128, cpus: 0.5 } };
    expect((await c.updateService("p1", "s1", upd)).payload).toEqual(upd);
    expect((await c.updateService("p1", "s2", { replicas: 1 }).catch((e) => e)).code).toBe("not_found");
    expect((await c.updateService("p1", "s1", {}).catch((e) => e)).message).toBe("Nothing to change.");
    expect((await c.updateService("p1", "s1", { resources: { memory_mb: 2 } }).catch((e) => e)).fields).toEqual({
      "resources.memory_mb": ["Memory must be 0 (no limit) or at least 6 MiB."],
    });
    const hc = { healthcheck_path: "/healthz", healthcheck_timeout_seconds: 30, drain_seconds: 0 };
    expect((await c.updateService("p1", "s1", hc)).payload).toEqual(hc);
    expect((await c.updateService("p1", "s1", { healthcheck_path: null })).payload).toEqual({ healthcheck_path: null });
    for (const bad of [
      { healthcheck_path: "healthz" },
      { healthcheck_path: "/a b" },
      { healthcheck_timeout_seconds: 0 },
      { drain_seconds: 301 },
      { drain_seconds: -1 },
    ]) {
      const err = await c.updateService("p1", "s1", bad).catch((e) => e);
      expect(err.code, JSON.stringify(bad)).toBe("invalid");
      expect(Object.keys(err.fields)).toEqual(Object.keys(bad));
    }
    const svc = await c.findServiceByID("p1", "s1");
    expect(svc).toMatchObject({ healthcheck_path: null, healthcheck_timeout_seconds: 60, drain_seconds: 5 });
    expect(svc.active_deployment).not.toHaveProperty("baseline_restart_count");
    expect((await c.findServiceByID("p1", "s9").catch((e) => e)).message).toBe("Service not found.");
  });
});

describe("deploy and rollback", () => {
  it("applies and presents; the effects (events, reconciler, canvas) are below the route", async () => {
    const trigger = vi.fn();
    const result: deploykit.ApplyResult = {
      applied_count: 2,
      temp_id_to_service_id: { n1: "s1" },
      redeployed_service_ids: [],
      created_deployments: [DEPLOYMENT],
    };
    await start({
      pendingChanges: mock.PendingChangeService({ applyPendingChanges: async () => result }),
      reconciler: mock.Reconciler({ trigger }),
    });
    const r = await h.client().deploy("p1");
    expect(r.created_deployments[0]).not.toHaveProperty("baseline_restart_count");
    // The committing layer publishes (src/sqlite), the reconciler and the hub react: not the route.
    expect(h.bus.published).toEqual([]);
    expect(trigger).not.toHaveBeenCalled();
  });

  it("answers a clash found while applying with 409", async () => {
    await start({
      pendingChanges: mock.PendingChangeService({
        applyPendingChanges: async () => Promise.reject(deploykit.errorf(deploykit.ECONFLICT, deploykit.serviceNameTakenMessage("web"))),
      }),
    });
    const err = await h
      .client()
      .deploy("p1")
      .catch((e) => e);
    expect([err.code, err.message]).toEqual(["conflict", 'A service named "web" already exists in the project.']);
  });

  it("rolls back: checks the project, returns the full service; publishing is the store's", async () => {
    const triggerService = vi.fn();
    const rollback = vi.fn(async () => ({ service: SERVICE, deployment: { ...DEPLOYMENT, id: "d3", status: "pending" as const } }));
    await start({
      services: mock.ServiceService({ findServiceByID: async () => SERVICE }),
      deployments: mock.DeploymentService({ rollback }),
      reconciler: mock.Reconciler({ triggerService }),
    });
    const c = h.client();
    const svc = await c.rollback("p1", "s1", "d1");
    expect(svc.id).toBe("s1");
    expect(rollback).toHaveBeenCalledWith("s1", "d1");
    expect(triggerService).not.toHaveBeenCalled();
    expect(h.bus.published).toEqual([]);
    expect((await c.rollback("p2", "s1", "d1").catch((e) => e)).code).toBe("not_found");
    const missing = (await c.request("POST", "/api/projects/p1/services/s1/rollback", {}).catch((e) => e)) as deploykit.DeployKitError;
    expect(missing.fields).toEqual({ deployment_id: ["Deployment id is required."] });
  });

  it("creates a deployment with the resolved env overlaid by the request", async () => {
    const createDeployment = vi.fn(async (_s: string, i: deploykit.DeploymentCreate) => ({ ...DEPLOYMENT, env_vars: i.env_vars ?? {} }));
    await start({
      services: mock.ServiceService({ findServiceByID: async () => SERVICE }),
      envVars: mock.EnvVarService({ resolveForService: async () => ({ env: { A: "base", B: "b" }, refs: {} }) }),
      deployments: mock.DeploymentService({ createDeployment }),
      reconciler: mock.Reconciler({ triggerService: () => {} }),
    });
    const dep = await h.client().createDeployment("p1", "s1", { image: "nginx:1", env_vars: { A: "over" } });
    expect(dep.env_vars).toEqual({ A: "over", B: "b" });
    expect(
      (
        await h
          .client()
          .createDeployment("p1", "s1", { image: "" })
          .catch((e) => e)
      ).fields,
    ).toEqual({ image: ["Image is required."] });
  });

  it("only shows deployments of the service in the URL", async () => {
    await start({
      services: mock.ServiceService({ findServiceByID: async () => SERVICE }),
      deployments: mock.DeploymentService({ findDeploymentByID: async () => ({ ...DEPLOYMENT, service_id: "other" }) }),
    });
    expect(
      (
        await h
          .client()
          .findDeploymentByID("p1", "s1", "d1")
          .catch((e) => e)
      ).message,
    ).toBe("Deployment not found.");
  });
});

describe("env vars", () => {
  it("stages create/update/delete per scope and checks ownership", async () => {
    const ev: deploykit.EnvVar = {
      id: "e1",
      scope: "group",
      scope_id: "g1",
      key: "K",
      value: "old",
      sealed: false,
      created_at: T0,
      updated_at: T0,
    };
    const append = vi.fn(async (_p: string, _u: string | null, c: deploykit.PendingChangeAppend) => ({
      ...CHANGE,
      op: c.op,
      payload: c.payload ?? {},
    }));
    await start({
      canvas: mock.CanvasService({
        findNodeByID: async (_p, id) => {
          if (id === "g1") return { id, type: "group" } as deploykit.CanvasNode;
          if (id === "n1") return { id, type: "note" } as deploykit.CanvasNode;
          throw deploykit.errorf(deploykit.ENOTFOUND, "Node not found.");
        },
      }),
      envVars: mock.EnvVarService({ findEnvVarByID: async (id) => (id === "e1" ? ev : { ...ev, id, scope: "service", scope_id: "s1" }) }),
      pendingChanges: mock.PendingChangeService({ appendPendingChange: append }),
    });
    const c = h.client();
    const g = { scope: "group" as const, groupID: "g1" };
    expect((await c.updateEnvVar("p1", g, "e1", "new")).payload).toEqual({
      value: "new",
      old_value: "old",
      scope: "group",
      scope_id: "g1",
      key: "K",
    });
    expect((await c.deleteEnvVar("p1", g, "e1")).payload).toEqual({ scope: "group", scope_id: "g1", key: "K", old_value: "old" });
    expect((await c.createEnvVar("p1", g, "NEW", "v")).op).toBe("env_var.create");
    expect(append.mock.calls[2]?.[2]).toEqual({
      op: "env_var.create",
      target_type: "env_var",
      target_id: "g1",
      payload: { scope: "group", key: "NEW", value: "v" },
    });
    expect((await c.createEnvVar("p1", { scope: "group", groupID: "n1" }, "K", "v").catch((e) => e)).message).toBe("Group not found.");
    expect((await c.createEnvVar("p1", { scope: "group", groupID: "zz" }, "K", "v").catch((e) => e)).message).toBe("Group not found.");
    expect((await c.createEnvVar("p1", g, "1BAD", "v").catch((e) => e)).fields).toEqual({ key: [deploykit.ENV_KEY_MESSAGE] });
    const wrongOwner = await c.updateEnvVar("p1", { scope: "group", groupID: "g1" }, "e2", "x").catch((e) => e);
    expect([wrongOwner.code, wrongOwner.message]).toEqual(["not_found", "Env var not found."]);
  });

  it("stages env vars on a pending service and refuses duplicates", async () => {
    const log: deploykit.PendingChange[] = [
      {
        ...CHANGE,
        op: "service.create",
        target_id: undefined,
        target_temp_id: "t1",
        payload: { name: "x", image: "y", env_vars: [{ scope: "service", key: "A", value: "1" }] },
      },
    ];
    await start({
      pendingChanges: mock.PendingChangeService({
        findPendingChanges: async () => log,
        appendPendingChange: async (_p, _u, c) => ({ ...CHANGE, op: c.op, parent_temp_id: c.parent_temp_id, payload: c.payload ?? {} }),
      }),
    });
    const c = h.client();
    expect((await c.createPendingServiceEnvVar("p1", "t1", "B", "2")).parent_temp_id).toBe("t1");
    expect((await c.createPendingServiceEnvVar("p1", "t1", "A", "2").catch((e) => e)).message).toBe(
      'Env var "A" already staged on this service.',
    );
    expect((await c.createPendingServiceEnvVar("p1", "t9", "A", "2").catch((e) => e)).message).toBe("Pending service not found.");
  });
});

describe("presets", () => {
  it("lists the database presets and fills generated secrets freshly on each fetch", async () => {
    await start();
    const c = h.client(MEMBER_TOKEN);
    const list = await c.findPresets();
    expect(list.map((p) => p.id)).toEqual(["mariadb", "meilisearch", "mysql", "postgres", "redis", "typesense"]);
    expect(list.every((p) => (p.volumes ?? []).length === 1 && (p.ports ?? []).length === 1)).toBe(true);
    const a = await c.findPreset("postgres");
    const b = await c.findPreset("postgres");
    const pw = (p: deploykit.Preset) => p.env_vars.find((e) => e.key === "POSTGRES_PASSWORD")?.value ?? "";
    expect(pw(a)).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(pw(a)).not.toBe(pw(b));
    expect(a.env_vars.some((e) => e.generate)).toBe(false);
    expect((await c.findPreset("oracle").catch((e) => e)).message).toBe('Preset "oracle" not found.');
  });
});

describe("service list cache", () => {
  it("reuses a serialized list until a bus event, a write of this server, or the TTL", async () => {
    let now = 0;
    let name = "web";
    const findServices = vi.fn(async () => ({ items: [{ ...SERVICE, name }], total: 1 }));
    await start({
      services: mock.ServiceService({ findServices }),
      pendingChanges: mock.PendingChangeService({
        applyPendingChanges: async () => ({
          applied_count: 0,
          temp_id_to_service_id: {},
          redeployed_service_ids: [],
          created_deployments: [],
        }),
      }),
      now: () => new Date(now),
    });
    const c = h.client();
    const names = async () => (await c.findServices("p1")).items.map((s) => s.name);
    expect(await names()).toEqual(["web"]);
    name = "api";
    expect(await names()).toEqual(["web"]);
    expect(findServices).toHaveBeenCalledTimes(1);
    h.bus.publish(deploykit.newEvent(deploykit.EVENT_SERVICE_UPDATED, "p1", { service: SERVICE }));
    expect(await names()).toEqual(["api"]);
    name = "db";
    await c.deploy("p1");
    expect(await names()).toEqual(["db"]);
    name = "cache";
    now += 1000;
    expect(await names()).toEqual(["cache"]);
    // Another page or another project is another entry.
    await c.findServices("p1", { limit: 5 });
    await c.findServices("p2");
    expect(findServices).toHaveBeenCalledTimes(6);
  });
});

describe("cron runs", () => {
  const RUN: deploykit.ServiceRun = {
    id: "r1",
    service_id: "s1",
    deployment_id: "d1",
    trigger: "schedule",
    status: "failed",
    started_at: T0,
    finished_at: T0,
    exit_code: 3,
    reason: "Timed out after 60 s: stopped.",
    timed_out: true,
    log_tail: "hi",
    docker_container_id: "abc123",
  };

  it("lists a service's runs paged, without the container id", async () => {
    const findRuns = vi.fn(async () => ({ items: [RUN], total: 7 }));
    await start({
      services: mock.ServiceService({ findServiceByID: async () => SERVICE }),
      runs: mock.ServiceRunService({ findRuns }),
    });
    const page = await h.client().findRuns("p1", "s1", { offset: 2, limit: 1 });
    expect(findRuns).toHaveBeenCalledWith({ service_id: "s1", offset: 2, limit: 1 });
    expect(page.total).toBe(7);
    expect(page.items[0]).toEqual({
      id: "r1",
      service_id: "s1",
      deployment_id: "d1",
      trigger: "schedule",
      status: "failed",
      started_at: T0,
      finished_at: T0,
      exit_code: 3,
      reason: "Timed out after 60 s: stopped.",
      timed_out: true,
      log_tail: "hi",
    });
  });

  it("Run now answers 201 with the run, and 422 from the scheduler as a field-less EINVALID", async () => {
    const runNow = vi.fn(async () => ({ ...RUN, status: "running" as const, finished_at: undefined, exit_code: undefined }));
    await start({ services: mock.ServiceService({ findServiceByID: async () => SERVICE }), cron: mock.CronRunner({ runNow }) });
    const run = await h.client().runNow("p1", "s1");
    expect(run).toMatchObject({ id: "r1", status: "running", finished_at: null, exit_code: null });
    expect(runNow).toHaveBeenCalledWith("s1");
    await h.close();
    await start({
      services: mock.ServiceService({ findServiceByID: async () => SERVICE }),
      cron: mock.CronRunner({
        runNow: async () => Promise.reject(deploykit.errorf(deploykit.EINVALID, "Only a cron service (one with a schedule) has runs.")),
      }),
    });
    const err = (await h
      .client()
      .runNow("p1", "s1")
      .then(
        () => null,
        (e: unknown) => e,
      )) as deploykit.DeployKitError;
    expect([err.code, err.message]).toEqual([deploykit.EINVALID, "Only a cron service (one with a schedule) has runs."]);
  });
});
