import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useReducer, useRef, useState, useSyncExternalStore } from "react";
import { toast } from "sonner";
import type { DeploymentStatusPayload } from "../../../../../src/bus.ts";
import type { CanvasEdge, CanvasNode, NodePosition } from "../../../../../src/canvas.ts";
import type { Deployment } from "../../../../../src/deployment.ts";
import type { ServiceRun } from "../../../../../src/ops.ts";
import type { ApplyResult, PendingChange } from "../../../../../src/pending-change.ts";
import type { Service, ServiceStatus } from "../../../../../src/service.ts";
import { refreshTokens } from "../../../lib/api-client.ts";
import { getAccessToken, onTokensChange } from "../../../lib/tokens.ts";
import { CanvasSocket, canvasSocketURL, type SocketStatus, type WSMessage } from "../../../lib/ws-client.ts";
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

export interface PresenceUser {
  user_id: string;
  user_name: string;
}

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
    (msg: WSMessage) => {
      const p = msg.payload as Record<string, unknown>;
      const pendingKey = pendingChangesQueryOptions(projectID).queryKey;
      switch (msg.type) {
        case "canvas:state": {
          const s = p as unknown as { nodes: CanvasNode[]; edges: CanvasEdge[] };
          targets.current.clear();
          dispatch({ type: "replace", nodes: s.nodes ?? [], edges: s.edges ?? [] });
          setLoaded(true);
          break;
        }
        case "users:list":
          setUsers((p.users as PresenceUser[]) ?? []);
          break;
        case "user:joined": {
          const u = p as unknown as PresenceUser;
          setUsers((list) => (list.some((x) => x.user_id === u.user_id) ? list : [...list, u]));
          break;
        }
        case "user:left": {
          const id = String(p.user_id);
          setUsers((list) => list.filter((x) => x.user_id !== id));
          setGhosts((g) => g.filter((d) => d.user_id !== id));
          cursorStore.remove(id);
          break;
        }
        case "service:drafts":
          setGhosts(((p.drafts as RemoteDraft[]) ?? []).filter((d) => d.user_id !== selfID));
          break;
        case "service:drafting": {
          const d = p as unknown as RemoteDraft;
          if (d.user_id === selfID) break;
          setGhosts((g) => [...g.filter((x) => x.draft_id !== d.draft_id), d]);
          break;
        }
        case "service:draft-cancelled":
          setGhosts((g) => g.filter((x) => x.draft_id !== p.draft_id));
          break;
        case "service:created": {
          const draftID = String(p.draft_id);
          setDrafts((ds) => ds.filter((d) => d.id !== draftID));
          const node = p.node as CanvasNode | undefined;
          if (node) {
            dispatch({ type: "node-upsert", node });
            onCreated.current?.(node.id);
          }
          if (p.pending_change) addPendingChange(qc, projectID, p.pending_change as PendingChange);
          break;
        }
        case "service:create-error": {
          const draftID = String(p.draft_id);
          setDrafts((ds) =>
            ds.map((d) => (d.id === draftID ? { ...d, submitting: false, error: String(p.message ?? "Failed to create service.") } : d)),
          );
          break;
        }
        case "node:upserted":
          dispatch({ type: "node-upsert", node: p as unknown as CanvasNode });
          break;
        case "node:deleted":
          dispatch({ type: "node-delete", id: String(p.id) });
          break;
        case "node:moved": {
          if (p.user_id === selfID) break;
          for (const pos of (p.positions as NodePosition[]) ?? []) {
            if (localDrag.current.has(pos.id)) continue;
            targets.current.set(pos.id, { x: pos.position_x, y: pos.position_y });
          }
          if (raf.current === null && targets.current.size > 0) raf.current = requestAnimationFrame(animate);
          break;
        }
        case "edge:upserted":
          dispatch({ type: "edge-upsert", edge: p as unknown as CanvasEdge });
          break;
        case "edge:deleted":
          dispatch({ type: "edge-delete", id: String(p.id) });
          break;
        case "cursor:updated":
          if (p.user_id !== selfID)
            cursorStore.set({
              user_id: String(p.user_id),
              user_name: String(p.user_name ?? ""),
              x: Number(p.x),
              y: Number(p.y),
              at: Date.now(),
            });
          break;
        case "pending-changes:state":
          setPendingChanges(qc, projectID, (p.changes as PendingChange[]) ?? []);
          break;
        case "pending-change:added":
          addPendingChange(qc, projectID, p as unknown as PendingChange);
          break;
        case "pending-changes:removed":
          removePendingChanges(qc, projectID, (p.ids as string[]) ?? []);
          break;
        case "pending-changes:cleared":
          qc.setQueryData(pendingKey, []);
          break;
        case "pending-changes:applied": {
          const r = p as unknown as ApplyResult;
          qc.setQueryData(pendingKey, []);
          void qc.invalidateQueries({ queryKey: ["projects", projectID], predicate: (q) => q.queryKey[2] !== "pending-changes" });
          void r;
          break;
        }
        case "service:upserted":
          upsertServiceInCache(qc, projectID, p.service as Service);
          break;
        case "service:status-changed":
          patchServiceInCache(qc, projectID, String(p.service_id), { status: p.new_status as ServiceStatus });
          break;
        case "service:restarted":
          // Someone pressed Restart (panel or canvas menu): every viewer's node and panel learn it.
          patchServiceInCache(qc, projectID, String(p.service_id), { restart_requested_at: String(p.requested_at) });
          void qc.invalidateQueries({ queryKey: ["projects", projectID, "services", String(p.service_id)] });
          break;
        case "service:deleted":
          dropServiceFromCache(qc, projectID, String(p.service_id));
          break;
        case "deployment:created": {
          const d = p.deployment as Deployment;
          void qc.invalidateQueries({ queryKey: deploymentsQueryOptions(projectID, d.service_id).queryKey });
          break;
        }
        case "deployment:starting":
        case "deployment:healthy":
        case "deployment:failed": {
          const d = p as unknown as DeploymentStatusPayload;
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
          upsertRunInCache(qc, projectID, p.run as ServiceRun);
          break;
        case "error":
          // The server refused a layout edit we already applied locally: resync to roll it back.
          toast.error(String(p.message ?? "Canvas error."));
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

  const send = useCallback((type: string, payload: unknown) => socketRef.current?.send(type, payload) ?? false, []);
  const reconnect = useCallback(() => socketRef.current?.reconnect(), []);

  return { canvas, dispatch, loaded, status, users, ghosts, drafts, setDrafts, cursorStore, send, reconnect, localDrag, onCreated };
}
