import { applyNodeChanges, type Node, type NodeChange, type OnNodeDrag, type ReactFlowInstance } from "@xyflow/react";
import { type Dispatch, type RefObject, type SetStateAction, useCallback, useRef } from "react";
import type { CanvasNode, NodePosition } from "../../../../../src/canvas.ts";
import type { CanvasAction, CanvasModel } from "../lib/canvas-state.ts";
import type { LocalDraft } from "../lib/flow.ts";
import { groupAt } from "../lib/geometry.ts";
import { upsertPayload } from "../lib/payloads.ts";
import type { CanvasSend } from "./use-canvas-sync.ts";

const MOVE_THROTTLE_MS = 50;

export interface NodeMovesInput {
  rf: Pick<ReactFlowInstance, "getInternalNode">;
  canvasRef: RefObject<CanvasModel>;
  setNodes: Dispatch<SetStateAction<Node[]>>;
  setDrafts: Dispatch<SetStateAction<LocalDraft[]>>;
  send: CanvasSend;
  dispatch: Dispatch<CanvasAction>;
  /** Nodes this user is dragging: remote moves of them are ignored meanwhile. */
  localDrag: RefObject<Set<string>>;
}

/**
 * Dragging on the canvas: peers see a dragged node move live (positions queued and sent at most
 * every MOVE_THROTTLE_MS), and a drop settles it: into or out of a group (re-parented with its
 * on-screen place kept), a draft's new place, or a plain move.
 */
export function useNodeMoves({ rf, canvasRef, setNodes, setDrafts, send, dispatch, localDrag }: NodeMovesInput) {
  const moveQueue = useRef(new Map<string, NodePosition>());
  const moveTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const flushMoves = useCallback(() => {
    moveTimer.current = null;
    if (moveQueue.current.size === 0) return;
    const positions = [...moveQueue.current.values()].filter((p) => !p.id.startsWith("draft-"));
    moveQueue.current.clear();
    if (positions.length) send("node:move", { positions });
  }, [send]);

  const onNodesChange = useCallback(
    (chs: NodeChange[]) => {
      setNodes((nds) => applyNodeChanges(chs, nds));
      for (const c of chs) {
        if (c.type === "position" && c.position && c.dragging) {
          moveQueue.current.set(c.id, { id: c.id, position_x: c.position.x, position_y: c.position.y });
          if (moveTimer.current === null) moveTimer.current = setTimeout(flushMoves, MOVE_THROTTLE_MS);
        }
      }
    },
    [flushMoves, setNodes],
  );
  const onNodeDragStart = useCallback(
    ((_e, _n, dragged) => {
      for (const d of dragged) localDrag.current.add(d.id);
    }) satisfies OnNodeDrag,
    [localDrag],
  );

  const onNodeDragStop = useCallback(
    ((_e, _n, dragged) => {
      if (moveTimer.current !== null) clearTimeout(moveTimer.current);
      moveQueue.current.clear();
      moveTimer.current = null;
      const groups = canvasRef.current.nodes
        .filter((g) => g.type === "group")
        .map((g) => ({ id: g.id, x: g.position_x, y: g.position_y, width: g.width ?? 520, height: g.height ?? 360 }));
      const moves: NodePosition[] = [];
      for (const d of dragged) {
        localDrag.current.delete(d.id);
        if (d.id.startsWith("draft-")) {
          const draftID = d.id.slice(6);
          setDrafts((ds) => ds.map((x) => (x.id === draftID ? { ...x, x: d.position.x, y: d.position.y } : x)));
          send("service:draft-start", { draft_id: draftID, x: d.position.x, y: d.position.y });
          continue;
        }
        const n = canvasRef.current.nodes.find((x) => x.id === d.id);
        const internal = rf.getInternalNode(d.id);
        if (!n || !internal) continue;
        if (n.type !== "group") {
          const abs = internal.internals.positionAbsolute;
          const w = internal.measured.width ?? 0;
          const h = internal.measured.height ?? 0;
          const hit = groupAt(groups, { x: abs.x + w / 2, y: abs.y + h / 2 }, n.id);
          const newParent = hit?.id ?? null;
          if (newParent !== (n.parent_id ?? null)) {
            const next: CanvasNode = { ...n, position_x: abs.x - (hit?.x ?? 0), position_y: abs.y - (hit?.y ?? 0) };
            if (newParent) next.parent_id = newParent;
            else delete next.parent_id;
            if (send("node:upsert", upsertPayload(next))) dispatch({ type: "node-upsert", node: next });
            continue;
          }
        }
        moves.push({ id: d.id, position_x: d.position.x, position_y: d.position.y });
      }
      if (moves.length) {
        dispatch({ type: "nodes-move", positions: moves });
        send("node:move", { positions: moves });
      }
    }) satisfies OnNodeDrag,
    [rf, canvasRef, send, dispatch, setDrafts, localDrag],
  );

  return { onNodesChange, onNodeDragStart, onNodeDragStop };
}
