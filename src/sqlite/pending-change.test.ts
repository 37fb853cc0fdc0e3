import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { CanvasService } from "./canvas.ts";
import type { DB } from "./db.ts";
import { DeploymentService } from "./deployment.ts";
import { EnvVarService } from "./envvar.ts";
import { PendingChangeService } from "./pending-change.ts";
import { ProjectService } from "./project.ts";
import { ServiceService } from "./service.ts";
import {
  expectError,
  FakeClock,
  mustCreateAuthUser,
  mustCreateEnvVar,
  mustCreateProject,
  mustCreateService,
  mustOpenDB,
} from "./testing.ts";

type Append = deploykit.PendingChangeAppend;

const create = (temp: string, name: string, extra: Record<string, unknown> = {}): Append => ({
  op: "service.create",
  target_type: "service",
  target_temp_id: temp,
  payload: { name, image: "nginx:1.27", ...extra },
});
const update = (id: string, payload: Record<string, unknown>): Append => ({
  op: "service.update",
  target_type: "service",
  target_id: id,
  payload,
});
const del = (id: string): Append => ({ op: "service.delete", target_type: "service", target_id: id });
const envCreate = (scope: string, owner: string, key: string, value: string): Append => ({
  op: "env_var.create",
  target_type: "env_var",
  target_id: owner,
  payload: { scope, key, value },
});
const envCreateFor = (temp: string, key: string, value: string): Append => ({
  op: "env_var.create",
  target_type: "env_var",
  parent_temp_id: temp,
  payload: { scope: "service", key, value },
});
const envUpdate = (id: string, value: string): Append => ({
  op: "env_var.update",
  target_type: "env_var",
  target_id: id,
  payload: { value },
});
const envDelete = (id: string): Append => ({ op: "env_var.delete", target_type: "env_var", target_id: id });

async function setup(opts: { bus?: deploykit.EventBus } = {}) {
  const clock = new FakeClock();
  const db = mustOpenDB({ now: clock.now, ...opts });
  const p = await mustCreateProject(db);
  return {
    db,
    clock,
    p,
    pending: new PendingChangeService(db),
    canvas: new CanvasService(db),
    services: new ServiceService(db),
    deployments: new DeploymentService(db),
    env: new EnvVarService(db),
  };
}

/** A deployed service: applied through the log so it has a node and a first deployment. */
async function mustDeployService(
  db: DB,
  projectID: string,
  name: string,
  extra: Record<string, unknown> = {},
  parentID?: string,
): Promise<{ service: deploykit.Service; deployment: deploykit.Deployment; nodeID: string }> {
  const pending = new PendingChangeService(db);
  const nodeID = `node-${name}`;
  await new CanvasService(db).upsertNode(projectID, {
    id: nodeID,
    type: "service",
    position_x: 0,
    position_y: 0,
    ...(parentID ? { parent_id: parentID } : {}),
  });
  await pending.appendPendingChange(projectID, null, create(nodeID, name, extra));
  const r = await pending.applyPendingChanges(projectID);
  const service = await new ServiceService(db).findServiceByID(r.temp_id_to_service_id[nodeID]!);
  return { service, deployment: r.created_deployments[0]!, nodeID };
}

/** Every row of every table, to prove a failed Apply changed nothing. */
function dump(db: DB): Record<string, unknown[]> {
  const tables = db.read((tx) =>
    tx.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"),
  );
  // Ordered by every column: some tables (metrics) have no rowid.
  const order = (name: string) =>
    db
      .read((tx) => tx.all<{ cid: number }>(`PRAGMA table_info(${name})`))
      .map((c) => String(c.cid + 1))
      .join(", ");
  return Object.fromEntries(
    tables.map(({ name }) => {
      const by = order(name);
      return [name, db.read((tx) => tx.all(`SELECT * FROM ${name} ORDER BY ${by}`))];
    }),
  );
}

describe("PendingChangeService.appendPendingChange", () => {
  it("appends in seq order with who staged it and a normalized payload", async () => {
    const { db, pending, p } = await setup();
    const { user } = await mustCreateAuthUser(db);
    const a = await pending.appendPendingChange(p.id, user.id, {
      op: "project.update",
      target_type: "project",
      payload: { name: " New ", junk: 1 },
    });
    const b = await pending.appendPendingChange(p.id, "ghost-user", create("t1", "web", { extra: "dropped" }));
    expect(a).toMatchObject({ seq: 1, target_id: p.id, payload: { name: "New" }, user_id: user.id });
    expect(b).toMatchObject({ seq: 2, target_temp_id: "t1", payload: { name: "web", image: "nginx:1.27" } });
    expect(b.user_id).toBeUndefined();
    expect(await pending.findPendingChanges(p.id)).toEqual([a, b]);
    expect(await pending.findPendingChangeByID(p.id, b.id)).toEqual(b);
    await expectError(pending.findPendingChangeByID(p.id, "nope"), deploykit.ENOTFOUND, "Pending change not found.");
  });

  it.each([
    [{ op: "service.explode", target_type: "service", target_id: "x" }, deploykit.EINVALID, "Unknown pending change op."],
    [{ op: "service.delete", target_type: "project", target_id: "x" }, deploykit.EINVALID, "Target type does not match the op."],
    [{ op: "service.update", target_type: "service", target_id: "x", payload: [] }, deploykit.EINVALID, "Payload must be a JSON object."],
    [
      { op: "service.create", target_type: "service", payload: { name: "a", image: "b" } },
      deploykit.EINVALID,
      "A new service needs the id of its canvas node.",
    ],
    [{ op: "service.update", target_type: "service", payload: {} }, deploykit.EINVALID, "Pending change has no target."],
    [{ op: "service.update", target_type: "service", target_id: "nope", payload: {} }, deploykit.ENOTFOUND, "Service not found."],
    [{ op: "service.delete", target_type: "service", target_id: "nope" }, deploykit.ENOTFOUND, "Service not found."],
    [
      { op: "env_var.update", target_type: "env_var", target_id: "nope", payload: { value: "x" } },
      deploykit.ENOTFOUND,
      "Env var not found.",
    ],
    [{ op: "env_var.delete", target_type: "env_var", target_id: "nope" }, deploykit.ENOTFOUND, "Env var not found."],
    [
      { op: "env_var.create", target_type: "env_var", payload: { scope: "project", key: "K", value: "v" } },
      deploykit.EINVALID,
      "Pending env var has no target.",
    ],
    [{ op: "project.update", target_type: "project", payload: {} }, deploykit.EINVALID, "Name is required."],
    [{ op: "project.update", target_type: "project", payload: { name: " " } }, deploykit.EINVALID, "Name cannot be empty."],
  ] as const)("refuses %j", async (change, code, message) => {
    const { pending, p } = await setup();
    await expectError(pending.appendPendingChange(p.id, null, change as unknown as Append), code, message);
  });

  it("refuses an unknown project", async () => {
    const { pending } = await setup();
    await expectError(pending.appendPendingChange("nope", null, create("t", "web")), deploykit.ENOTFOUND, "Project not found.");
  });

  it.each([
    ["a project update aimed at another project", "project-other", deploykit.EINVALID, "Target must be the project."],
    ["a non-boolean reparented flag", "reparented", deploykit.EINVALID, "reparented must be a boolean."],
    ["a non-string previous parent", "previous", deploykit.EINVALID, "previous_parent_id must be a string."],
    ["a group-scoped var for a staged service", "temp-scope", deploykit.EINVALID, "Env vars of a new service must have service scope."],
    ["a create on a node linked to a service", "linked-node", deploykit.ECONFLICT, "This canvas node already belongs to a service."],
    ["a create on another project's node", "foreign-node", deploykit.ECONFLICT, "Node id is already used in another project."],
    ["an env var of a bad scope", "bad-scope", deploykit.EINVALID, "Validation failed."],
    ["an env update without a value", "no-value", deploykit.EINVALID, "Validation failed."],
  ] as const)("refuses %s", async (_, kind, code, message) => {
    const { db, pending, canvas, p } = await setup();
    const s = await mustCreateService(db, p.id, { name: "web" });
    const q = await mustCreateProject(db);
    await canvas.upsertNode(p.id, { id: "linked", type: "service", position_x: 0, position_y: 0, service_id: s.id });
    await canvas.upsertNode(q.id, { id: "foreign", type: "service", position_x: 0, position_y: 0 });
    await pending.appendPendingChange(p.id, null, create("t1", "api"));
    const ev = await mustCreateEnvVar(db, { scope: "project", scope_id: p.id, key: "K", value: "v" });
    const changes: Record<typeof kind, Append> = {
      "project-other": { op: "project.update", target_type: "project", target_id: q.id, payload: { name: "x" } },
      reparented: update(s.id, { reparented: "yes" }),
      previous: update(s.id, { reparented: true, previous_parent_id: 5 }),
      "temp-scope": { ...envCreateFor("t1", "K", "v"), payload: { scope: "group", key: "K", value: "v" } },
      "linked-node": create("linked", "other"),
      "foreign-node": create("foreign", "other"),
      "bad-scope": envCreate("planet", p.id, "K2", "v"),
      "no-value": { op: "env_var.update", target_type: "env_var", target_id: ev.id, payload: {} },
    };
    await expectError(pending.appendPendingChange(p.id, null, changes[kind]), code, message);
  });

  it("validates staged service settings with field messages", async () => {
    const { pending, p } = await setup();
    const err = await expectError(
      pending.appendPendingChange(p.id, null, create("t", "Bad Name", { image: "", replicas: -1, env_vars: [{ key: "1X", value: "v" }] })),
      deploykit.EINVALID,
      "Validation failed.",
    );
    expect(err.fields).toEqual({
      name: [deploykit.SERVICE_NAME_MESSAGE],
      image: ["Image is required."],
      replicas: ["Replicas must be a whole number of zero or more."],
      "env_vars[0].key": [deploykit.ENV_KEY_MESSAGE],
    });
  });

  it("checks names over applied and staged services", async () => {
    const { db, pending, p } = await setup();
    const api = await mustCreateService(db, p.id, { name: "api" });
    const taken = (n: string) => deploykit.serviceNameTakenMessage(n);
    await expectError(pending.appendPendingChange(p.id, null, create("t1", "api")), deploykit.ECONFLICT, taken("api"));
    await pending.appendPendingChange(p.id, null, create("t1", "web"));
    await expectError(pending.appendPendingChange(p.id, null, create("t2", "web")), deploykit.ECONFLICT, taken("web"));
    await expectError(pending.appendPendingChange(p.id, null, update(api.id, { name: "web" })), deploykit.ECONFLICT, taken("web"));
    // Renaming to its own name is fine; a staged rename frees the old name, a staged delete frees it too.
    await pending.appendPendingChange(p.id, null, update(api.id, { name: "api" }));
    await pending.appendPendingChange(p.id, null, update(api.id, { name: "backend" }));
    await pending.appendPendingChange(p.id, null, create("t3", "api"));
    await expectError(pending.appendPendingChange(p.id, null, create("t4", "backend")), deploykit.ECONFLICT, taken("backend"));
    await pending.appendPendingChange(p.id, null, del(api.id));
    await pending.appendPendingChange(p.id, null, create("t4", "backend"));
    await expectError(
      pending.appendPendingChange(p.id, null, create("t4", "other")),
      deploykit.ECONFLICT,
      "This canvas node already has a staged service.",
    );
  });

  it("compares names case-insensitively (names applied before DNS rules)", async () => {
    const { db, pending, p } = await setup();
    db.write((tx) =>
      tx.run(
        "INSERT INTO services (id, project_id, name, created_at, updated_at) VALUES ('legacy', ?, 'Legacy', ?, ?)",
        p.id,
        tx.now,
        tx.now,
      ),
    );
    await expectError(
      pending.appendPendingChange(p.id, null, create("t1", "legacy")),
      deploykit.ECONFLICT,
      deploykit.serviceNameTakenMessage("legacy"),
    );
  });

  it("refuses staging a service deletion twice", async () => {
    const { db, pending, p } = await setup();
    const s = await mustCreateService(db, p.id);
    await pending.appendPendingChange(p.id, null, del(s.id));
    await expectError(
      pending.appendPendingChange(p.id, null, del(s.id)),
      deploykit.ECONFLICT,
      "This service is already staged for deletion.",
    );
  });

  it("refuses services and env vars of another project", async () => {
    const { db, pending, p } = await setup();
    const q = await mustCreateProject(db);
    const foreign = await mustCreateService(db, q.id);
    const ev = await mustCreateEnvVar(db, { scope: "project", scope_id: q.id, key: "K", value: "v" });
    await expectError(pending.appendPendingChange(p.id, null, del(foreign.id)), deploykit.ENOTFOUND, "Service not found.");
    await expectError(pending.appendPendingChange(p.id, null, envDelete(ev.id)), deploykit.ENOTFOUND, "Env var not found.");
    await expectError(
      pending.appendPendingChange(p.id, null, envCreate("service", foreign.id, "K", "v")),
      deploykit.ENOTFOUND,
      "Service not found.",
    );
  });

  describe("env key availability (checkEnvVarKeyFree)", () => {
    it.each([
      ["an applied key of the owner is taken", "svc", "K", false, true],
      ["the same key in another scope is free", "project", "K", false, false],
      ["a staged create of the owner takes the key", "svc", "STAGED", false, true],
      ["a staged delete frees the key", "svc", "K", true, false],
      ["project scope checks project keys", "project", "P", false, true],
    ] as const)("%s", async (_, scope, key, stageDelete, taken) => {
      const { db, pending, p } = await setup();
      const s = await mustCreateService(db, p.id);
      const k = await mustCreateEnvVar(db, { scope: "service", scope_id: s.id, key: "K", value: "1" });
      await mustCreateEnvVar(db, { scope: "project", scope_id: p.id, key: "P", value: "1" });
      await pending.appendPendingChange(p.id, null, envCreate("service", s.id, "STAGED", "1"));
      if (stageDelete) await pending.appendPendingChange(p.id, null, envDelete(k.id));
      const owner = scope === "svc" ? s.id : p.id;
      const change = envCreate(scope === "svc" ? "service" : "project", owner, key, "2");
      if (taken)
        await expectError(pending.appendPendingChange(p.id, null, change), deploykit.ECONFLICT, `Env var "${key}" already exists.`);
      else
        expect((await pending.appendPendingChange(p.id, null, change)).payload).toEqual({ scope: change.payload?.scope, key, value: "2" });
    });

    it("checks keys of a staged service, inline and appended", async () => {
      const { pending, p } = await setup();
      await pending.appendPendingChange(p.id, null, create("t1", "web", { env_vars: [{ scope: "service", key: "INLINE", value: "1" }] }));
      await pending.appendPendingChange(p.id, null, envCreateFor("t1", "ADDED", "1"));
      await expectError(
        pending.appendPendingChange(p.id, null, envCreateFor("t1", "INLINE", "2")),
        deploykit.ECONFLICT,
        'Env var "INLINE" already exists.',
      );
      await expectError(
        pending.appendPendingChange(p.id, null, envCreateFor("t1", "ADDED", "2")),
        deploykit.ECONFLICT,
        'Env var "ADDED" already exists.',
      );
      await expectError(
        pending.appendPendingChange(p.id, null, envCreateFor("t9", "X", "1")),
        deploykit.EINVALID,
        "Pending env var references a service (t9) that was never staged for creation.",
      );
    });
  });

  it("fills env update/delete payloads from the row and refuses a second delete", async () => {
    const { db, pending, p } = await setup();
    const ev = await mustCreateEnvVar(db, { scope: "project", scope_id: p.id, key: "K", value: "old" });
    const u = await pending.appendPendingChange(p.id, null, envUpdate(ev.id, "new"));
    expect(u.payload).toEqual({ value: "new", old_value: "old", scope: "project", scope_id: p.id, key: "K" });
    const d = await pending.appendPendingChange(p.id, null, envDelete(ev.id));
    expect(d.payload).toEqual({ old_value: "old", scope: "project", scope_id: p.id, key: "K" });
    await expectError(
      pending.appendPendingChange(p.id, null, envDelete(ev.id)),
      deploykit.ECONFLICT,
      "This env var is already staged for deletion.",
    );
  });
});

describe("PendingChangeService: one container per volume", () => {
  const fieldsOf = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(deploykit.errorCode(err)).toBe(deploykit.EINVALID);
    return (err as deploykit.DeployKitError).fields ?? {};
  };

  it("refuses replicas > 1 with a volume on a staged create, naming both fields", async () => {
    const { pending, p } = await setup();
    const fields = await fieldsOf(
      pending.appendPendingChange(p.id, null, create("t1", "db", { volumes: [{ name: "data", mount_path: "/d" }], replicas: 2 })),
    );
    expect(fields.replicas).toEqual([deploykit.VOLUME_REPLICAS_MESSAGE]);
    expect(fields.volumes).toEqual([deploykit.VOLUME_REPLICAS_MESSAGE]);
  });

  it("refuses the combination across the applied service and earlier staged updates", async () => {
    const { db, pending, p } = await setup();
    const withVolume = await mustDeployService(db, p.id, "db", { volumes: [{ name: "data", mount_path: "/d" }] });
    expect(Object.keys(await fieldsOf(pending.appendPendingChange(p.id, null, update(withVolume.service.id, { replicas: 3 }))))).toEqual([
      "replicas",
      "volumes",
    ]);
    const scaled = await mustDeployService(db, p.id, "web", { replicas: 3 });
    await pending.appendPendingChange(p.id, null, update(scaled.service.id, { replicas: 1 }));
    // Replicas 1 is staged first, so the volume is fine; going back to 3 on top of it is not.
    await pending.appendPendingChange(p.id, null, update(scaled.service.id, { volumes: [{ name: "v", mount_path: "/v" }] }));
    await fieldsOf(pending.appendPendingChange(p.id, null, update(scaled.service.id, { replicas: 2 })));
    // Renames and other settings of an older replicas > 1 + volume service are not blocked.
    await pending.appendPendingChange(p.id, null, update(withVolume.service.id, { stop_grace_seconds: 60 }));
  });

  it("stages stop_grace_seconds into the next deployment and validates its range", async () => {
    const { db, pending, p } = await setup();
    const { service } = await mustDeployService(db, p.id, "db", { volumes: [{ name: "data", mount_path: "/d" }] });
    expect(service.stop_grace_seconds).toBe(deploykit.DEFAULT_STOP_GRACE_SECONDS);
    expect(Object.keys(await fieldsOf(pending.appendPendingChange(p.id, null, update(service.id, { stop_grace_seconds: 9999 }))))).toEqual([
      "stop_grace_seconds",
    ]);
    await pending.appendPendingChange(p.id, null, update(service.id, { stop_grace_seconds: 90 }));
    const r = await pending.applyPendingChanges(p.id);
    expect(r.redeployed_service_ids).toEqual([service.id]);
    expect(r.created_deployments[0]).toMatchObject({ stop_grace_seconds: 90 });
  });
});

describe("PendingChangeService: health check", () => {
  const fieldsOf = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(deploykit.errorCode(err)).toBe(deploykit.EINVALID);
    return (err as deploykit.DeployKitError).fields ?? {};
  };

  it("stages the path and timeout, redeploys only when they change, and stores them on the deployment and the service", async () => {
    const { db, pending, p, services } = await setup();
    const { service } = await mustDeployService(db, p.id, "web", { ports: [{ container_port: 8080 }] });
    expect(service).toMatchObject({ healthcheck_path: null, healthcheck_timeout_seconds: deploykit.DEFAULT_HEALTHCHECK_TIMEOUT_SECONDS });
    expect(
      Object.keys(await fieldsOf(pending.appendPendingChange(p.id, null, update(service.id, { healthcheck_path: "healthz" })))),
    ).toEqual(["healthcheck_path"]);
    expect(
      Object.keys(await fieldsOf(pending.appendPendingChange(p.id, null, update(service.id, { healthcheck_timeout_seconds: 0 })))),
    ).toEqual(["healthcheck_timeout_seconds"]);
    await pending.appendPendingChange(p.id, null, update(service.id, { healthcheck_path: "/healthz", healthcheck_timeout_seconds: 30 }));
    const r = await pending.applyPendingChanges(p.id);
    expect(r.redeployed_service_ids).toEqual([service.id]);
    expect(r.created_deployments[0]).toMatchObject({ healthcheck_path: "/healthz", healthcheck_timeout_seconds: 30 });
    expect(await services.findServiceByID(service.id)).toMatchObject({ healthcheck_path: "/healthz", healthcheck_timeout_seconds: 30 });
    // The same value again: the next deployment would not differ, so nothing is redeployed.
    await pending.appendPendingChange(p.id, null, update(service.id, { healthcheck_path: "/healthz" }));
    expect((await pending.applyPendingChanges(p.id)).redeployed_service_ids).toEqual([]);
    // null turns it off again.
    await pending.appendPendingChange(p.id, null, update(service.id, { healthcheck_path: null }));
    const r3 = await pending.applyPendingChanges(p.id);
    expect(r3.redeployed_service_ids).toEqual([service.id]);
    expect(r3.created_deployments[0]?.healthcheck_path).toBeUndefined();
    expect((await services.findServiceByID(service.id)).healthcheck_path).toBeNull();
  });

  it.for([-1, 301, 1.5, "5", null])("refuses drain_seconds %j with the field's message", async (bad) => {
    const { db, pending, p } = await setup();
    const { service } = await mustDeployService(db, p.id, "web");
    expect(await fieldsOf(pending.appendPendingChange(p.id, null, update(service.id, { drain_seconds: bad })))).toEqual({
      drain_seconds: ["Drain time must be a whole number of seconds between 0 and 300."],
    });
  });

  it("stages drain_seconds and applies it to the service without a new deployment (it is read at each switch-over)", async () => {
    const { db, pending, p, services } = await setup();
    const { service } = await mustDeployService(db, p.id, "web");
    expect(service.drain_seconds).toBe(deploykit.DEFAULT_DRAIN_SECONDS);
    for (const seconds of [0, 300, 30]) {
      await pending.appendPendingChange(p.id, null, update(service.id, { drain_seconds: seconds }));
      const r = await pending.applyPendingChanges(p.id);
      expect(r.created_deployments).toEqual([]);
      expect((await services.findServiceByID(service.id)).drain_seconds).toBe(seconds);
    }
  });
});

describe("PendingChangeService: start command", () => {
  it("stages an argv, resolves ${{VAR}} from the service's variables into the deployment, and clears back to the image's", async () => {
    const { db, pending, p, services } = await setup();
    await pending.appendPendingChange(
      p.id,
      null,
      create("t-r", "cache", {
        image: "redis:7",
        start_command: ["redis-server", "--requirepass", "${{REDIS_PASSWORD}}", "--x", "${{MISSING}}"],
        env_vars: [{ scope: "service", key: "REDIS_PASSWORD", value: "s3cret" }],
      }),
    );
    const r = await pending.applyPendingChanges(p.id);
    expect(r.created_deployments[0]?.start_command).toEqual(["redis-server", "--requirepass", "s3cret", "--x", "${{MISSING}}"]);
    const id = r.temp_id_to_service_id["t-r"]!;
    // The service keeps the reference, not the secret.
    expect((await services.findServiceByID(id)).start_command).toEqual([
      "redis-server",
      "--requirepass",
      "${{REDIS_PASSWORD}}",
      "--x",
      "${{MISSING}}",
    ]);
    await pending.appendPendingChange(p.id, null, update(id, { start_command: null }));
    const r2 = await pending.applyPendingChanges(p.id);
    expect(r2.redeployed_service_ids).toEqual([id]);
    expect(r2.created_deployments[0]?.start_command).toBeUndefined();
    expect((await services.findServiceByID(id)).start_command).toBeNull();
    void db;
  });

  it("stages an entrypoint next to the command, resolved the same way", async () => {
    const { pending, p } = await setup();
    await pending.appendPendingChange(
      p.id,
      null,
      create("t-e", "job", {
        image: "app:1",
        entrypoint: ["/bin/sh", "-c"],
        start_command: ["echo $0 ${{WHO}}"],
        env_vars: [{ scope: "service", key: "WHO", value: "world" }],
      }),
    );
    const r = await pending.applyPendingChanges(p.id);
    expect(r.created_deployments[0]).toMatchObject({ entrypoint: ["/bin/sh", "-c"], start_command: ["echo $0 world"] });
    const bad = await pending.appendPendingChange(p.id, null, create("t-f", "bad", { entrypoint: [] })).catch((e: unknown) => e);
    expect((bad as deploykit.DeployKitError).fields).toHaveProperty("entrypoint");
  });

  it.each([
    [[], "start_command"],
    ["redis-server", "start_command"],
    [[1], "start_command[0]"],
    [[" "], "start_command[0]"],
    [["a\u0000b"], "start_command[0]"],
    [Array(65).fill("x"), "start_command"],
  ])("refuses %j", async (cmd, field) => {
    const { pending, p } = await setup();
    const err = await pending.appendPendingChange(p.id, null, create("t1", "x", { start_command: cmd })).then(
      () => null,
      (e: unknown) => e as deploykit.DeployKitError,
    );
    expect(err?.code).toBe(deploykit.EINVALID);
    expect(Object.keys(err?.fields ?? {})).toContain(field);
  });
});

describe("PendingChangeService removal", () => {
  it("removes one entry, but not creations or deletions of services", async () => {
    const { db, pending, p } = await setup();
    const s = await mustCreateService(db, p.id);
    const c = await pending.appendPendingChange(p.id, null, create("t1", "web"));
    const d = await pending.appendPendingChange(p.id, null, del(s.id));
    const u = await pending.appendPendingChange(p.id, null, { op: "project.update", target_type: "project", payload: { name: "X" } });
    await expectError(
      pending.removePendingChange(p.id, c.id),
      deploykit.EINVALID,
      "Delete the service's canvas node to cancel its creation.",
    );
    await expectError(
      pending.removePendingChange(p.id, d.id),
      deploykit.EINVALID,
      "Discard all pending changes to cancel this service deletion.",
    );
    await pending.removePendingChange(p.id, u.id);
    await expectError(pending.removePendingChange(p.id, u.id), deploykit.ENOTFOUND, "Pending change not found.");
    expect((await pending.findPendingChanges(p.id)).map((x) => x.id)).toEqual([c.id, d.id]);
  });

  it("removes everything staged for a pending service by its temp id", async () => {
    const { pending, p } = await setup();
    const c = await pending.appendPendingChange(p.id, null, create("t1", "web"));
    const e = await pending.appendPendingChange(p.id, null, envCreateFor("t1", "K", "v"));
    const other = await pending.appendPendingChange(p.id, null, create("t2", "api"));
    expect(await pending.removeByTempID(p.id, "t1")).toEqual([c.id, e.id]);
    expect((await pending.findPendingChanges(p.id)).map((x) => x.id)).toEqual([other.id]);
    expect(await pending.removeByTempID(p.id, "t1")).toEqual([]);
  });
});

describe("PendingChangeService.stageReparent", () => {
  it("coalesces pure reparents, and a move back to the applied group stages nothing", async () => {
    const { db, pending, canvas, p } = await setup();
    await canvas.upsertNode(p.id, { id: "g1", type: "group", position_x: 0, position_y: 0 });
    await canvas.upsertNode(p.id, { id: "g2", type: "group", position_x: 0, position_y: 0 });
    const { service } = await mustDeployService(db, p.id, "web", {}, "g1");
    const first = await pending.stageReparent(p.id, null, service.id, "g1", "g2");
    expect(first.removed_ids).toEqual([]);
    expect(first.added?.payload).toEqual({ reparented: true, previous_parent_id: "g1" });
    const second = await pending.stageReparent(p.id, null, service.id, "g2", null);
    expect(second.removed_ids).toEqual([first.added?.id]);
    expect(second.added?.payload).toEqual({ reparented: true, previous_parent_id: "g1" });
    const back = await pending.stageReparent(p.id, null, service.id, null, "g1");
    expect(back).toEqual({ removed_ids: [second.added?.id], added: null });
    expect(await pending.findPendingChanges(p.id)).toEqual([]);
  });

  it("keeps mixed payloads (a rename with the move) and uses the top level as ''", async () => {
    const { db, pending, canvas, p } = await setup();
    await canvas.upsertNode(p.id, { id: "g1", type: "group", position_x: 0, position_y: 0 });
    const { service } = await mustDeployService(db, p.id, "web");
    const mixed = await pending.appendPendingChange(
      p.id,
      null,
      update(service.id, { name: "site", reparented: true, previous_parent_id: "" }),
    );
    const r = await pending.stageReparent(p.id, null, service.id, null, "g1");
    expect(r.removed_ids).toEqual([]);
    expect(r.added?.payload).toEqual({ reparented: true, previous_parent_id: "" });
    expect((await pending.findPendingChanges(p.id)).map((c) => c.id)).toEqual([mixed.id, r.added?.id]);
    await expectError(pending.stageReparent(p.id, null, "nope", null, "g1"), deploykit.ENOTFOUND, "Service not found.");
  });
});

describe("PendingChangeService.discardPendingChanges", () => {
  it("clears the log, deletes pending-service nodes and moves reparented nodes back", async () => {
    const { db, pending, canvas, p } = await setup();
    await canvas.upsertNode(p.id, { id: "g1", type: "group", position_x: 100, position_y: 100 });
    await canvas.upsertNode(p.id, { id: "g2", type: "group", position_x: 500, position_y: 0 });
    const { service, nodeID } = await mustDeployService(db, p.id, "web", {}, "g1");
    await canvas.upsertNode(p.id, { id: nodeID, type: "service", position_x: 10, position_y: 10 });
    // The user drags the node from g1 (absolute 110,110) into g2, where it sits at 20,30 relative.
    await canvas.upsertNode(p.id, { id: nodeID, type: "service", position_x: 20, position_y: 30, parent_id: "g2" });
    await pending.stageReparent(p.id, null, service.id, "g1", "g2");
    await canvas.upsertNode(p.id, { id: "draft", type: "service", position_x: 0, position_y: 0 });
    await pending.appendPendingChange(p.id, null, create("draft", "api"));
    await pending.appendPendingChange(p.id, null, { op: "project.update", target_type: "project", payload: { name: "X" } });
    const before = await pending.findPendingChanges(p.id);
    const r = await pending.discardPendingChanges(p.id);
    expect(r.removed_ids).toEqual(before.map((c) => c.id));
    expect(r.deleted_node_ids).toEqual(["draft"]);
    expect(r.restored_nodes).toHaveLength(1);
    // Absolute 520,30 back inside g1 (at 100,100): 420,-70.
    expect(r.restored_nodes[0]).toMatchObject({ id: nodeID, parent_id: "g1", position_x: 420, position_y: -70 });
    expect(await pending.findPendingChanges(p.id)).toEqual([]);
    expect((await canvas.getCanvas(p.id)).nodes.map((n) => n.id).sort()).toEqual(["g1", "g2", nodeID].sort());
    expect((await new ProjectService(db).findProjectByID(p.id)).name).not.toBe("X");
  });
});

describe("PendingChangeService.discardPendingChanges positions", () => {
  // Child positions are relative to their group: a node put back must keep its place on screen.
  it("moving a node out of the group it was dragged into converts it back to absolute", async () => {
    const { db, pending, canvas, p } = await setup();
    await canvas.upsertNode(p.id, { id: "g1", type: "group", position_x: 100, position_y: 100 });
    const { service, nodeID } = await mustDeployService(db, p.id, "web");
    // Absolute 300,200 dragged into g1 (at 100,100): 200,100 relative.
    await canvas.upsertNode(p.id, { id: nodeID, type: "service", position_x: 200, position_y: 100, parent_id: "g1" });
    await pending.stageReparent(p.id, null, service.id, null, "g1");
    const r = await pending.discardPendingChanges(p.id);
    expect(r.restored_nodes).toHaveLength(1);
    expect(r.restored_nodes[0]).toMatchObject({ id: nodeID, position_x: 300, position_y: 200 });
    expect(r.restored_nodes[0]?.parent_id).toBeUndefined();
    const stored = (await canvas.getCanvas(p.id)).nodes.find((n) => n.id === nodeID);
    expect(stored).toEqual(r.restored_nodes[0]);
  });

  it("moving a node back into the group it was dragged out of converts it to relative", async () => {
    const { db, pending, canvas, p } = await setup();
    await canvas.upsertNode(p.id, { id: "g1", type: "group", position_x: 100, position_y: 100 });
    const { service, nodeID } = await mustDeployService(db, p.id, "web", {}, "g1");
    await canvas.upsertNode(p.id, { id: nodeID, type: "service", position_x: 10, position_y: 20 });
    // Dragged out to the top level (absolute 400,50), then the group is moved to 150,-20.
    await canvas.upsertNode(p.id, { id: nodeID, type: "service", position_x: 400, position_y: 50, parent_id: null });
    await pending.stageReparent(p.id, null, service.id, "g1", null);
    await canvas.moveNodes(p.id, [{ id: "g1", position_x: 150, position_y: -20 }]);
    const r = await pending.discardPendingChanges(p.id);
    expect(r.restored_nodes).toHaveLength(1);
    // Absolute 400,50 inside g1 (now at 150,-20): 250,70.
    expect(r.restored_nodes[0]).toMatchObject({ id: nodeID, parent_id: "g1", position_x: 250, position_y: 70 });
    const stored = (await canvas.getCanvas(p.id)).nodes.find((n) => n.id === nodeID);
    expect(stored).toEqual(r.restored_nodes[0]);
  });

  it("a node whose old group was deleted lands at the top level at its absolute position", async () => {
    const { db, pending, canvas, p } = await setup();
    await canvas.upsertNode(p.id, { id: "g1", type: "group", position_x: 100, position_y: 100 });
    await canvas.upsertNode(p.id, { id: "g2", type: "group", position_x: 500, position_y: 300 });
    const { service, nodeID } = await mustDeployService(db, p.id, "web", {}, "g1");
    // Dragged from g1 into g2 (relative 20,30 there), then g1 is deleted.
    await canvas.upsertNode(p.id, { id: nodeID, type: "service", position_x: 20, position_y: 30, parent_id: "g2" });
    await pending.stageReparent(p.id, null, service.id, "g1", "g2");
    await canvas.deleteNode(p.id, "g1");
    const r = await pending.discardPendingChanges(p.id);
    expect(r.restored_nodes).toHaveLength(1);
    expect(r.restored_nodes[0]).toMatchObject({ id: nodeID, position_x: 520, position_y: 330 });
    expect(r.restored_nodes[0]?.parent_id).toBeUndefined();
  });
});

describe("PendingChangeService.applyPendingChanges", () => {
  it("renames the project and clears the log", async () => {
    const { pending, p, db } = await setup();
    await pending.appendPendingChange(p.id, null, { op: "project.update", target_type: "project", payload: { name: "Renamed" } });
    const r = await pending.applyPendingChanges(p.id);
    expect(r).toEqual({ applied_count: 1, temp_id_to_service_id: {}, redeployed_service_ids: [], created_deployments: [] });
    expect((await new ProjectService(db).findProjectByID(p.id)).name).toBe("Renamed");
    expect(await pending.findPendingChanges(p.id)).toEqual([]);
  });

  it("creates a service with its settings, env vars (inline and by temp id), node link and first deployment", async () => {
    const { db, pending, canvas, services, env, p } = await setup();
    await mustCreateEnvVar(db, { scope: "project", scope_id: p.id, key: "SHARED", value: "p" });
    await canvas.upsertNode(p.id, { id: "g1", type: "group", position_x: 0, position_y: 0 });
    await mustCreateEnvVar(db, { scope: "group", scope_id: "g1", key: "GROUP", value: "g" });
    await canvas.upsertNode(p.id, { id: "t-db", type: "service", position_x: 0, position_y: 0 });
    await canvas.upsertNode(p.id, { id: "t-web", type: "service", position_x: 0, position_y: 0, parent_id: "g1" });
    await pending.appendPendingChange(
      p.id,
      null,
      create("t-web", "web", {
        image: "app:1",
        ports: [{ container_port: 3000, host_port: 8080 }],
        volumes: [{ name: "data", mount_path: "/data" }],
        resources: { memory_mb: 256 },
        replicas: 1,
        icon_url: "https://x.io/i.png",
        env_vars: [{ scope: "service", key: "INLINE", value: "1" }],
      }),
    );
    // A reference to a service that is not there (yet) is refused when staged, naming the reference.
    await expectError(
      pending.appendPendingChange(p.id, null, envCreateFor("t-web", "DB_URL", "postgres://${{db.HOST}}:${{db.PORT}}/app")),
      deploykit.EINVALID,
      'Reference ${{db.HOST}} in web.DB_URL: no service "db".',
    );
    await pending.appendPendingChange(p.id, null, create("t-db", "db", { image: "postgres:16", ports: [{ container_port: 5432 }] }));
    await pending.appendPendingChange(p.id, null, envCreateFor("t-web", "DB_URL", "postgres://${{db.HOST}}:${{db.PORT}}/app"));
    const r = await pending.applyPendingChanges(p.id);
    expect(r.applied_count).toBe(3);
    const webID = r.temp_id_to_service_id["t-web"]!;
    const dbID = r.temp_id_to_service_id["t-db"]!;
    const web = await services.findServiceByID(webID);
    expect(web).toMatchObject({
      name: "web",
      image: "app:1",
      replicas: 1,
      resources: { memory_mb: 256 },
      status: "deploying",
      icon_url: "https://x.io/i.png",
    });
    // Providers first; the consumer's deployment waits for the provider's.
    expect(r.created_deployments.map((d) => d.service_id)).toEqual([dbID, webID]);
    expect(r.created_deployments[1]?.wait_for).toEqual([r.created_deployments[0]?.id]);
    expect(r.created_deployments[0]?.wait_for).toBeUndefined();
    expect(r.created_deployments[1]).toMatchObject({
      image: "app:1",
      env_vars: { DB_URL: "postgres://db:5432/app", GROUP: "g", INLINE: "1", SHARED: "p" },
      ports: [{ container_port: 3000, host_port: 8080 }],
      volumes: [{ name: "data", mount_path: "/data" }],
      resources: { memory_mb: 256 },
      replicas: 1,
      status: "pending",
    });
    expect(r.redeployed_service_ids).toEqual([]);
    expect((await env.findEnvVars({ scope: "service", scope_id: webID })).map((e) => e.key)).toEqual(["DB_URL", "INLINE"]);
    const state = await canvas.getCanvas(p.id);
    expect(state.nodes.find((n) => n.id === "t-web")).toMatchObject({ service_id: webID, label: "web", data: '{"image":"app:1"}' });
    expect(state.edges).toHaveLength(1);
    expect(state.edges[0]).toMatchObject({
      source_id: "t-web",
      target_id: "t-db",
      label: "DB_URL",
      data: '{"managed":"env-ref","keys":["DB_URL"]}',
    });
  });

  it("creates a canvas node when the client placed none", async () => {
    const { pending, canvas, p } = await setup();
    await pending.appendPendingChange(p.id, null, create("api-node", "api"));
    const r = await pending.applyPendingChanges(p.id);
    expect((await canvas.findNodeByID(p.id, "api-node")).service_id).toBe(r.temp_id_to_service_id["api-node"]);
  });

  it("redeploys on env update/delete by scope: service, group children, every deployed service for project", async () => {
    const { db, pending, canvas, p } = await setup();
    await canvas.upsertNode(p.id, { id: "g1", type: "group", position_x: 0, position_y: 0 });
    const a = await mustDeployService(db, p.id, "a", {}, "g1");
    const b = await mustDeployService(db, p.id, "b");
    const never = await mustCreateService(db, p.id, { name: "never" });
    const sv = await mustCreateEnvVar(db, { scope: "service", scope_id: b.service.id, key: "S", value: "1" });
    const gv = await mustCreateEnvVar(db, { scope: "group", scope_id: "g1", key: "G", value: "1" });
    const pv = await mustCreateEnvVar(db, { scope: "project", scope_id: p.id, key: "P", value: "1" });

    await pending.appendPendingChange(p.id, null, envUpdate(sv.id, "2"));
    let r = await pending.applyPendingChanges(p.id);
    expect(r.redeployed_service_ids).toEqual([b.service.id]);
    expect(r.created_deployments[0]?.env_vars).toEqual({ P: "1", S: "2" });

    await pending.appendPendingChange(p.id, null, envDelete(gv.id));
    r = await pending.applyPendingChanges(p.id);
    expect(r.redeployed_service_ids).toEqual([a.service.id]);
    expect(r.created_deployments[0]?.env_vars).toEqual({ P: "1" });

    await pending.appendPendingChange(p.id, null, envUpdate(pv.id, "2"));
    r = await pending.applyPendingChanges(p.id);
    expect(r.redeployed_service_ids.sort()).toEqual([a.service.id, b.service.id].sort());
    expect(r.redeployed_service_ids).not.toContain(never.id);
  });

  it("does not redeploy a service whose next deployment would be identical", async () => {
    const { db, pending, p } = await setup();
    const a = await mustDeployService(db, p.id, "a");
    const b = await mustDeployService(db, p.id, "b");
    await mustCreateEnvVar(db, { scope: "service", scope_id: a.service.id, key: "X", value: "1" });
    await pending.appendPendingChange(p.id, null, update(b.service.id, { icon_url: "https://x.io/b.png" }));
    await pending.appendPendingChange(p.id, null, envCreate("project", p.id, "UNUSED_BY_NOONE", ""));
    const r = await pending.applyPendingChanges(p.id);
    // The project var reaches both; "a" also picks up its out-of-band X.
    expect(r.redeployed_service_ids.sort()).toEqual([a.service.id, b.service.id].sort());
    await pending.appendPendingChange(p.id, null, update(b.service.id, { icon_url: "" }));
    const r2 = await pending.applyPendingChanges(p.id);
    expect(r2.redeployed_service_ids).toEqual([]);
    expect(r2.applied_count).toBe(1);
  });

  it("redeploys with the service's new settings after a service.update", async () => {
    const { db, pending, p, services } = await setup();
    const a = await mustDeployService(db, p.id, "a", { ports: [{ container_port: 80 }] });
    await pending.appendPendingChange(
      p.id,
      null,
      update(a.service.id, { image: "nginx:1.28", replicas: 1, resources: { cpus: 1 }, volumes: [{ name: "v", mount_path: "/v" }] }),
    );
    const r = await pending.applyPendingChanges(p.id);
    expect(r.redeployed_service_ids).toEqual([a.service.id]);
    expect(r.created_deployments[0]).toMatchObject({
      image: "nginx:1.28",
      replicas: 1,
      resources: { cpus: 1 },
      volumes: [{ name: "v", mount_path: "/v" }],
    });
    expect(await services.findServiceByID(a.service.id)).toMatchObject({ image: "nginx:1.28", replicas: 1 });
    // The superseded pending deployment was cancelled by the create rules.
    expect((await new DeploymentService(db).findDeploymentByID(a.deployment.id)).status).toBe("cancelled");
  });

  it("rewrites references on rename and redeploys the consumers, the renamed service and redraws edges", async () => {
    const { db, pending, p, env, canvas } = await setup();
    const api = await mustDeployService(db, p.id, "api", { ports: [{ container_port: 8080 }] });
    const web = await mustDeployService(db, p.id, "web");
    const other = await mustDeployService(db, p.id, "other");
    const ref = await mustCreateEnvVar(db, {
      scope: "service",
      scope_id: web.service.id,
      key: "API",
      value: "http://${{ api.HOST }}:${{api.PORT}}",
    });
    await pending.appendPendingChange(p.id, null, envUpdate(ref.id, ref.value));
    await pending.applyPendingChanges(p.id);
    expect((await canvas.getCanvas(p.id)).edges.map((e) => [e.source_id, e.target_id])).toEqual([[web.nodeID, api.nodeID]]);

    await pending.appendPendingChange(p.id, null, update(api.service.id, { name: "backend" }));
    const r = await pending.applyPendingChanges(p.id);
    expect((await env.findEnvVarByID(ref.id)).value).toBe("http://${{backend.HOST}}:${{backend.PORT}}");
    expect(r.redeployed_service_ids.sort()).toEqual([api.service.id, web.service.id].sort());
    expect(r.redeployed_service_ids).not.toContain(other.service.id);
    const webDep = r.created_deployments.find((d) => d.service_id === web.service.id);
    expect(webDep?.env_vars).toEqual({ API: "http://backend:8080" });
    expect((await canvas.findNodeByID(p.id, api.nodeID)).label).toBe("backend");
    const edges = (await canvas.getCanvas(p.id)).edges;
    expect(edges.map((e) => [e.source_id, e.target_id, e.label])).toEqual([[web.nodeID, api.nodeID, "API"]]);
  });

  it("deletes a service with its node, skips a later update of it, and drops its edges", async () => {
    const { db, pending, p, canvas, services } = await setup();
    const a = await mustDeployService(db, p.id, "a");
    await pending.appendPendingChange(p.id, null, update(a.service.id, { replicas: 4 }));
    await pending.appendPendingChange(p.id, null, del(a.service.id));
    await pending.appendPendingChange(p.id, null, update(a.service.id, { replicas: 5 }));
    const r = await pending.applyPendingChanges(p.id);
    expect(r).toMatchObject({ applied_count: 3, redeployed_service_ids: [], created_deployments: [] });
    await expectError(services.findServiceByID(a.service.id), deploykit.ENOTFOUND, "Service not found.");
    expect((await canvas.getCanvas(p.id)).nodes).toEqual([]);
  });

  it("skips env changes of a service deleted earlier in the log", async () => {
    const { db, pending, p, env } = await setup();
    const a = await mustDeployService(db, p.id, "a");
    const ev = await mustCreateEnvVar(db, { scope: "service", scope_id: a.service.id, key: "K", value: "1" });
    const ev2 = await mustCreateEnvVar(db, { scope: "service", scope_id: a.service.id, key: "K2", value: "1" });
    await pending.appendPendingChange(p.id, null, del(a.service.id));
    await pending.appendPendingChange(p.id, null, envUpdate(ev.id, "2"));
    await pending.appendPendingChange(p.id, null, envDelete(ev2.id));
    await pending.appendPendingChange(p.id, null, envCreate("service", a.service.id, "NEW", "x"));
    const r = await pending.applyPendingChanges(p.id);
    expect(r.applied_count).toBe(4);
    expect(await env.findEnvVars({ scope: "service", scope_id: a.service.id })).toEqual([]);
  });

  it("a pure reparent redeploys with the new group's variables", async () => {
    const { db, pending, canvas, p } = await setup();
    await canvas.upsertNode(p.id, { id: "g1", type: "group", position_x: 0, position_y: 0 });
    await mustCreateEnvVar(db, { scope: "group", scope_id: "g1", key: "IN_GROUP", value: "yes" });
    const a = await mustDeployService(db, p.id, "a");
    await canvas.upsertNode(p.id, { id: a.nodeID, type: "service", position_x: 0, position_y: 0, parent_id: "g1" });
    await pending.stageReparent(p.id, null, a.service.id, null, "g1");
    const r = await pending.applyPendingChanges(p.id);
    expect(r.redeployed_service_ids).toEqual([a.service.id]);
    expect(r.created_deployments[0]?.env_vars).toEqual({ IN_GROUP: "yes" });
  });

  it("redeploys consumers of ${{name.PORT}} when that service's port changes", async () => {
    const { db, pending, p } = await setup();
    const api = await mustDeployService(db, p.id, "api", { ports: [{ container_port: 8080 }] });
    const web = await mustDeployService(db, p.id, "web");
    const ref = await mustCreateEnvVar(db, { scope: "service", scope_id: web.service.id, key: "PORT_OF_API", value: "${{api.PORT}}" });
    await pending.appendPendingChange(p.id, null, envUpdate(ref.id, ref.value));
    await pending.applyPendingChanges(p.id);
    await pending.appendPendingChange(p.id, null, update(api.service.id, { ports: [{ container_port: 9090 }] }));
    const r = await pending.applyPendingChanges(p.id);
    expect(r.redeployed_service_ids.sort()).toEqual([api.service.id, web.service.id].sort());
    expect(r.created_deployments.find((d) => d.service_id === web.service.id)?.env_vars).toEqual({ PORT_OF_API: "9090" });
  });

  it("publishes service events after commit", async () => {
    const events: deploykit.Event[] = [];
    const bus: deploykit.EventBus = { publish: (e) => events.push(e), subscribe: () => ({ close() {}, dropped: 0 }) };
    const { db, pending, p } = await setup({ bus });
    const a = await mustDeployService(db, p.id, "a");
    const b = await mustDeployService(db, p.id, "b");
    events.length = 0;
    await pending.appendPendingChange(p.id, null, create("t-c", "c"));
    await pending.appendPendingChange(p.id, null, update(a.service.id, { replicas: 2 }));
    await pending.appendPendingChange(p.id, null, del(b.service.id));
    const result = await pending.applyPendingChanges(p.id);
    expect(events.map((e) => e.type).filter((t) => t.startsWith("service."))).toEqual([
      "service.created",
      "service.updated",
      "service.deleted",
    ]);
    expect(events.every((e) => e.project_id === p.id)).toBe(true);
    // Issue 11: the deployments Apply created and the Apply itself, for every caller alike, last.
    const created = events.flatMap((e) => (e.type === "deployment.created" ? [e.payload.deployment.id] : []));
    expect(created).toEqual(result.created_deployments.map((d) => d.id));
    expect(events.at(-1)).toMatchObject({ type: "pending-changes.applied", payload: { result } });
  });

  it("is atomic: a clash in the middle leaves services, env vars, canvas and the log as they were, and throws 409", async () => {
    const { db, pending, canvas, p } = await setup();
    const a = await mustDeployService(db, p.id, "a");
    const ev = await mustCreateEnvVar(db, { scope: "service", scope_id: a.service.id, key: "K", value: "1" });
    await canvas.upsertNode(p.id, { id: "t-db", type: "service", position_x: 0, position_y: 0 });
    await pending.appendPendingChange(p.id, null, { op: "project.update", target_type: "project", payload: { name: "Changed" } });
    await pending.appendPendingChange(p.id, null, envUpdate(ev.id, "2"));
    await pending.appendPendingChange(p.id, null, create("t-db", "db"));
    await pending.appendPendingChange(p.id, null, update(a.service.id, { name: "renamed" }));
    // Someone creates "db" out of band after staging.
    await mustCreateService(db, p.id, { name: "db" });
    const before = dump(db);
    await expectError(pending.applyPendingChanges(p.id), deploykit.ECONFLICT, deploykit.serviceNameTakenMessage("db"));
    expect(dump(db)).toEqual(before);
    expect(await pending.findPendingChanges(p.id)).toHaveLength(4);
  });

  it.each([
    ["an env var deleted out of band", deploykit.ENOTFOUND, "Env var not found."],
    ["an env key created out of band", deploykit.ECONFLICT, 'Env var "NEW" already exists.'],
  ] as const)("keeps the entry's own code for %s", async (what, code, message) => {
    const { db, pending, p, env } = await setup();
    const ev = await mustCreateEnvVar(db, { scope: "project", scope_id: p.id, key: "K", value: "1" });
    if (code === deploykit.ENOTFOUND) {
      await pending.appendPendingChange(p.id, null, envUpdate(ev.id, "2"));
      await env.deleteEnvVar(ev.id);
    } else {
      await pending.appendPendingChange(p.id, null, envCreate("project", p.id, "NEW", "x"));
      await env.createEnvVar({ scope: "project", scope_id: p.id, key: "NEW", value: "y" });
    }
    const before = dump(db);
    await expectError(pending.applyPendingChanges(p.id), code, message);
    expect(dump(db), what).toEqual(before);
  });

  it("refuses an unknown project", async () => {
    const { pending } = await setup();
    await expectError(pending.applyPendingChanges("nope"), deploykit.ENOTFOUND, "Project not found.");
    await expectError(pending.discardPendingChanges("nope"), deploykit.ENOTFOUND, "Project not found.");
  });
});
