import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { CanvasService } from "./canvas.ts";
import { expectError, FakeClock, mustCreateProject, mustCreateService, mustOpenDB } from "./testing.ts";

async function setup() {
  const clock = new FakeClock();
  const db = mustOpenDB({ now: clock.now });
  const p = await mustCreateProject(db);
  return { db, clock, p, canvas: new CanvasService(db) };
}

const node = (id: string, extra: Partial<deploykit.CanvasNodeUpsert> = {}): deploykit.CanvasNodeUpsert => ({
  id,
  type: "note",
  position_x: 10,
  position_y: 20,
  ...extra,
});

describe("CanvasService nodes", () => {
  it("inserts, replaces and returns the previous node", async () => {
    const { canvas, p, clock } = await setup();
    const first = await canvas.upsertNode(p.id, node("n1", { label: "hi", width: 220, height: 220, data: '{"backgroundColor":"#fff"}' }));
    expect(first.previous).toBeNull();
    expect(first.node).toMatchObject({
      id: "n1",
      project_id: p.id,
      type: "note",
      label: "hi",
      width: 220,
      data: '{"backgroundColor":"#fff"}',
    });
    clock.advance(1000);
    const second = await canvas.upsertNode(p.id, node("n1", { position_x: 99, width: null }));
    expect(second.previous).toEqual(first.node);
    expect(second.node).toMatchObject({
      position_x: 99,
      label: "hi",
      data: '{"backgroundColor":"#fff"}',
      created_at: first.node.created_at,
    });
    expect(second.node.width).toBeUndefined();
    expect(await canvas.findNodeByID(p.id, "n1")).toEqual(second.node);
    await expectError(canvas.findNodeByID(p.id, "zz"), deploykit.ENOTFOUND, "Node not found.");
  });

  it("keeps parent and service when omitted, clears them with null", async () => {
    const { db, canvas, p } = await setup();
    const s = await mustCreateService(db, p.id);
    await canvas.upsertNode(p.id, node("g", { type: "group" }));
    await canvas.upsertNode(p.id, node("n", { type: "service", parent_id: "g", service_id: s.id }));
    const moved = await canvas.upsertNode(p.id, node("n", { type: "service", position_x: 5 }));
    expect(moved.node).toMatchObject({ parent_id: "g", service_id: s.id, position_x: 5 });
    const cleared = await canvas.upsertNode(p.id, node("n", { type: "service", parent_id: null, service_id: null }));
    expect(cleared.node.parent_id).toBeUndefined();
    expect(cleared.node.service_id).toBeUndefined();
  });

  it.each([
    [node("n", { parent_id: "missing" }), deploykit.EINVALID, "Parent group not found."],
    [node("n", { parent_id: "note" }), deploykit.EINVALID, "Parent must be a group node."],
    [node("n", { parent_id: "n" }), deploykit.EINVALID, "A node cannot be its own parent."],
    [node("g2", { type: "group", parent_id: "g" }), deploykit.EINVALID, "Group nodes cannot be nested inside another group."],
    [node("n", { type: "bogus" }), deploykit.EINVALID, "Node type is invalid."],
    [node("bad id!"), deploykit.EINVALID, "Node id is invalid."],
    [node("n", { position_x: Number.NaN }), deploykit.EINVALID, "Node position is invalid."],
    [node("n", { data: "[]" }), deploykit.EINVALID, "Node data must be a JSON object."],
    [node("n", { service_id: "nope" }), deploykit.EINVALID, "Service not found in this project."],
  ] as const)("refuses %j", async (n, code, message) => {
    const { canvas, p } = await setup();
    await canvas.upsertNode(p.id, node("g", { type: "group" }));
    await canvas.upsertNode(p.id, node("note"));
    await expectError(canvas.upsertNode(p.id, n), code, message);
  });

  it("refuses an id of another project, a second node for one service, an unknown project", async () => {
    const { db, canvas, p } = await setup();
    const q = await mustCreateProject(db);
    const s = await mustCreateService(db, p.id);
    await canvas.upsertNode(p.id, node("n1", { service_id: s.id, type: "service" }));
    await expectError(canvas.upsertNode(q.id, node("n1")), deploykit.ECONFLICT, "Node id is already used in another project.");
    await expectError(
      canvas.upsertNode(p.id, node("n2", { service_id: s.id, type: "service" })),
      deploykit.ECONFLICT,
      "The service already has a canvas node.",
    );
    await expectError(canvas.upsertNode("nope", node("n3")), deploykit.ENOTFOUND, "Project not found.");
  });

  it("refuses turning a group with children into another type", async () => {
    const { canvas, p } = await setup();
    await canvas.upsertNode(p.id, node("g", { type: "group" }));
    await canvas.upsertNode(p.id, node("c", { parent_id: "g" }));
    await expectError(
      canvas.upsertNode(p.id, node("g", { type: "note" })),
      deploykit.EINVALID,
      "A group with children cannot change its type.",
    );
  });

  it("returns parents before children", async () => {
    const { canvas, p, clock } = await setup();
    await canvas.upsertNode(p.id, node("g", { type: "group" }));
    clock.advance(1);
    await canvas.upsertNode(p.id, node("child", { parent_id: "g" }));
    clock.advance(1);
    await canvas.upsertNode(p.id, node("top"));
    expect((await canvas.getCanvas(p.id)).nodes.map((n) => n.id)).toEqual(["g", "top", "child"]);
  });

  it("deleting a group keeps its children where they were on screen", async () => {
    const { canvas, p } = await setup();
    await canvas.upsertNode(p.id, node("g", { type: "group", position_x: 100, position_y: 200 }));
    await canvas.upsertNode(p.id, node("c", { parent_id: "g", position_x: 5, position_y: 6 }));
    await canvas.upsertEdge(p.id, { id: "e", source_id: "g", target_id: "c" });
    await canvas.deleteNode(p.id, "g");
    await canvas.deleteNode(p.id, "g");
    const state = await canvas.getCanvas(p.id);
    expect(state.nodes).toHaveLength(1);
    expect(state.nodes[0]).toMatchObject({ id: "c", position_x: 105, position_y: 206 });
    expect(state.nodes[0]?.parent_id).toBeUndefined();
    expect(state.edges).toEqual([]);
  });

  it("moves nodes in one batch, ignoring unknown ids and other projects' nodes", async () => {
    const { db, canvas, p } = await setup();
    const q = await mustCreateProject(db);
    await canvas.upsertNode(p.id, node("a"));
    await canvas.upsertNode(q.id, node("b"));
    const applied = await canvas.moveNodes(p.id, [
      { id: "a", position_x: 1, position_y: 2 },
      { id: "b", position_x: 3, position_y: 4 },
      { id: "zz", position_x: 5, position_y: 6 },
    ]);
    expect(applied).toEqual([{ id: "a", position_x: 1, position_y: 2 }]);
    expect((await canvas.findNodeByID(q.id, "b")).position_x).toBe(10);
    await expectError(
      canvas.moveNodes(p.id, [{ id: "a", position_x: Number.POSITIVE_INFINITY, position_y: 0 }]),
      deploykit.EINVALID,
      "Node position is invalid.",
    );
  });
});

describe("CanvasService edges", () => {
  it("upserts and deletes edges", async () => {
    const { canvas, p } = await setup();
    await canvas.upsertNode(p.id, node("a"));
    await canvas.upsertNode(p.id, node("b"));
    const e = await canvas.upsertEdge(p.id, { id: "e-a-b", source_id: "a", target_id: "b", label: "uses" });
    expect(e).toMatchObject({ id: "e-a-b", label: "uses", data: "{}" });
    const relabeled = await canvas.upsertEdge(p.id, { id: "e-a-b", source_id: "b", target_id: "a", label: "" });
    expect(relabeled.label).toBeUndefined();
    expect(relabeled.source_id).toBe("b");
    await canvas.deleteEdge(p.id, "e-a-b");
    await canvas.deleteEdge(p.id, "e-a-b");
    expect((await canvas.getCanvas(p.id)).edges).toEqual([]);
  });

  it.each([
    [{ id: "e", source_id: "zz", target_id: "a" }, "Source node not found."],
    [{ id: "e", source_id: "a", target_id: "zz" }, "Target node not found."],
    [
      { id: "e", source_id: "a", target_id: "a", data: '{"managed":"env-ref"}' },
      "This edge is managed by the system and cannot be edited.",
    ],
    [{ id: "e", source_id: "a", target_id: "a", data: "nope" }, "Edge data must be a JSON object."],
  ])("refuses %j", async (edge, message) => {
    const { canvas, p } = await setup();
    await canvas.upsertNode(p.id, node("a"));
    await expectError(canvas.upsertEdge(p.id, edge), deploykit.EINVALID, message);
  });

  it("refuses an edge id of another project", async () => {
    const { db, canvas, p } = await setup();
    const q = await mustCreateProject(db);
    await canvas.upsertNode(p.id, node("a"));
    await canvas.upsertNode(q.id, node("b"));
    await canvas.upsertEdge(q.id, { id: "e", source_id: "b", target_id: "b" });
    await expectError(
      canvas.upsertEdge(p.id, { id: "e", source_id: "a", target_id: "a" }),
      deploykit.ECONFLICT,
      "Edge id is already used in another project.",
    );
    await canvas.deleteEdge(p.id, "e");
    expect((await canvas.getCanvas(q.id)).edges).toHaveLength(1);
  });

  it("protects managed edges from edits and deletion", async () => {
    const { db, canvas, p } = await setup();
    await canvas.upsertNode(p.id, node("a"));
    db.write((tx) =>
      tx.run(
        "INSERT INTO canvas_edges (id, project_id, source_id, target_id, data, created_at, updated_at) VALUES ('m', ?, 'a', 'a', '{\"managed\":\"env-ref\",\"keys\":[\"K\"]}', 'x', 'x')",
        p.id,
      ),
    );
    await expectError(canvas.deleteEdge(p.id, "m"), deploykit.EINVALID, "This edge is managed by the system and cannot be deleted.");
    await expectError(
      canvas.upsertEdge(p.id, { id: "m", source_id: "a", target_id: "a" }),
      deploykit.EINVALID,
      "This edge is managed by the system and cannot be edited.",
    );
  });
});
