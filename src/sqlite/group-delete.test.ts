import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { CanvasService } from "./canvas.ts";
import { EnvVarService } from "./envvar.ts";
import { PendingChangeService } from "./pending-change.ts";
import { expectError, mustCreateEnvVar, mustCreateProject, mustOpenDB } from "./testing.ts";

type Append = deploykit.PendingChangeAppend;

const envCreate = (scope: string, owner: string, key: string, value: string): Append => ({
  op: deploykit.OP_ENV_CREATE,
  target_type: deploykit.TARGET_ENV_VAR,
  target_id: owner,
  payload: { scope, key, value },
});

/**
 * A project with group g1 at (100, 100) holding a deployed service "web" (node n-web at 10, 20
 * inside it), deployed with the group's variables `vars`.
 */
async function setup(vars: Record<string, string> = {}) {
  const db = mustOpenDB();
  const p = await mustCreateProject(db);
  const pending = new PendingChangeService(db);
  const canvas = new CanvasService(db);
  const env = new EnvVarService(db);
  await canvas.upsertNode(p.id, { id: "g1", type: "group", label: "backend", position_x: 100, position_y: 100 });
  await canvas.upsertNode(p.id, { id: "n-web", type: "service", position_x: 10, position_y: 20, parent_id: "g1" });
  for (const [key, value] of Object.entries(vars)) await mustCreateEnvVar(db, { scope: "group", scope_id: "g1", key, value });
  await pending.appendPendingChange(p.id, null, {
    op: deploykit.OP_SERVICE_CREATE,
    target_type: deploykit.TARGET_SERVICE,
    target_temp_id: "n-web",
    payload: { name: "web", image: "nginx:1.27" },
  });
  const applied = await pending.applyPendingChanges(p.id);
  const webID = applied.temp_id_to_service_id["n-web"] as string;
  return { db, p, pending, canvas, env, webID };
}

const groupVars = (env: EnvVarService, id: string) =>
  env.findEnvVars({ scope: deploykit.SCOPE_GROUP, scope_id: id }).then((vs) => vs.map((v) => v.key));

describe("deleting a canvas group (issue 11, item 8)", () => {
  it("a group with variables is staged: Deploy deletes it, its variables go, the deployed child redeploys at the top level", async () => {
    const { p, pending, canvas, env, webID } = await setup({ REGION: "eu" });
    // A variable staged for the group before its deletion: once the cause of a 404 at every Deploy.
    await pending.appendPendingChange(p.id, null, envCreate("group", "g1", "ZONE", "a"));

    const r = await pending.deleteGroup(p.id, null, "g1");
    expect(r.staged).toMatchObject({ op: "group.delete", target_type: "group", target_id: "g1", payload: { label: "backend" } });
    expect(await canvas.findNodeByID(p.id, "g1")).toMatchObject({ type: "group" });
    await expectError(pending.deleteGroup(p.id, null, "g1"), deploykit.ECONFLICT, "This group is already staged for deletion.");
    await expectError(
      pending.appendPendingChange(p.id, null, envCreate("group", "g1", "LATE", "x")),
      deploykit.EINVALID,
      "This group is staged for deletion.",
    );

    const applied = await pending.applyPendingChanges(p.id);
    expect(applied.redeployed_service_ids).toEqual([webID]);
    await expectError(canvas.findNodeByID(p.id, "g1"), deploykit.ENOTFOUND);
    expect(await groupVars(env, "g1")).toEqual([]);
    // The child keeps its place on screen: relative (10, 20) in a group at (100, 100) is (110, 120).
    const web = await canvas.findNodeByID(p.id, "n-web");
    expect(web).toMatchObject({ position_x: 110, position_y: 120 });
    expect(web.parent_id).toBeUndefined();
    expect(await pending.findPendingChanges(p.id)).toEqual([]);
  });

  it("discarding, or removing the entry, keeps the group with its variables", async () => {
    const { p, pending, canvas, env } = await setup({ REGION: "eu" });
    await pending.deleteGroup(p.id, null, "g1");
    await pending.discardPendingChanges(p.id);
    expect(await canvas.findNodeByID(p.id, "g1")).toMatchObject({ type: "group", label: "backend" });
    expect(await groupVars(env, "g1")).toEqual(["REGION"]);

    const again = await pending.deleteGroup(p.id, null, "g1");
    await pending.removePendingChange(p.id, again.staged?.id as string);
    expect(await pending.applyPendingChanges(p.id)).toMatchObject({ redeployed_service_ids: [] });
    expect(await groupVars(env, "g1")).toEqual(["REGION"]);
    expect(await canvas.findNodeByID(p.id, "n-web")).toMatchObject({ parent_id: "g1" });
  });

  it("a group without variables goes at once, with the variables staged for it", async () => {
    const { p, pending, canvas } = await setup();
    const staged = await pending.appendPendingChange(p.id, null, envCreate("group", "g1", "ZONE", "a"));
    const r = await pending.deleteGroup(p.id, null, "g1");
    expect(r.staged).toBeNull();
    expect(r.removed_ids).toEqual([staged.id]);
    expect(r.children).toMatchObject([{ id: "n-web", position_x: 110, position_y: 120 }]);
    expect(r.children[0]?.parent_id).toBeUndefined();
    await expectError(canvas.findNodeByID(p.id, "g1"), deploykit.ENOTFOUND);
    expect(await pending.findPendingChanges(p.id)).toEqual([]);
    // Deploy has nothing to trip over.
    await expect(pending.applyPendingChanges(p.id)).resolves.toMatchObject({ applied_count: 0 });
  });

  it("a child's variable that reads the group's is named when the deletion is staged", async () => {
    const { db, p, pending, webID } = await setup({ REGION: "eu" });
    await mustCreateEnvVar(db, { scope: "service", scope_id: webID, key: "WHERE", value: "${{REGION}}" });
    const err = await expectError(pending.deleteGroup(p.id, null, "g1"), deploykit.EINVALID);
    expect(err.message).toContain("REGION");
    expect(await pending.findPendingChanges(p.id)).toEqual([]);
  });

  it("refuses what is not a group of the project, also through the generic append", async () => {
    const { p, pending } = await setup();
    await expectError(pending.deleteGroup(p.id, null, "n-web"), deploykit.ENOTFOUND, "Group not found.");
    await expectError(pending.deleteGroup(p.id, null, "nope"), deploykit.ENOTFOUND, "Group not found.");
    await expectError(
      pending.appendPendingChange(p.id, null, { op: deploykit.OP_GROUP_DELETE, target_type: deploykit.TARGET_SERVICE, target_id: "g1" }),
      deploykit.EINVALID,
      "Target type does not match the op.",
    );
  });
});
