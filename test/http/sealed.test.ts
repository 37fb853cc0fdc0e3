/**
 * Sealed and masked variables (issue 14) through the HTTP API and the canvas socket, over the real
 * SQLite services: a sealed value is never in a response, a broadcast or a deployment as presented.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { Client } from "../../src/http/index.ts";
import * as deploykit from "../../src/index.ts";
import * as sqlite from "../../src/sqlite/index.ts";
import { type Harness, waitUntil } from "./harness.ts";
import { useSQLiteServer } from "./sqlite-server.ts";

const server = useSQLiteServer();
const { admin, ws } = server;
let h: Harness;
let db: sqlite.DB;
beforeEach(() => {
  ({ h, db } = server);
});

const SECRET = "s3aled-v4lue-never-shown-9b1e";

/** Every message and response body seen, as text: a sealed value must appear in none. */
function leaks(...texts: unknown[]): boolean {
  return texts.some((t) => JSON.stringify(t).includes(SECRET));
}

describe("sealed variables", () => {
  it("are write-only: staged, broadcast, listed, deployed and replaced without the value ever coming back", async () => {
    const c = await admin();
    const p = await c.createProject("Shop");
    const sock = await ws(c, p.id);
    const pc = await c.createService(p.id, { name: "web", image: "nginx:1", env_vars: [{ key: "PLAIN", value: "visible" }] });
    const created = await c.createEnvVar(p.id, { scope: "project" }, "DB_PASSWORD", SECRET, { sealed: true });
    expect(created.payload).toEqual({ scope: "project", key: "DB_PASSWORD", sealed: true });
    const staged = await c.findPendingChanges(p.id);
    const deployed = await c.deploy(p.id);
    const serviceID = deployed.temp_id_to_service_id[pc.target_temp_id as string] as string;

    const listed = await c.findEnvVars(p.id, { scope: "project" });
    expect(listed).toEqual([expect.objectContaining({ key: "DB_PASSWORD", sealed: true, masked: true })]);
    expect(listed[0]).not.toHaveProperty("value");
    const id = listed[0]?.id as string;
    const reveal = await c.revealEnvVar(p.id, { scope: "project" }, id).catch((e) => e);
    expect([reveal.code, reveal.message]).toEqual(["forbidden", deploykit.REVEAL_SEALED_MESSAGE]);
    const deps = await c.findDeployments(p.id, serviceID);
    expect(deps.items[0]?.env_vars).toEqual({ PLAIN: "visible" });
    expect(deps.items[0]?.sealed_keys).toEqual(["DB_PASSWORD"]);
    // Injected all the same: the snapshot the reconciler starts containers from has it.
    const inner = await new sqlite.DeploymentService(db).findDeploymentByID(deps.items[0]?.id as string);
    expect(inner.env_vars.DB_PASSWORD).toBe(SECRET);

    const unseal = await c.updateEnvVar(p.id, { scope: "project" }, id, "x", { sealed: false }).catch((e) => e);
    expect([unseal.code, unseal.fields]).toEqual(["invalid", { sealed: [deploykit.UNSEAL_MESSAGE] }]);
    const replaced = await c.updateEnvVar(p.id, { scope: "project" }, id, `${SECRET}-2`);
    expect(replaced.payload).toEqual({ scope: "project", scope_id: p.id, key: "DB_PASSWORD", sealed: true });
    const removed = await c.deleteEnvVar(p.id, { scope: "project" }, id);
    await c.deploy(p.id);
    expect((await new sqlite.EnvVarService(db).findEnvVars({ key: "DB_PASSWORD" })).length).toBe(0);

    await waitUntil(() => sock.messages.some((m) => m.type === "pending-change:added" && JSON.stringify(m).includes("env_var.delete")));
    expect(leaks(created, staged, deployed, listed, deps, replaced, removed, sock.messages)).toBe(false);
  });

  it("stay sealed when staged inside a new service over the canvas socket, as presets send them", async () => {
    const c = await admin();
    const p = await c.createProject("Shop");
    const preset = await c.findPreset("postgres");
    const password = preset.env_vars.find((e) => e.key === "POSTGRES_PASSWORD");
    // The preset's response is the one time the generated password is shown.
    expect(password).toMatchObject({ sealed: true, value: expect.stringMatching(/^\w{24}$/) });
    const sock = await ws(c, p.id);
    const watcher = await ws(c, p.id);
    sock.send("service:create", {
      draft_id: "d1",
      name: "db",
      image: "postgres:16",
      env_vars: [
        { key: "POSTGRES_USER", value: "app" },
        { key: "POSTGRES_PASSWORD", value: SECRET, sealed: true },
      ],
    });
    const done = (await sock.next("service:created")).payload as { pending_change: { payload: { env_vars: unknown[] } } };
    expect(done.pending_change.payload.env_vars).toEqual([
      { scope: "service", key: "POSTGRES_USER", value: "app" },
      { scope: "service", key: "POSTGRES_PASSWORD", sealed: true },
    ]);
    await watcher.next("pending-change:added");
    await c.deploy(p.id);
    const vars = await new sqlite.EnvVarService(db).findEnvVars({ key: "POSTGRES_PASSWORD" });
    expect(vars.map((v) => [v.sealed, v.value])).toEqual([[true, SECRET]]);
    expect(leaks(sock.messages, watcher.messages, await c.findPendingChanges(p.id))).toBe(false);
  });

  it("masks every listed value; reveal returns one (its audit line is logged by the route)", async () => {
    const c = await admin();
    const p = await c.createProject("Shop");
    await c.createEnvVar(p.id, { scope: "project" }, "REGION", "eu");
    await c.deploy(p.id);
    const [ev] = await c.findEnvVars(p.id, { scope: "project" });
    expect(ev).toMatchObject({ key: "REGION", masked: true, sealed: false });
    expect(ev).not.toHaveProperty("value");
    expect(await c.revealEnvVar(p.id, { scope: "project" }, ev?.id as string)).toEqual({ id: ev?.id, key: "REGION", value: "eu" });
    const missing = await c.revealEnvVar(p.id, { scope: "project" }, "nope").catch((e) => e);
    expect(missing.code).toBe("not_found");
  });

  it("run-env (deploykit run): admins get sealed values, members only their keys; references resolved, never cached", async () => {
    const c = await admin();
    const p = await c.createProject("Shop");
    const pc = await c.createService(p.id, { name: "web", image: "nginx:1", env_vars: [{ key: "PLAIN", value: "visible" }] });
    await c.createEnvVar(p.id, { scope: "project" }, "DB_PASSWORD", SECRET, { sealed: true });
    const deployed = await c.deploy(p.id);
    const serviceID = deployed.temp_id_to_service_id[pc.target_temp_id as string] as string;
    const ref = await c.createEnvVar(p.id, { scope: "service", serviceID }, "SELF", "${{PLAIN}}");
    expect(ref.op).toBe("env_var.create");
    await c.deploy(p.id);

    const asAdmin = await c.findRunEnv(p.id, serviceID);
    expect(asAdmin).toEqual({ env: { PLAIN: "visible", DB_PASSWORD: SECRET, SELF: "visible" }, sealed_omitted: [], problems: [] });
    const raw = await fetch(`${h.url}/api/projects/${p.id}/services/${serviceID}/run-env`, {
      headers: { authorization: `Bearer ${c.token}` },
    });
    expect(raw.headers.get("cache-control")).toBe("no-store");

    const m = await c.createUser({ email: "max@example.com", name: "Max", password: "password-max", role: "member" });
    const mc = new Client(h.url, { token: (await c.login(m.email, "password-max")).access_token });
    const asMember = await mc.findRunEnv(p.id, serviceID);
    expect(asMember).toEqual({ env: { PLAIN: "visible", SELF: "visible" }, sealed_omitted: ["DB_PASSWORD"], problems: [] });
    expect(JSON.stringify(asMember)).not.toContain(SECRET);

    const elsewhere = await c.createProject("Other");
    const wrong = await c.findRunEnv(elsewhere.id, serviceID).catch((e) => e);
    expect(wrong.code).toBe("not_found");
    const anonymous = await new Client(h.url).findRunEnv(p.id, serviceID).catch((e) => e);
    expect(anonymous.code).toBe("unauthorized");
  });
});
