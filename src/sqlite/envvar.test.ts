import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { CanvasService } from "./canvas.ts";
import { EnvVarService } from "./envvar.ts";
import { ProjectService } from "./project.ts";
import { ServiceService } from "./service.ts";
import { expectError, FakeClock, mustCreateEnvVar, mustCreateProject, mustCreateService, mustOpenDB } from "./testing.ts";

async function setup() {
  const clock = new FakeClock();
  const db = mustOpenDB({ now: clock.now });
  const p = await mustCreateProject(db);
  const s = await mustCreateService(db, p.id, { name: "api", ports: [{ container_port: 8080 }] });
  return { db, clock, p, s, env: new EnvVarService(db), canvas: new CanvasService(db) };
}

describe("EnvVarService CRUD", () => {
  it("creates at every scope, finds by id and lists ordered by key", async () => {
    const { env, canvas, p, s } = await setup();
    await canvas.upsertNode(p.id, { id: "g1", type: "group", position_x: 0, position_y: 0 });
    const b = await env.createEnvVar({ scope: "project", scope_id: p.id, key: "B", value: "" });
    const a = await env.createEnvVar({ scope: "service", scope_id: s.id, key: "A", value: "x" });
    const c = await env.createEnvVar({ scope: "group", scope_id: "g1", key: "C", value: "y" });
    expect(await env.findEnvVarByID(a.id)).toEqual(a);
    expect((await env.findEnvVars({})).map((e) => e.key)).toEqual(["A", "B", "C"]);
    expect(await env.findEnvVars({ scope: "group", scope_id: "g1" })).toEqual([c]);
    expect(await env.findEnvVars({ key: "B" })).toEqual([b]);
  });

  it.each([
    [{ scope: "planet", scope_id: "x", key: "K", value: "v" }, { scope: ["Scope must be 'project', 'group', 'service' or 'shared'."] }],
    [{ scope: "project", scope_id: "", key: "K", value: "v" }, { scope_id: ["Scope id is required."] }],
    [{ scope: "project", scope_id: "p", key: "1K", value: "v" }, { key: [deploykit.ENV_KEY_MESSAGE] }],
    [{ scope: "project", scope_id: "p", key: "", value: "v" }, { key: ["Key is required."] }],
    [{ scope: "project", scope_id: "p", key: "K", value: "a\u0000" }, { value: ["Value cannot contain NUL characters."] }],
  ])("validates %j", async (input, fields) => {
    const { env } = await setup();
    const err = await expectError(env.createEnvVar(input as deploykit.EnvVarCreate), deploykit.EINVALID);
    expect(err.fields).toEqual(fields);
  });

  it.each([
    ["project", "Project not found."],
    ["group", "Group not found."],
    ["service", "Service not found."],
  ] as const)("refuses an unknown %s owner", async (scope, message) => {
    const { env } = await setup();
    await expectError(env.createEnvVar({ scope, scope_id: "nope", key: "K", value: "v" }), deploykit.ENOTFOUND, message);
  });

  it("refuses a duplicate key in one scope but allows it in another", async () => {
    const { env, p, s } = await setup();
    await env.createEnvVar({ scope: "project", scope_id: p.id, key: "K", value: "1" });
    await env.createEnvVar({ scope: "service", scope_id: s.id, key: "K", value: "2" });
    await expectError(
      env.createEnvVar({ scope: "project", scope_id: p.id, key: "K", value: "3" }),
      deploykit.ECONFLICT,
      'Env var "K" already exists.',
    );
  });

  it("updates and deletes", async () => {
    const { env, p, clock } = await setup();
    const e = await env.createEnvVar({ scope: "project", scope_id: p.id, key: "K", value: "1" });
    clock.advance(1000);
    const u = await env.updateEnvVar(e.id, "2");
    expect(u).toMatchObject({ value: "2", created_at: e.created_at });
    expect(u.updated_at).not.toBe(e.updated_at);
    await expectError(env.updateEnvVar("nope", "x"), deploykit.ENOTFOUND, "Env var not found.");
    await expectError(env.updateEnvVar(e.id, "x".repeat(64 * 1024 + 1)), deploykit.EINVALID);
    await env.deleteEnvVar(e.id);
    await expectError(env.deleteEnvVar(e.id), deploykit.ENOTFOUND, "Env var not found.");
  });

  it("cascades with the project, the service and the group node", async () => {
    const { db, env, canvas, p, s } = await setup();
    await canvas.upsertNode(p.id, { id: "g1", type: "group", position_x: 0, position_y: 0 });
    await mustCreateEnvVar(db, { scope: "group", scope_id: "g1", key: "G", value: "1" });
    await mustCreateEnvVar(db, { scope: "service", scope_id: s.id, key: "S", value: "1" });
    await mustCreateEnvVar(db, { scope: "project", scope_id: p.id, key: "P", value: "1" });
    await canvas.deleteNode(p.id, "g1");
    expect((await env.findEnvVars({})).map((e) => e.key)).toEqual(["P", "S"]);
    await new ServiceService(db).deleteService(s.id);
    expect((await env.findEnvVars({})).map((e) => e.key)).toEqual(["P"]);
    await new ProjectService(db).deleteProject(p.id);
    expect(await env.findEnvVars({})).toEqual([]);
  });
});

describe("EnvVarService.resolveForService", () => {
  it("overlays project < group < service and resolves HOST and PORT references", async () => {
    const { db, env, canvas, p, s } = await setup();
    const web = await mustCreateService(db, p.id, { name: "web" });
    await canvas.upsertNode(p.id, { id: "g1", type: "group", position_x: 0, position_y: 0 });
    await canvas.upsertNode(p.id, { id: "n-web", type: "service", position_x: 0, position_y: 0, service_id: web.id, parent_id: "g1" });
    await mustCreateEnvVar(db, { scope: "project", scope_id: p.id, key: "LEVEL", value: "project" });
    await mustCreateEnvVar(db, { scope: "project", scope_id: p.id, key: "ONLY_P", value: "p" });
    await mustCreateEnvVar(db, { scope: "group", scope_id: "g1", key: "LEVEL", value: "group" });
    await mustCreateEnvVar(db, { scope: "group", scope_id: "g1", key: "ONLY_G", value: "g" });
    await mustCreateEnvVar(db, { scope: "service", scope_id: web.id, key: "LEVEL", value: "service" });
    await mustCreateEnvVar(db, { scope: "service", scope_id: web.id, key: "API_URL", value: "http://${{ api.HOST }}:${{api.PORT}}/v1" });
    await mustCreateEnvVar(db, { scope: "service", scope_id: web.id, key: "GHOST", value: "${{ghost.HOST}} ${PATH}" });
    await mustCreateEnvVar(db, { scope: "service", scope_id: web.id, key: "NOPORT", value: "${{web.PORT}}" });
    const r = await env.resolveForService(web.id);
    expect(r.env).toEqual({
      API_URL: "http://api:8080/v1",
      GHOST: "${{ghost.HOST}} ${PATH}",
      LEVEL: "service",
      NOPORT: "${{web.PORT}}",
      ONLY_G: "g",
      ONLY_P: "p",
    });
    expect(r.refs).toEqual({ API_URL: ["api"] });
    expect(r.problems?.map((x) => x.message)).toEqual([
      'Reference ${{ghost.HOST}} in web.GHOST: no service "ghost".',
      'Reference ${{web.PORT}} in web.NOPORT: service "web" has no port.',
    ]);
    // A service outside the group does not see the group's variables.
    expect((await env.resolveForService(s.id)).env).toEqual({ LEVEL: "project", ONLY_P: "p" });
    await expectError(env.resolveForService("nope"), deploykit.ENOTFOUND, "Service not found.");
  });
});
