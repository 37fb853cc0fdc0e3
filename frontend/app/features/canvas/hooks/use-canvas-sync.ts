import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useReducer, useRef, useState, useSyncExternalStore } from "react";
import { toast } from "sonner";
import type { NodePosition } from "../../../../../src/canvas.ts";
import type {
  CanvasClientMessageType,
  CanvasClientPayloads,
  CanvasPresenceUser,
  CanvasServerMessage,
} from "../../../../../src/canvas-messages.ts";
import { refreshTokens } from "../../../lib/api-client.ts";
import { getAccessToken, onTokensChange } from "../../../lib/tokens.ts";
import { CanvasSocket, canvasSocketURL, type SocketStatus } from "../../../lib/ws-client.ts";
import {
  addPendingChange,
  pendingChangesQueryOptions,
  removePendingChanges,
  setPendingChanges,
} from "../../../shared/pending-changes/api/pending-changes.ts";
import { deploymentsQueryOptions } from "../../../shared/services/api/deployments.ts";
import { upsertRunInCache } from "../../../shared/services/api/runs.ts";
import {
  dropServiceFromCache,
  patchServiceInCache,
  serviceQueryOptions,
  servicesQueryOptions,
  upsertServiceInCache,
} from "../../../shared/services/api/services.ts";
import { canvasReducer, EMPTY_CANVAS, stepToward } from "../lib/canvas-state.ts";
import type { LocalDraft, RemoteDraft } from "../lib/flow.ts";

export type PresenceUser = CanvasPresenceUser;

export interface RemoteCursor {
  user_id: string;
  user_name: string;
  x: number;
  y: number;
  at: number;
}

/** Cursors change ten times a second per user: kept outside React state so only the overlay re-renders. */
export class CursorStore {
  private cursors = new Map<string, RemoteCursor>();
  private snapshot: RemoteCursor[] = [];
  private listeners = new Set<() => void>();
  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
  get = () => this.snapshot;
  set(c: RemoteCursor): void {
    this.cursors.set(c.user_id, c);
    this.emit();
  }
  remove(userID: string): void {
    if (this.cursors.delete(userID)) this.emit();
  }
  clear(): void {
    this.cursors.clear();
    this.emit();
  }
  private emit(): void {
    this.snapshot = [...this.cursors.values()];
    for (const l of this.listeners) l();
  }
}

export function useCursors(store: CursorStore): RemoteCursor[] {
  return useSyncExternalStore(store.subscribe, store.get, store.get);
}

/** Sends one frame to the hub; false when not connected. */
export type CanvasSend = <K extends CanvasClientMessageType>(type: K, payload: CanvasClientPayloads[K]) => boolean;

/** The project's live canvas over the WebSocket (original §3.5 / §12.6). */
export function useCanvasSync(projectID: string, selfID: string) {
  const qc = useQueryClient();
  const [canvas, dispatch] = useReducer(canvasReducer, EMPTY_CANVAS);
  const canvasRef = useRef(canvas);
  canvasRef.current = canvas;
  const [status, setStatus] = useState<SocketStatus>("connecting");
  const [loaded, setLoaded] = useState(false);
  const [users, setUsers] = useState<PresenceUser[]>([]);
  const [ghosts, setGhosts] = useState<RemoteDraft[]>([]);
  const [drafts, setDrafts] = useState<LocalDraft[]>([]);
  const [cursorStore] = useState(() => new CursorStore());
  const socketRef = useRef<CanvasSocket | null>(null);
  const everConnected = useRef(false);
  const targets = useRef(new Map<string, { x: number; y: number }>());
  const raf = useRef<number | null>(null);
  /** Nodes being dragged here: remote moves for them are ignored until drop. */
  const localDrag = useRef(new Set<string>());
  const onCreated = useRef<((nodeID: string) => void) | null>(null);
  /** A quiet reconnect to get fresh state after a refused edit (no disconnect toasts). */
  const resyncing = useRef(false);
  const resyncTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const animate = useCallback(() => {
    raf.current = null;
    const positions: NodePosition[] = [];
    const byID = new Map(canvasRef.current.nodes.map((n) => [n.id, n]));
    for (const [id, t] of targets.current) {
      const n = byID.get(id);
      if (!n) {
        targets.current.delete(id);
        continue;
      }
      const x = stepToward(n.position_x, t.x);
      const y = stepToward(n.position_y, t.y);
      positions.push({ id, position_x: x, position_y: y });
      if (x === t.x && y === t.y) targets.current.delete(id);
    }
    if (positions.length) dispatch({ type: "nodes-move", positions });
    if (targets.current.size > 0) raf.current = requestAnimationFrame(animate);
  }, []);

  const handle = useCallback(
    (msg: CanvasServerMessage) => {
      const pendingKey = pendingChangesQueryOptions(projectID).queryKey;
      switch (msg.type) {
        case "canvas:state": {
          const s = msg.payload;
          targets.current.clear();
          dispatch({ type: "replace", nodes: s.nodes ?? [], edges: s.edges ?? [] });
          setLoaded(true);
          break;
        }
        case "users:list":
          setUsers(msg.payload.users ?? []);
          break;
        case "user:joined": {
          const u = msg.payload;
          setUsers((list) => (list.some((x) => x.user_id === u.user_id) ? list : [...list, u]));
          break;
        }
        case "user:left": {
          const id = msg.payload.user_id;
          setUsers((list) => list.filter((x) => x.user_id !== id));
          setGhosts((g) => g.filter((d) => d.user_id !== id));
          cursorStore.remove(id);
          break;
        }
        case "service:drafts":
          setGhosts((msg.payload.drafts ?? []).filter((d) => d.user_id !== selfID));
          break;
        case "service:drafting": {
          const d = msg.payload;
          if (d.user_id === selfID) break;
          setGhosts((g) => [...g.filter((x) => x.draft_id !== d.draft_id), d]);
          break;
        }
        case "service:draft-cancelled": {
          const draftID = msg.payload.draft_id;
          setGhosts((g) => g.filter((x) => x.draft_id !== draftID));
          break;
        }
        case "service:created": {
          const p = msg.payload;
          setDrafts((ds) => ds.filter((d) => d.id !== p.draft_id));
          if (p.node) {
            dispatch({ type: "node-upsert", node: p.node });
            onCreated.current?.(p.node.id);
          }
          if (p.pending_change) addPendingChange(qc, projectID, p.pending_change);
          break;
        }
        case "service:create-error": {
          const p = msg.payload;
          setDrafts((ds) =>
            ds.map((d) => (d.id === p.draft_id ? { ...d, submitting: false, error: p.message ?? "Failed to create service." } : d)),
          );
          break;
        }
        case "node:upserted":
          dispatch({ type: "node-upsert", node: msg.payload });
          break;
        case "node:deleted":
          dispatch({ type: "node-delete", id: msg.payload.id });
          break;
        case "node:moved": {
          if (msg.payload.user_id === selfID) break;
          for (const pos of msg.payload.positions ?? []) {
            if (localDrag.current.has(pos.id)) continue;
            targets.current.set(pos.id, { x: pos.position_x, y: pos.position_y });
          }
          if (raf.current === null && targets.current.size > 0) raf.current = requestAnimationFrame(animate);
          break;
        }
        case "edge:upserted":
          dispatch({ type: "edge-upsert", edge: msg.payload });
          break;
        case "edge:deleted":
          dispatch({ type: "edge-delete", id: msg.payload.id });
          break;
        case "cursor:updated": {
          const c = msg.payload;
          if (c.user_id !== selfID) cursorStore.set({ user_id: c.user_id, user_name: c.user_name ?? "", x: c.x, y: c.y, at: Date.now() });
          break;
        }
        case "pending-changes:state":
          setPendingChanges(qc, projectID, msg.payload.changes ?? []);
          break;
        case "pending-change:added":
          addPendingChange(qc, projectID, msg.payload);
          break;
        case "pending-changes:removed":
          removePendingChanges(qc, projectID, msg.payload.ids ?? []);
          break;
        case "pending-changes:cleared":
          qc.setQueryData(pendingKey, []);
          break;
        case "pending-changes:applied":
          qc.setQueryData(pendingKey, []);
          void qc.invalidateQueries({ queryKey: ["projects", projectID], predicate: (q) => q.queryKey[2] !== "pending-changes" });
          break;
        case "service:upserted":
          upsertServiceInCache(qc, projectID, msg.payload.service);
          break;
        case "service:status-changed":
          patchServiceInCache(qc, projectID, msg.payload.service_id, { status: msg.payload.new_status });
          break;
        case "service:restarted": {
          // Someone pressed Restart (panel or canvas menu): every viewer's node and panel learn it.
          const { service_id, requested_at } = msg.payload;
          patchServiceInCache(qc, projectID, service_id, { restart_requested_at: requested_at });
          void qc.invalidateQueries({ queryKey: ["projects", projectID, "services", service_id] });
          break;
        }
        case "service:deleted":
          dropServiceFromCache(qc, projectID, msg.payload.service_id);
          break;
        case "deployment:created":
          void qc.invalidateQueries({ queryKey: deploymentsQueryOptions(projectID, msg.payload.deployment.service_id).queryKey });
          break;
        case "deployment:starting":
        case "deployment:healthy":
        case "deployment:failed": {
          const d = msg.payload;
          void qc.invalidateQueries({ queryKey: deploymentsQueryOptions(projectID, d.service_id).queryKey });
          if (msg.type !== "deployment:starting") {
            void qc.invalidateQueries({ queryKey: servicesQueryOptions(projectID).queryKey, exact: true });
            void qc.invalidateQueries({ queryKey: serviceQueryOptions(projectID, d.service_id).queryKey, exact: true });
          }
          break;
        }
        case "run:started":
        case "run:skipped":
        case "run:finished":
          upsertRunInCache(qc, projectID, msg.payload.run);
          break;
        case "error":
          // The server refused a layout edit we already applied locally: resync to roll it back.
          toast.error(msg.payload.message ?? "Canvas error.");
          if (resyncTimer.current === null)
            resyncTimer.current = setTimeout(() => {
              resyncTimer.current = null;
              resyncing.current = true;
              socketRef.current?.reconnect();
            }, 300);
          break;
      }
    },
    [projectID, selfID, qc, cursorStore, animate],
  );

  const handleRef = useRef(handle);
  handleRef.current = handle;

  useEffect(() => {
    let disconnectToast: string | number | null = null;
    const socket = new CanvasSocket({
      url: canvasSocketURL(window.location, projectID),
      getToken: getAccessToken,
      refresh: refreshTokens,
      onMessage: (m) => handleRef.current(m),
      onStatus: (s) => {
        setStatus(s);
        if (resyncing.current) {
          if (s === "connected") resyncing.current = false;
          if (s !== "disconnected") return;
          resyncing.current = false;
        }
        if (s === "connected") {
          if (everConnected.current && disconnectToast !== null) {
            toast.dismiss(disconnectToast);
            disconnectToast = null;
            toast.success("Canvas reconnected");
            void qc.invalidateQueries({ queryKey: servicesQueryOptions(projectID).queryKey });
          }
          everConnected.current = true;
        } else if (everConnected.current && (s === "reconnecting" || s === "disconnected") && disconnectToast === null) {
          disconnectToast = toast.error("Canvas disconnected", {
            description: "Changes will not sync until you reconnect.",
            duration: Number.POSITIVE_INFINITY,
            action: { label: "Reconnect", onClick: () => socket.reconnect() },
          });
          cursorStore.clear();
        }
      },
    });
    socketRef.current = socket;
    socket.connect();
    const off = onTokensChange((t) => {
      if (t) socket.reauth();
    });
    return () => {
      off();
      socket.close();
      socketRef.current = null;
      if (disconnectToast !== null) toast.dismiss(disconnectToast);
      if (raf.current !== null) cancelAnimationFrame(raf.current);
      raf.current = null;
      if (resyncTimer.current !== null) clearTimeout(resyncTimer.current);
      resyncTimer.current = null;
    };
  }, [projectID, qc, cursorStore]);

  const send: CanvasSend = useCallback((type, payload) => socketRef.current?.send(type, payload) ?? false, []);
  const reconnect = useCallback(() => socketRef.current?.reconnect(), []);

  return { canvas, dispatch, loaded, status, users, ghosts, drafts, setDrafts, cursorStore, send, reconnect, localDrag, onCreated };
}
