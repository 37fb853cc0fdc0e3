import type { Connection, Edge, Node } from "@xyflow/react";
import { type Dispatch, type RefObject, type SetStateAction, useCallback, useMemo } from "react";
import { toast } from "sonner";
import type { CanvasEdge, CanvasNode } from "../../../../../src/canvas.ts";
import type { CanvasActions, DraftSubmit } from "../components/canvas-context.ts";
import type { CanvasAction, CanvasModel } from "../lib/canvas-state.ts";
import { type LocalDraft, NOTE_COLORS } from "../lib/flow.ts";
import { upsertPayload } from "../lib/payloads.ts";
import type { CanvasSend } from "./use-canvas-sync.ts";

export interface CanvasEditsInput {
  projectID: string;
  canvasRef: RefObject<CanvasModel>;
  draftsRef: RefObject<LocalDraft[]>;
  setDrafts: Dispatch<SetStateAction<LocalDraft[]>>;
  send: CanvasSend;
  dispatch: Dispatch<CanvasAction>;
}

function uuid(): string {
  return crypto.randomUUID();
}

/**
 * What a user changes on the canvas, sent over its socket and shown at once: node edits, notes and
 * groups, service drafts, deletes (a deployed service, or a group with variables, stays until the
 * server answers), and the user's own edges. A change that cannot be sent says so.
 */
export function useCanvasEdits({ projectID, canvasRef, draftsRef, setDrafts, send, dispatch }: CanvasEditsInput) {
  const requireSend: CanvasSend = useCallback(
    (type, payload) => {
      const ok = send(type, payload);
      if (!ok) toast.error("Not connected", { description: "Reconnect to change the canvas." });
      return ok;
    },
    [send],
  );

  const actions = useMemo<CanvasActions>(
    () => ({
      updateNode: (id, patch) => {
        const n = canvasRef.current.nodes.find((x) => x.id === id);
        if (!n) return;
        const next = { ...n, ...patch };
        if (requireSend("node:upsert", upsertPayload(next))) dispatch({ type: "node-upsert", node: next });
      },
      submitDraft: (draftID: string, v: DraftSubmit) => {
        const d = draftsRef.current.find((x) => x.id === draftID);
        if (!d) return;
        if (!requireSend("service:create", { draft_id: draftID, x: d.x, y: d.y, ...v })) return;
        setDrafts((ds) => ds.map((x) => (x.id === draftID ? ({ ...x, submitting: true, error: undefined } as LocalDraft) : x)));
      },
      cancelDraft: (draftID: string) => {
        setDrafts((ds) => ds.filter((x) => x.id !== draftID));
        send("service:draft-cancel", { draft_id: draftID });
      },
    }),
    [dispatch, requireSend, send, setDrafts],
  );

  const addNode = useCallback(
    (type: "note" | "group", x: number, y: number) => {
      const w = type === "note" ? 220 : 520;
      const h = type === "note" ? 220 : 360;
      const now = new Date().toISOString();
      const node: CanvasNode = {
        id: uuid(),
        project_id: projectID,
        type,
        label: "",
        position_x: x - w / 2,
        position_y: y - h / 2,
        width: w,
        height: h,
        data: type === "note" ? JSON.stringify({ backgroundColor: NOTE_COLORS[0] }) : "{}",
        created_at: now,
        updated_at: now,
      };
      if (requireSend("node:upsert", upsertPayload(node))) dispatch({ type: "node-upsert", node });
    },
    [projectID, requireSend, dispatch],
  );

  const addDraft = useCallback(
    (x: number, y: number, prefill?: LocalDraft["prefill"]) => {
      const id = uuid();
      const draft: LocalDraft = { id, x: x - 160, y: y - 40, ...(prefill ? { prefill } : {}) };
      setDrafts((ds) => [...ds, draft]);
      send("service:draft-start", { draft_id: id, x: draft.x, y: draft.y });
    },
    [send, setDrafts],
  );

  const deleteNodes = useCallback(
    (ids: string[]) => {
      for (const id of ids) {
        if (id.startsWith("draft-")) {
          actions.cancelDraft(id.slice(6));
          continue;
        }
        if (id.startsWith("ghost-")) continue;
        const n = canvasRef.current.nodes.find((x) => x.id === id);
        if (!n) continue;
        if (!requireSend("node:delete", { id })) return;
        // A deployed service stays (faded) until Deploy, and so does a group with variables (the
        // server decides, then says node:deleted or pending-change:added); anything else goes at once.
        if (!(n.type === "service" && n.service_id) && n.type !== "group") dispatch({ type: "node-delete", id });
      }
    },
    [actions, requireSend, dispatch],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      if (!c.source || !c.target || c.source === c.target) return;
      const id = `e-${c.source}-${c.target}`;
      const now = new Date().toISOString();
      const edge: CanvasEdge = {
        id,
        project_id: projectID,
        source_id: c.source,
        target_id: c.target,
        data: "{}",
        created_at: now,
        updated_at: now,
      };
      if (requireSend("edge:upsert", { id, source_id: c.source, target_id: c.target, data: "{}" })) dispatch({ type: "edge-upsert", edge });
    },
    [projectID, requireSend, dispatch],
  );

  const onBeforeDelete = useCallback(
    async ({ nodes: ns, edges: es }: { nodes: Node[]; edges: Edge[] }) => {
      deleteNodes(ns.map((n) => n.id));
      const nodeIDs = new Set(ns.map((n) => n.id));
      for (const e of es) {
        if ((e.data as { managed?: boolean } | undefined)?.managed) continue;
        if (nodeIDs.has(e.source) || nodeIDs.has(e.target)) continue;
        if (requireSend("edge:delete", { id: e.id })) dispatch({ type: "edge-delete", id: e.id });
      }
      return false;
    },
    [deleteNodes, requireSend, dispatch],
  );

  return { requireSend, actions, addNode, addDraft, deleteNodes, onConnect, onBeforeDelete };
}
