import { describe, expect, it } from "vitest";
import type { CanvasNode } from "../../../../../src/canvas.ts";
import { canvasReducer, EMPTY_CANVAS, stepToward } from "./canvas-state.ts";
import { borderPoint, groupAt, sideOf } from "./geometry.ts";

function node(id: string, type: CanvasNode["type"], x: number, y: number, extra: Partial<CanvasNode> = {}): CanvasNode {
  return { id, project_id: "p", type, label: "", position_x: x, position_y: y, data: "{}", created_at: "", updated_at: "", ...extra };
}

describe("canvasReducer", () => {
  it("orders groups before other nodes on replace and on upsert", () => {
    let s = canvasReducer(EMPTY_CANVAS, { type: "replace", nodes: [node("a", "note", 0, 0), node("g", "group", 0, 0)], edges: [] });
    expect(s.nodes.map((n) => n.id)).toEqual(["g", "a"]);
    s = canvasReducer(s, { type: "node-upsert", node: node("g2", "group", 0, 0) });
    expect(s.nodes.map((n) => n.id)).toEqual(["g", "g2", "a"]);
  });

  it("ignores an echo identical to the current node", () => {
    const s = canvasReducer(EMPTY_CANVAS, { type: "replace", nodes: [node("a", "note", 1, 2)], edges: [] });
    expect(canvasReducer(s, { type: "node-upsert", node: { ...node("a", "note", 1, 2), updated_at: "later" } })).toBe(s);
  });

  it("deleting a group turns its children back into absolute positions and drops edges", () => {
    const s = canvasReducer(EMPTY_CANVAS, {
      type: "replace",
      nodes: [node("g", "group", 100, 200), node("c", "note", 10, 20, { parent_id: "g" })],
      edges: [{ id: "e", project_id: "p", source_id: "g", target_id: "c", data: "{}", created_at: "", updated_at: "" }],
    });
    const after = canvasReducer(s, { type: "node-delete", id: "g" });
    expect(after.nodes).toEqual([node("c", "note", 110, 220)]);
    expect(after.edges).toEqual([]);
  });

  it("moves nodes and returns the same state when nothing moved", () => {
    const s = canvasReducer(EMPTY_CANVAS, { type: "replace", nodes: [node("a", "note", 0, 0)], edges: [] });
    const moved = canvasReducer(s, { type: "nodes-move", positions: [{ id: "a", position_x: 5, position_y: 6 }] });
    expect(moved.nodes[0]).toMatchObject({ position_x: 5, position_y: 6 });
    expect(canvasReducer(moved, { type: "nodes-move", positions: [{ id: "a", position_x: 5, position_y: 6 }] })).toBe(moved);
  });
});

describe("stepToward", () => {
  it("moves a quarter of the way and snaps when close", () => {
    expect(stepToward(0, 100)).toBe(25);
    expect(stepToward(99.7, 100)).toBe(100);
    let x = 0;
    for (let i = 0; i < 40; i++) x = stepToward(x, 100);
    expect(x).toBe(100);
  });
});

describe("geometry", () => {
  const a = { x: 0, y: 0, width: 100, height: 50 };
  it.each([
    [{ x: 300, y: 0, width: 100, height: 50 }, { x: 100, y: 25 }, "right"],
    [{ x: -300, y: 0, width: 100, height: 50 }, { x: 0, y: 25 }, "left"],
    [{ x: 0, y: 300, width: 100, height: 50 }, { x: 50, y: 50 }, "bottom"],
    [{ x: 0, y: -300, width: 100, height: 50 }, { x: 50, y: 0 }, "top"],
  ])("border point towards %j", (b, p, side) => {
    const got = borderPoint(a, b);
    expect(got).toEqual(p);
    expect(sideOf(a, got)).toBe(side);
  });

  it("groupAt picks the last containing group and skips the node itself", () => {
    const groups = [
      { id: "g1", x: 0, y: 0, width: 500, height: 500 },
      { id: "g2", x: 100, y: 100, width: 100, height: 100 },
    ];
    expect(groupAt(groups, { x: 150, y: 150 })?.id).toBe("g2");
    expect(groupAt(groups, { x: 150, y: 150 }, "g2")?.id).toBe("g1");
    expect(groupAt(groups, { x: 900, y: 900 })).toBeNull();
  });
});
