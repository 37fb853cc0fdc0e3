import type { Edge, Node } from "@xyflow/react";
import type { CanvasEdge, CanvasNode } from "../../../../../src/canvas.ts";
import type { CanvasDraft } from "../../../../../src/canvas-messages.ts";
import type { PortMapping } from "../../../../../src/deployment.ts";
import type { Service, ServiceStatus } from "../../../../../src/service.ts";
import type { PendingService, ServiceOverride } from "../../../shared/pending-changes/lib/staged.ts";

/**
 * Pure derivation of React Flow nodes and edges from server state (canvas, services, staged changes,
 * drafts). Custom nodes read only their `data`, and mergeFlowNodes keeps object identity for nodes
 * whose inputs did not change, so a drag or a status change re-renders one node, not two hundred.
 */

export const SERVICE_NODE_WIDTH = 300;
/** Fixed, so fitView and visibility culling work before a node is measured and live data never shifts layout. */
export const SERVICE_NODE_HEIGHT = 132;
export const NOTE_COLORS = ["#FFE69A", "#FFB3BA", "#BAE1FF", "#BAFFC9", "#E0BBE4", "#D9D9D9"] as const;

export type DisplayStatus = ServiceStatus | "pending";

export interface ServiceNodeData extends Record<string, unknown> {
  name: string;
  /** Image of the active deployment, else the service's (or the staged create's); null when unknown. */
  image: string | null;
  status: DisplayStatus;
  iconUrl: string | null;
  serviceId: string | null;
  pendingDelete: boolean;
  pendingCreate: boolean;
  renamed: boolean;
  publicUrl: string | null;
  publicLabel: string | null;
  internal: string | null;
  /** A cron service's schedule (UTC), and its project for the last-run lookup. */
  cronSchedule?: string | null;
  projectId?: string | null;
}

export interface NoteNodeData extends Record<string, unknown> {
  text: string;
  color: string;
}

export interface GroupNodeData extends Record<string, unknown> {
  label: string;
  /** Its deletion is staged: it goes, with its variables, at Deploy. */
  pendingDelete: boolean;
}

export interface DraftPrefill {
  name: string;
  image: string;
  icon_url?: string;
  env_vars: { key: string; value: string; sealed?: boolean }[];
  ports?: PortMapping[];
  volumes?: { name: string; mount_path: string }[];
  /** A preset's command (e.g. Redis started with its password enforced). */
  start_command?: string[];
}

export interface LocalDraft {
  id: string;
  x: number;
  y: number;
  prefill?: DraftPrefill;
  error?: string;
  submitting?: boolean;
}

/** Another user's draft, shown as a ghost. */
export type RemoteDraft = CanvasDraft;

export interface DraftNodeData extends Record<string, unknown> {
  draftId: string;
  prefill: DraftPrefill | null;
  error: string | null;
  submitting: boolean;
}

export interface GhostNodeData extends Record<string, unknown> {
  userName: string;
  userID: string;
}

export interface DeriveInput {
  nodes: readonly CanvasNode[];
  services: ReadonlyMap<string, Service>;
  overrides: ReadonlyMap<string, ServiceOverride>;
  pending: ReadonlyMap<string, PendingService>;
  /** Host name the browser reaches the server by (published ports live there). */
  host: string;
  drafts: readonly LocalDraft[];
  ghosts: readonly RemoteDraft[];
  /** Groups whose deletion is staged. */
  deletingGroups?: ReadonlySet<string>;
}

export function parseData(data: string | undefined): Record<string, unknown> {
  if (!data) return {};
  try {
    const v = JSON.parse(data);
    return v && typeof v === "object" && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

/** How to reach a service: published host:port (a link) and internal name:port. */
export function serviceEndpoints(name: string, ports: readonly PortMapping[] | undefined, host: string) {
  const first = ports?.[0];
  const published = ports?.find((p) => p.host_port && p.host_port > 0 && p.protocol !== "udp");
  const hostPart = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return {
    publicUrl: published ? `http://${hostPart}:${published.host_port}` : null,
    publicLabel: published ? `${hostPart}:${published.host_port}` : null,
    internal: first ? `${name}:${first.container_port}` : null,
  };
}

function serviceData(n: CanvasNode, input: DeriveInput): ServiceNodeData {
  const svc = n.service_id ? input.services.get(n.service_id) : undefined;
  const o = n.service_id ? input.overrides.get(n.service_id) : undefined;
  const pend = !n.service_id ? input.pending.get(n.id) : undefined;
  const name = o?.name ?? svc?.name ?? pend?.name ?? n.label;
  const nodeImage = parseData(n.data).image;
  // The serving image, else the one being deployed (a first deploy that is starting or failed).
  const image = svc
    ? (svc.active_deployment?.image ?? (svc.image || null))
    : (pend?.image ?? (typeof nodeImage === "string" ? nodeImage : null));
  const icon = o && o.icon_url !== undefined ? o.icon_url : (svc?.icon_url ?? pend?.icon_url ?? null);
  const ports = svc?.ports ?? (Array.isArray(pend?.change.payload.ports) ? (pend.change.payload.ports as PortMapping[]) : undefined);
  return {
    name,
    image,
    status: svc ? svc.status : n.service_id ? "created" : "pending",
    iconUrl: icon || null,
    serviceId: n.service_id ?? null,
    pendingDelete: o?.deleted ?? false,
    pendingCreate: !n.service_id,
    renamed: o?.name !== undefined && svc !== undefined && o.name !== svc.name,
    ...serviceEndpoints(name, ports, input.host),
    ...(svc?.cron_schedule ? { cronSchedule: svc.cron_schedule, projectId: svc.project_id } : {}),
  };
}

export function deriveFlowNodes(input: DeriveInput): Node[] {
  const out: Node[] = [];
  const ids = new Set(input.nodes.map((n) => n.id));
  for (const n of input.nodes) {
    const base = {
      id: n.id,
      position: { x: n.position_x, y: n.position_y },
      ...(n.parent_id && ids.has(n.parent_id) ? { parentId: n.parent_id } : {}),
    };
    switch (n.type) {
      case "service": {
        const data = serviceData(n, input);
        out.push({
          ...base,
          type: "service",
          data,
          width: SERVICE_NODE_WIDTH,
          height: SERVICE_NODE_HEIGHT,
          ...(data.pendingDelete ? { selectable: false } : {}),
        });
        break;
      }
      case "note": {
        const d = parseData(n.data);
        out.push({
          ...base,
          type: "note",
          data: { text: n.label, color: typeof d.backgroundColor === "string" ? d.backgroundColor : NOTE_COLORS[0] } satisfies NoteNodeData,
          width: n.width ?? 220,
          height: n.height ?? 220,
        });
        break;
      }
      case "group":
        out.push({
          ...base,
          type: "group",
          data: { label: n.label, pendingDelete: input.deletingGroups?.has(n.id) ?? false } satisfies GroupNodeData,
          width: n.width ?? 520,
          height: n.height ?? 360,
          zIndex: -1,
        });
        break;
      default:
        out.push({ ...base, type: "default", data: { label: n.label } });
    }
  }
  for (const d of input.drafts)
    out.push({
      id: `draft-${d.id}`,
      type: "service-draft",
      position: { x: d.x, y: d.y },
      data: {
        draftId: d.id,
        prefill: d.prefill ?? null,
        error: d.error ?? null,
        submitting: d.submitting ?? false,
      } satisfies DraftNodeData,
      dragHandle: ".draft-handle",
      width: 320,
      selectable: false,
      deletable: false,
      zIndex: 10,
    });
  for (const g of input.ghosts)
    out.push({
      id: `ghost-${g.draft_id}`,
      type: "service-drafting",
      position: { x: g.x, y: g.y },
      data: { userName: g.user_name, userID: g.user_id } satisfies GhostNodeData,
      draggable: false,
      selectable: false,
      deletable: false,
      width: 300,
    });
  return out;
}

export interface EdgeData extends Record<string, unknown> {
  managed: boolean;
  keys: string[];
}

export function deriveFlowEdges(edges: readonly CanvasEdge[], nodeIDs: ReadonlySet<string>): Edge[] {
  const out: Edge[] = [];
  for (const e of edges) {
    if (!nodeIDs.has(e.source_id) || !nodeIDs.has(e.target_id)) continue;
    const d = parseData(e.data);
    const managed = d.managed === "env-ref";
    const keys = Array.isArray(d.keys) ? (d.keys as unknown[]).filter((k): k is string => typeof k === "string") : [];
    out.push({
      id: e.id,
      source: e.source_id,
      target: e.target_id,
      type: "floating",
      ...(e.label ? { label: e.label } : managed && keys.length ? { label: keys.join(", ") } : {}),
      data: { managed, keys } satisfies EdgeData,
      deletable: !managed,
    });
  }
  return out;
}

function shallowEqual(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    const va = a[k];
    const vb = b[k];
    if (va === vb) continue;
    if (va && vb && typeof va === "object" && typeof vb === "object" && JSON.stringify(va) === JSON.stringify(vb)) continue;
    return false;
  }
  return true;
}

const NODE_KEYS = ["type", "parentId", "width", "height", "zIndex", "selectable", "draggable", "deletable", "dragHandle"] as const;

/**
 * Combines freshly derived nodes with what React Flow holds: keeps measured size and selection,
 * keeps the local position of a node being dragged, and returns the previous object (and array)
 * when nothing changed.
 */
export function mergeFlowNodes(prev: readonly Node[], next: readonly Node[]): Node[] {
  const byID = new Map(prev.map((n) => [n.id, n]));
  let same = prev.length === next.length;
  const out = next.map((n, i) => {
    const p = byID.get(n.id);
    if (!p) {
      same = false;
      return n;
    }
    const position = p.dragging ? p.position : n.position;
    let equal = position.x === p.position.x && position.y === p.position.y && shallowEqual(n.data, p.data);
    if (equal) for (const k of NODE_KEYS) if (n[k] !== p[k]) equal = false;
    if (equal) {
      if (prev[i] !== p) same = false;
      return p;
    }
    same = false;
    const merged: Node = { ...n, position };
    if (p.measured) merged.measured = p.measured;
    if (p.selected) merged.selected = p.selected;
    if (p.dragging) merged.dragging = p.dragging;
    return merged;
  });
  return same ? (prev as Node[]) : out;
}

export function mergeFlowEdges(prev: readonly Edge[], next: readonly Edge[]): Edge[] {
  const byID = new Map(prev.map((e) => [e.id, e]));
  let same = prev.length === next.length;
  const out = next.map((e, i) => {
    const p = byID.get(e.id);
    if (p && p.source === e.source && p.target === e.target && p.label === e.label && shallowEqual(p.data, e.data)) {
      if (prev[i] !== p) same = false;
      return p;
    }
    same = false;
    return p?.selected ? { ...e, selected: true } : e;
  });
  return same ? (prev as Edge[]) : out;
}
