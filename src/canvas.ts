import { EINVALID, errorf } from "./errors.ts";

export const NODE_SERVICE = "service";
export const NODE_GROUP = "group";
export const NODE_NOTE = "note";
export const NODE_LABEL = "label";
export const NODE_TYPES = [NODE_SERVICE, NODE_GROUP, NODE_NOTE, NODE_LABEL] as const;
export type NodeType = (typeof NODE_TYPES)[number];

export const GROUP_DEFAULT_WIDTH = 520;
export const GROUP_DEFAULT_HEIGHT = 360;
export const NOTE_SIZE = 220;
export const NODE_DATA_MAX = 16 * 1024;
export const LABEL_MAX = 500;
export const COORD_MAX = 1e7;
/** Data of system-managed edges drawn from `${{name.HOST}}` references. */
export const MANAGED_ENV_REF = "env-ref";

/**
 * A box on a project's canvas. Child positions are relative to their parent group. `data` is a JSON
 * object in a string (service: `{"image"}`, note: `{"backgroundColor"}`).
 */
export interface CanvasNode {
  id: string;
  project_id: string;
  type: NodeType;
  label: string;
  position_x: number;
  position_y: number;
  width?: number;
  height?: number;
  service_id?: string;
  parent_id?: string;
  data: string;
  created_at: string;
  updated_at: string;
}

/**
 * What a client sends to place a node. `parent_id` and `service_id` omitted (undefined) keep the
 * stored values; `null` clears the parent.
 */
export interface CanvasNodeUpsert {
  id: string;
  type: string;
  label?: string;
  position_x: number;
  position_y: number;
  width?: number | null;
  height?: number | null;
  service_id?: string | null;
  parent_id?: string | null;
  data?: string;
}

export interface CanvasEdge {
  id: string;
  project_id: string;
  source_id: string;
  target_id: string;
  label?: string;
  data: string;
  created_at: string;
  updated_at: string;
}

export interface CanvasEdgeUpsert {
  id: string;
  source_id: string;
  target_id: string;
  label?: string | null;
  data?: string;
}

export interface NodePosition {
  id: string;
  position_x: number;
  position_y: number;
}

export interface CanvasState {
  nodes: CanvasNode[];
  edges: CanvasEdge[];
}

const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

function isCoord(n: unknown): boolean {
  return typeof n === "number" && Number.isFinite(n) && Math.abs(n) <= COORD_MAX;
}

function parseObject(data: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(data);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** True when edge data marks the edge as managed by the system. */
export function isManagedEdgeData(data: string | undefined): boolean {
  if (!data) return false;
  const obj = parseObject(data);
  return obj !== null && Object.hasOwn(obj, "managed");
}

export function validateNodeID(id: unknown, what = "Node"): asserts id is string {
  if (typeof id !== "string" || !ID_PATTERN.test(id)) throw errorf(EINVALID, `${what} id is invalid.`);
}

/** Shape checks that need no database; parent existence is checked by CanvasService. Throws EINVALID. */
export function validateNodeUpsert(n: CanvasNodeUpsert): void {
  validateNodeID(n.id);
  if (!(NODE_TYPES as readonly string[]).includes(n.type)) throw errorf(EINVALID, "Node type is invalid.");
  if (!isCoord(n.position_x) || !isCoord(n.position_y)) throw errorf(EINVALID, "Node position is invalid.");
  for (const s of [n.width, n.height]) {
    if (s !== undefined && s !== null && (!isCoord(s) || s < 0)) throw errorf(EINVALID, "Node size is invalid.");
  }
  if (n.label !== undefined && (typeof n.label !== "string" || n.label.length > LABEL_MAX))
    throw errorf(EINVALID, "Node label is invalid.");
  if (n.data !== undefined && (typeof n.data !== "string" || n.data.length > NODE_DATA_MAX || parseObject(n.data) === null))
    throw errorf(EINVALID, "Node data must be a JSON object.");
  if (n.parent_id) {
    validateNodeID(n.parent_id, "Parent");
    if (n.type === NODE_GROUP) throw errorf(EINVALID, "Group nodes cannot be nested inside another group.");
    if (n.parent_id === n.id) throw errorf(EINVALID, "A node cannot be its own parent.");
  }
}

export function validateEdgeUpsert(e: CanvasEdgeUpsert): void {
  validateNodeID(e.id, "Edge");
  validateNodeID(e.source_id, "Source");
  validateNodeID(e.target_id, "Target");
  if (e.label !== undefined && e.label !== null && (typeof e.label !== "string" || e.label.length > LABEL_MAX))
    throw errorf(EINVALID, "Edge label is invalid.");
  if (e.data !== undefined && (typeof e.data !== "string" || e.data.length > NODE_DATA_MAX || parseObject(e.data) === null))
    throw errorf(EINVALID, "Edge data must be a JSON object.");
  if (isManagedEdgeData(e.data)) throw errorf(EINVALID, "This edge is managed by the system and cannot be edited.");
}

export function validatePositions(positions: NodePosition[]): void {
  if (!Array.isArray(positions) || positions.length > 1000) throw errorf(EINVALID, "Positions must be a list of at most 1000.");
  for (const p of positions) {
    validateNodeID(p?.id);
    if (!isCoord(p.position_x) || !isCoord(p.position_y)) throw errorf(EINVALID, "Node position is invalid.");
  }
}

/**
 * CanvasService stores the canvas layout. Layout edits apply at once; only service consequences
 * (reparenting a deployed service, deleting one) are staged, by the caller, through PendingChangeService.
 */
export interface CanvasService {
  /** Nodes (parents before children) and edges of a project. */
  getCanvas(projectID: string): Promise<CanvasState>;
  /** Throws ENOTFOUND "Node not found.". */
  findNodeByID(projectID: string, id: string): Promise<CanvasNode>;
  /**
   * Inserts or replaces a node. Omitted parent_id/service_id keep the stored values.
   * Throws EINVALID ("Parent group not found.", "Parent must be a group node.", shape errors),
   * ECONFLICT when the id belongs to another project.
   */
  upsertNode(projectID: string, node: CanvasNodeUpsert): Promise<{ node: CanvasNode; previous: CanvasNode | null }>;
  /** Deletes a node (edges cascade, children lose their parent, a group's env vars go). No error when gone. */
  deleteNode(projectID: string, id: string): Promise<void>;
  /** Batch move in one transaction; unknown ids are ignored. Returns the positions applied. */
  moveNodes(projectID: string, positions: NodePosition[]): Promise<NodePosition[]>;
  /** Throws EINVALID (incl. managed edges, unknown endpoints). */
  upsertEdge(projectID: string, edge: CanvasEdgeUpsert): Promise<CanvasEdge>;
  /** Throws EINVALID "This edge is managed by the system and cannot be deleted."; no error when gone. */
  deleteEdge(projectID: string, id: string): Promise<void>;
}
