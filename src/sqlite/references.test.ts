import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { CanvasService } from "./canvas.ts";
import type { DB } from "./db.ts";
import { EnvVarService } from "./envvar.ts";
import { PendingChangeService } from "./pending-change.ts";
import { expectError, mustCreateProject, mustOpenDB } from "./testing.ts";

type Append = deploykit.PendingChangeAppend;

async function setup() {
  const db = mustOpenDB();
  const p = await mustCreateProject(db);
  return { db, p, pending: new PendingChangeService(db), canvas: new CanvasService(db), env: new EnvVarService(db) };
}

/** Services created and deployed in one Apply; returns name → service id. */
async function mustDeploy(db: DB, projectID: string, services: { name: string; env?: Record<string, string>; port?: number }[]) {
  const pending = new PendingChangeService(db);
  for (const s of services) {
    await new CanvasService(db).upsertNode(projectID, { id: `node-${s.name}`, type: "service", position_x: 0, position_y: 0 });
    const payload: Record<string, unknown> = { name: s.name, image: "nginx:1.27" };
    if (s.port) payload.ports = [{ container_port: s.port }];
    if (s.env) payload.env_vars = Object.entries(s.env).map(([key, value]) => ({ scope: "service", key, value }));
    await pending.appendPendingChange(projectID, null, {
      op: "service.create",
      target_type: "service",
      target_temp_id: `node-${s.name}`,
      payload,
    });
  }
  const r = await pending.applyPendingChanges(projectID);
  return Object.fromEntries(services.map((s) => [s.name, r.temp_id_to_service_id[`node-${s.name}`] as string]));
}

const envUpdate = (id: string, payload: Record<string, unknown>): Append => ({
  op: "env_var.update",
  target_type: "env_var",
  target_id: id,
  payload,
});

describe("references in the staged log", () => {
  it("draws a managed edge for every referenced service, not only HOST/PORT, through shared variables too", async () => {
    const { db, p, pending, canvas } = await setup();
    await mustDeploy(db, p.id, [
      { name: "db", env: { PASSWORD: "pw" } },
      { name: "cache", port: 6379 },
    ]);
    await pending.appendPendingChange(p.id, null, {
      op: "env_var.create",
      target_type: "env_var",
      target_id: p.id,
      payload: { scope: "shared", key: "CACHE", value: "${{cache.HOST}}:${{cache.PORT}}" },
    });
    await mustDeploy(db, p.id, [{ name: "web", env: { PW: "${{db.PASSWORD}}", C: "${{shared.CACHE}}" } }]);
    const edges = (await canvas.getCanvas(p.id)).edges.filter((e) => e.source_id === "node-web");
    expect(edges.map((e) => [e.target_id, e.label]).sort()).toEqual([
      ["node-cache", "C"],
      ["node-db", "PW"],
    ]);
  });

  it("rewrites references on a service rename in the same change, and refuses deleting a referenced service", async () => {
    const { db, p, pending, env } = await setup();
    const ids = await mustDeploy(db, p.id, [
      { name: "db", env: { PASSWORD: "pw" } },
      { name: "web", env: { PW: "${{db.PASSWORD}}" } },
    ]);
    // A rename rewrites the references (staged in the same change): no problem, and Apply rewrites them.
    await pending.appendPendingChange(p.id, null, {
      op: "service.update",
      target_type: "service",
      target_id: ids.db as string,
      payload: { name: "pg" },
    });
    const r = await pending.applyPendingChanges(p.id);
    expect((await env.findEnvVars({ scope: "service", scope_id: ids.web as string }))[0]?.value).toBe("${{pg.PASSWORD}}");
    // web's resolved value is the same, so only the renamed service is redeployed.
    expect(r.redeployed_service_ids).toEqual([ids.db]);
    // Deleting the provider is refused while it is referenced.
    await expectError(
      pending.appendPendingChange(p.id, null, { op: "service.delete", target_type: "service", target_id: ids.db as string }),
      deploykit.EINVALID,
      'Reference ${{pg.PASSWORD}} in web.PW: no service "pg".',
    );
  });

  it("renames a variable and rewrites ${{svc.KEY}} elsewhere and ${{KEY}} in the same service", async () => {
    const { db, p, pending, env } = await setup();
    const ids = await mustDeploy(db, p.id, [
      { name: "db", env: { PASSWORD: "pw", URL: "x:${{PASSWORD}}" } },
      { name: "web", env: { PW: "${{db.PASSWORD}}" } },
    ]);
    const pw = (await env.findEnvVars({ scope: "service", scope_id: ids.db as string, key: "PASSWORD" }))[0] as deploykit.EnvVar;
    const staged = await pending.appendPendingChange(p.id, null, envUpdate(pw.id, { value: "pw", new_key: "PASS" }));
    expect(staged.payload).toMatchObject({ key: "PASSWORD", new_key: "PASS" });
    await expectError(
      pending.appendPendingChange(p.id, null, envUpdate(pw.id, { value: "pw", new_key: "URL" })),
      deploykit.ECONFLICT,
      'Env var "URL" already exists.',
    );
    const r = await pending.applyPendingChanges(p.id);
    const all = await env.findEnvVars({});
    expect(Object.fromEntries(all.map((v) => [v.key, v.value]))).toEqual({ PASS: "pw", URL: "x:${{PASS}}", PW: "${{db.PASS}}" });
    // db's container sees a new key; web's resolved value is unchanged, so it keeps running.
    expect(r.redeployed_service_ids).toEqual([ids.db]);
  });

  it("checks a batch as a whole and stages all or nothing", async () => {
    const { db, p, pending } = await setup();
    await mustDeploy(db, p.id, [{ name: "db" }]);
    const create = (key: string, value: string): Append => ({
      op: "env_var.create",
      target_type: "env_var",
      target_id: p.id,
      payload: { scope: "shared", key, value },
    });
    // A references B, which the batch creates after it.
    const ok = await pending.appendPendingChanges(p.id, null, [create("A", "${{shared.B}}"), create("B", "b")]);
    expect(ok).toHaveLength(2);
    await expectError(pending.appendPendingChanges(p.id, null, [create("C", "c"), create("D", "${{shared.NOPE}}")]), deploykit.EINVALID);
    expect((await pending.findPendingChanges(p.id)).map((c) => c.payload.key)).toEqual(["A", "B"]);
  });
});
