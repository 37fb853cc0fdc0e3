import type { CanvasNode } from "../../../../../src/canvas.ts";

/** A node as the canvas socket's `node:upsert` takes it. */
export function upsertPayload(n: CanvasNode) {
  return {
    id: n.id,
    type: n.type,
    label: n.label,
    position_x: n.position_x,
    position_y: n.position_y,
    width: n.width ?? null,
    height: n.height ?? null,
    parent_id: n.parent_id ?? null,
    data: n.data,
  };
}
