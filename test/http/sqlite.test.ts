/**
 * The HTTP layer over the real SQLite services and the real EventBus (Docker-facing pieces mocked):
 * the flows a user goes through, end to end inside one process.
 */
import { beforeEach, describe, expect, it, type vi } from "vitest";
import { Client } from "../../src/http/index.ts";
import * as deploykit from "../../src/index.ts";
import * as sqlite from "../../src/sqlite/index.ts";
import { type Harness, waitUntil } from "./harness.ts";
import { ADMIN, useSQLiteServer } from "./sqlite-server.ts";

const server = useSQLiteServer();
const { admin, ws } = server;
let h: Harness;
let db: sqlite.DB;
let events: deploykit.Event[];
let trigger: ReturnType<typeof vi.fn<() => void>>;
beforeEach(() => {
  ({ h, db, events, trigger } = server);
});

describe("accounts", () => {
  it("registers the first admin only, logs in, rotates refresh tokens with reuse detection", async () => {
    const anon = h.client(null);
    expect(await anon.canRegister()).toBe(true);
    const { user, tokens } = await anon.register(ADMIN);
    expect(user.role).toBe("admin");
    expect(user).not.toHaveProperty("password_hash");
    expect(await anon.canRegister()).toBe(false);
    const closed = await anon.register({ ...ADMIN, email: "eve@example.com" }).catch((e) => e);
    expect([closed.code, closed.message]).toEqual(["conflict", "Registration is closed."]);

    const bad = await anon.login(ADMIN.email, "wrong-password").catch((e) => e);
    expect([bad.code, bad.message]).toEqual(["unauthorized", "Invalid email or password."]);
    const t2 = await anon.login(` ${ADMIN.email.toUpperCase()} `, ADMIN.password).catch((e) => e);
    expect(typeof t2.access_token).toBe("string");

    const rotated = await anon.refresh(tokens.refresh_token);
    expect((await new Client(h.url, { token: rotated.access_token }).me()).id).toBe(user.id);
    const reuse = await anon.refresh(tokens.refresh_token).catch((e) => e);
    expect(reuse.code).toBe("unauthorized");
    // Reuse revoked the whole session: the rotated pair is dead too.
    expect((await new Client(h.url, { token: rotated.access_token }).me().catch((e) => e)).code).toBe("unauthorized");
  });

  it("ends the current session on logout and every session on logout-all", async () => {
    const c = await admin();
    const s1 = new Client(h.url, { token: (await c.login(ADMIN.email, ADMIN.password)).access_token });
    const s2 = new Client(h.url, { token: (await c.login(ADMIN.email, ADMIN.password)).access_token });
    await s1.logout();
    expect((await s1.me().catch((e) => e)).code).toBe("unauthorized");
    expect((await s2.me()).email).toBe(ADMIN.email);
    await s2.logoutAll();
    expect((await s2.me().catch((e) => e)).code).toBe("unauthorized");
    expect((await c.me().catch((e) => e)).code).toBe("unauthorized");
  });

  it("manages API keys that work as bearer tokens until revoked", async () => {
    const c = await admin();
    const key = await c.createAPIKey({ description: "CI" });
    expect(key.token.startsWith(deploykit.API_KEY_PREFIX)).toBe(true);
    const byKey = new Client(h.url, { token: key.token });
    expect((await byKey.findProjects()).total).toBe(0);
    const listed = await c.findAPIKeys();
    expect(listed.map((k) => k.id)).toEqual([key.id]);
    expect(listed[0]).not.toHaveProperty("token");
    expect((await c.createAPIKey({ description: "" }).catch((e) => e)).fields).toEqual({ description: ["Description is required."] });
    await c.deleteAPIKey(key.id);
    expect((await byKey.findProjects().catch((e) => e)).code).toBe("unauthorized");
  });

  it("lets admins manage users and keeps members out of admin routes", async () => {
    const c = await admin();
    const member = await c.createUser({ email: "max@example.com", name: "Max", password: "password-max", role: "member" });
    expect(
      (await c.createUser({ email: "x@example.com", name: "X", password: "password-x", role: "root" }).catch((e) => e)).fields,
    ).toEqual({
      role: ["Role must be 'admin' or 'member'."],
    });
    const m = new Client(h.url, { token: (await c.login(member.email, "password-max")).access_token });
    expect((await m.findUsers().catch((e) => e)).code).toBe("forbidden");
    expect((await m.updateSettings({ instance_name: "Mine" }).catch((e) => e)).code).toBe("forbidden");
    expect((await m.getSettings()).instance_name).toBe("DeployKit");
    expect((await c.updateSettings({ instance_name: "Prod" })).instance_name).toBe("Prod");
    const me = await c.me();
    expect((await c.deleteUser(me.id).catch((e) => e)).message).toBe("You cannot delete yourself.");
    const page = await c.findUsers({ limit: 1 });
    expect([page.items.length, page.total]).toEqual([1, 2]);
    await c.deleteUser(member.id);
    expect((await m.me().catch((e) => e)).code).toBe("unauthorized");
  });
});

describe("projects, staging and deploy", () => {
  it("pages the staged-edit log like every other list, by seq", async () => {
    const c = await admin();
    const p = await c.createProject("Paged");
    for (let i = 0; i < 25; i++) await c.createEnvVar(p.id, { scope: "project" }, `K${i}`, "v");
    const first = await c.request<{ data: deploykit.PendingChange[]; total_count: number; offset: number; limit: number }>(
      "GET",
      `/api/projects/${p.id}/pending-changes`,
    );
    expect([first.data.length, first.total_count, first.offset, first.limit]).toEqual([20, 25, 0, 20]);
    const rest = await c.findPendingChangePage(p.id, { offset: 20, limit: 10 });
    expect(rest.total).toBe(25);
    expect(rest.items.map((x) => x.payload.key)).toEqual(["K20", "K21", "K22", "K23", "K24"]);
    const all = await c.findPendingChanges(p.id);
    expect(all.map((x) => x.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it("stages a service and env vars, deploys, then rolls back", async () => {
    const c = await admin();
    const p = await c.createProject("Shop");
    expect(trigger).toHaveBeenCalled();
    const pc = await c.createService(p.id, {
      name: "web",
      image: "deploykit-test/greeter:1",
      ports: [{ container_port: 8080, host_port: 18081 }],
      env_vars: [{ key: "GREETING", value: "hello" }],
    });
    expect(pc.op).toBe("service.create");
    const dup = await c.createService(p.id, { name: "WEB", image: "x" }).catch((e) => e);
    expect(dup.code).toBe("invalid");
    const dup2 = await c.createService(p.id, { name: "web", image: "x" }).catch((e) => e);
    expect([dup2.code, dup2.message]).toEqual(["conflict", 'A service named "web" already exists in the project.']);
    await c.createEnvVar(p.id, { scope: "project" }, "REGION", "eu");
    expect((await c.findPendingChanges(p.id)).map((x) => x.op)).toEqual(["service.create", "env_var.create"]);

    const applied = await c.deploy(p.id);
    expect(applied.applied_count).toBe(2);
    const serviceID = applied.temp_id_to_service_id[pc.target_temp_id as string] as string;
    const svc = await c.findServiceByID(p.id, serviceID);
    expect(svc).toMatchObject({ name: "web", status: "deploying", ports: [{ container_port: 8080, host_port: 18081 }] });
    await waitUntil(() => events.some((e) => e.type === "deployment.created"));
    const deps = await c.findDeployments(p.id, serviceID);
    expect(deps.items[0]?.env_vars).toEqual({ GREETING: "hello", REGION: "eu" });
    expect(deps.items[0]).not.toHaveProperty("baseline_restart_count");
    const listed = await c.findEnvVars(p.id, { scope: "project" });
    expect(listed).toMatchObject([{ key: "REGION", masked: true, sealed: false }]);
    expect(listed[0]).not.toHaveProperty("value");
    expect(await c.revealEnvVar(p.id, { scope: "project" }, listed[0]?.id as string)).toMatchObject({ key: "REGION", value: "eu" });

    await c.updateService(p.id, serviceID, { replicas: 2, resources: { memory_mb: 64 } });
    const second = await c.deploy(p.id);
    expect(second.created_deployments.map((d) => [d.replicas, d.resources])).toEqual([[2, { memory_mb: 64 }]]);
    expect((await c.findServiceByID(p.id, serviceID)).replicas).toBe(2);

    const first = deps.items[0] as deploykit.Deployment;
    const rolled = await c.rollback(p.id, serviceID, first.id);
    expect(rolled.id).toBe(serviceID);
    // Published after commit by the store (one per Deploy and one for the rollback); the reconciler reacts to it.
    await waitUntil(() => events.filter((e) => e.type === "deployment.created").length === 3);
    const after = await c.findDeployments(p.id, serviceID);
    expect(after.total).toBe(3);
    expect(after.items[0]).toMatchObject({ replicas: 1, env_vars: first.env_vars, status: "pending" });

    const other = await c.createProject("Other");
    expect((await c.findServiceByID(other.id, serviceID).catch((e) => e)).code).toBe("not_found");
    expect((await c.rollback(other.id, serviceID, first.id).catch((e) => e)).code).toBe("not_found");

    await c.deleteService(p.id, serviceID);
    expect((await c.deleteService(p.id, serviceID).catch((e) => e)).code).toBe("conflict");
    await c.deploy(p.id);
    expect((await c.findServices(p.id)).total).toBe(0);
    await c.deleteProject(p.id);
    expect((await c.findProjectByID(p.id).catch((e) => e)).code).toBe("not_found");
  });

  it("keeps the log and answers 409 when applying finds a clash", async () => {
    const c = await admin();
    const p = await c.createProject("Shop");
    await c.createService(p.id, { name: "web", image: "nginx" });
    // Created out of band after staging, so only Apply can notice.
    await new sqlite.ServiceService(db).createService(p.id, { name: "web", image: "nginx" });
    const err = await c.deploy(p.id).catch((e) => e);
    expect([err.code, err.message]).toEqual(["conflict", 'A service named "web" already exists in the project.']);
    expect((await c.findPendingChanges(p.id)).map((x) => x.op)).toEqual(["service.create"]);
  });
});

describe("domains", () => {
  it("stages, lists, deploys and removes domains over HTTP and the canvas, with the settings behind generate", async () => {
    const c = await admin();
    const p = await c.createProject("Shop");
    await c.createService(p.id, { name: "web", image: "nginx:1.27", ports: [{ container_port: 8080 }] });
    await c.deploy(p.id);
    const svc = (await c.findServices(p.id)).items[0] as deploykit.Service;

    const pc = await c.createDomain(p.id, svc.id, { hostname: "Shop.Example.com" });
    expect(pc).toMatchObject({
      op: "domain.create",
      target_type: "service",
      target_id: svc.id,
      payload: { hostname: "shop.example.com", target_port: 8080 },
    });
    expect(await c.findDomains(p.id, svc.id)).toMatchObject([{ id: pc.id, hostname: "shop.example.com", staged: true, status: "pending" }]);
    const bad = await c.createDomain(p.id, svc.id, { hostname: "*.example.com" }).catch((e) => e);
    expect([bad.code, Object.keys(bad.fields ?? {})]).toEqual(["invalid", ["hostname"]]);
    const gen = await c.createDomain(p.id, svc.id, { generate: true }).catch((e) => e);
    expect([gen.code, Object.keys(gen.fields ?? {})]).toEqual(["invalid", ["generate"]]);
    // Cancelling a staged create removes the entry.
    expect(await c.deleteDomain(p.id, svc.id, pc.id)).toBeUndefined();
    expect(await c.findPendingChanges(p.id)).toEqual([]);

    const bad2 = await c.updateSettings({ base_domain: "not a domain" }).catch((e) => e);
    expect(Object.keys(bad2.fields ?? {})).toEqual(["base_domain"]);
    expect((await c.updateSettings({ base_domain: "apps.example.com", internal_hostnames: ["intra.example"] })).base_domain).toBe(
      "apps.example.com",
    );
    const a = await ws(c, p.id);
    a.send("domain:create", { service_id: svc.id, generate: true });
    const staged = (await a.next("domain:staged")).payload as { pending_change: deploykit.PendingChange };
    expect(staged.pending_change.payload).toEqual({ hostname: `web-${p.slug}.apps.example.com`, target_port: 8080, generated: true });
    a.send("domain:create", { service_id: svc.id, generate: true });
    expect((await a.next("domain:error")).payload).toEqual({
      message: `Hostname "web-${p.slug}.apps.example.com" is already used by project "Shop".`,
    });
    await c.deploy(p.id);
    const [applied] = await c.findDomains(p.id, svc.id);
    expect(applied).toMatchObject({ hostname: `web-${p.slug}.apps.example.com`, generated: true, status: "pending", tls: "acme" });

    const other = await c.createProject("Blog");
    await c.createService(other.id, { name: "site", image: "nginx:1.27", ports: [{ container_port: 80 }] });
    await c.deploy(other.id);
    const site = (await c.findServices(other.id)).items[0] as deploykit.Service;
    const clash = await c.createDomain(other.id, site.id, { hostname: applied?.hostname as string }).catch((e) => e);
    expect([clash.code, clash.message]).toEqual(["conflict", `Hostname "${applied?.hostname}" is already used by project "Shop".`]);
    // Another project's domain id is not found through this service.
    expect((await c.deleteDomain(other.id, site.id, applied?.id as string).catch((e) => e)).code).toBe("not_found");

    a.send("domain:delete", { domain_id: applied?.id });
    expect(((await a.next("domain:staged")).payload as { pending_change: deploykit.PendingChange }).pending_change.op).toBe(
      "domain.delete",
    );
    expect((await c.findDomains(p.id, svc.id))[0]?.staged_delete).toBe(true);
    await c.deploy(p.id);
    expect(await c.findDomains(p.id, svc.id)).toEqual([]);
    const off = await c.proxyRootCertificate().catch((e) => e);
    expect([off.code, off.message]).toEqual(["not_found", "The proxy is off (-proxy=false)."]);
  });
});

describe("canvas over the real database", () => {
  it("creates a service from the canvas, deploys over HTTP and tells every client", async () => {
    const c = await admin();
    const p = await c.createProject("Shop");
    const a = await ws(c, p.id);
    const b = await ws(c, p.id);
    a.send("node:upsert", { id: "g1", type: "group", label: "Backend", position_x: 0, position_y: 0 });
    await b.next("node:upserted");
    a.send("service:create", {
      draft_id: "d1",
      name: "db",
      image: "postgres:16",
      x: 10,
      y: 10,
      env_vars: [{ key: "POSTGRES_DB", value: "app" }],
    });
    const created = (await a.next("service:created")).payload as { node: deploykit.CanvasNode };
    await b.next("pending-change:added");
    a.send("node:move", { positions: [{ id: created.node.id, position_x: 99, position_y: 42 }] });
    expect((await b.next("node:moved")).payload).toMatchObject({ positions: [{ id: created.node.id, position_x: 99, position_y: 42 }] });

    const applied = await c.deploy(p.id);
    const state = (await b.next("canvas:state")).payload as deploykit.CanvasState;
    const node = state.nodes.find((n) => n.id === created.node.id);
    expect(node).toMatchObject({ service_id: applied.temp_id_to_service_id[created.node.id], position_x: 99 });
    expect((await b.next("pending-changes:applied")).payload).toMatchObject({ applied_count: 1 });
    expect((await b.next("deployment:created")).payload).toMatchObject({ deployment: { image: "postgres:16" } });

    a.send("node:delete", { id: created.node.id });
    expect((await b.next("pending-change:added")).payload).toMatchObject({ op: "service.delete" });
    a.send("node:delete", { id: created.node.id });
    expect((await a.next("error")).payload).toEqual({ message: "This service is already staged for deletion." });
    await c.discardPendingChanges(p.id);
    await b.next("canvas:state");
    await b.next("pending-changes:cleared");
  });

  it("disconnects a user deleted by an admin at their next message", async () => {
    const c = await admin();
    const p = await c.createProject("Shop");
    const m = await c.createUser({ email: "max@example.com", name: "Max", password: "password-max" });
    const mc = new Client(h.url, { token: (await c.login(m.email, "password-max")).access_token });
    const s = await ws(mc, p.id);
    await c.deleteUser(m.id);
    s.send("cursor:move", { x: 1, y: 1 });
    await s.closed();
    expect(s.closeCode).toBe(4001);
  });
});

describe("hostile input", () => {
  it("answers every route with 4xx and a message for malformed input, never 500", async () => {
    const c = await admin();
    const p = await c.createProject("Shop");
    const doc = (await (await fetch(`${h.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const bodies = [
      "{}",
      "[]",
      '"text"',
      "42",
      "null",
      '{"name":null,"image":5,"ports":"80","env_vars":{"A":1}}',
      '{"name":"\\u0000\\u0007","value":"\\u0000","key":"A B"}',
      `{"name":"${"é".repeat(2000)}"}`,
      '{"ports":[{"container_port":-1,"host_port":70000,"protocol":"sctp"}],"replicas":1.5,"resources":{"memory_mb":-5,"cpus":"x"}}',
      '{"volumes":[{"name":"../etc","mount_path":"/"}],"icon_url":"javascript:alert(1)"}',
      '{"positions":[{"id":"x"}],"deployment_id":"../../x","refresh_token":{"a":1},"expires_at":"yesterday"}',
      JSON.stringify({ a: { b: { c: { d: { e: { f: { g: [[[[[[1]]]]]] } } } } } } }),
    ];
    const ids = ["nope", p.id, "%00", "x".repeat(300)];
    let checked = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods).map((m) => m.toUpperCase())) {
        if (method === "HEAD" || path.startsWith("/api/auth/")) continue;
        for (const id of ids) {
          // Deleting the real project is valid input; it is checked last instead.
          if (method === "DELETE" && path === "/api/projects/{projectId}" && id === p.id) continue;
          const url = path.replace(/\{[^}]+\}/g, id);
          for (const body of method === "GET" || method === "DELETE" ? [undefined] : bodies) {
            const r = await fetch(`${h.url}${url}?offset=x`, {
              method,
              headers: { authorization: `Bearer ${c.token}`, ...(body ? { "content-type": "application/json" } : {}) },
              body,
            });
            const text = await r.text();
            expect([r.status < 500, `${method} ${url} ${body ?? ""} → ${r.status} ${text.slice(0, 200)}`]).toEqual([
              true,
              `${method} ${url} ${body ?? ""} → ${r.status} ${text.slice(0, 200)}`,
            ]);
            if (r.status >= 400) expect(JSON.parse(text).message).toEqual(expect.any(String));
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
    // The project survived all of it.
    expect((await c.findProjectByID(p.id)).name).toBe("Shop");
  }, 120_000);
});
