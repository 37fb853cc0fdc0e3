import * as deploykit from "../index.ts";
import { type DB, newID, type Tx, toJSON } from "./db.ts";

interface NodeRow {
  id: string;
  project_id: string;
  type: deploykit.NodeType;
  label: string;
  position_x: number;
  position_y: number;
  width: number | null;
  height: number | null;
  service_id: string | null;
  parent_id: string | null;
  data: string;
  created_at: string;
  updated_at: string;
}

interface EdgeRow {
  id: string;
  project_id: string;
  source_id: string;
  target_id: string;
  label: string | null;
  data: string;
  created_at: string;
  updated_at: string;
}

export class CanvasService implements deploykit.CanvasService {
  readonly #db: DB;

  constructor(db: DB) {
    this.#db = db;
  }

  async getCanvas(projectID: string): Promise<deploykit.CanvasState> {
    return this.#db.read((tx) => getCanvas(tx, projectID));
  }

  async findNodeByID(projectID: string, id: string): Promise<deploykit.CanvasNode> {
    return this.#db.read((tx) => {
      const n = findNode(tx, projectID, id);
      if (!n) throw deploykit.errorf(deploykit.ENOTFOUND, "Node not found.");
      return n;
    });
  }

  async upsertNode(
    projectID: string,
    node: deploykit.CanvasNodeUpsert,
  ): Promise<{ node: deploykit.CanvasNode; previous: deploykit.CanvasNode | null }> {
    deploykit.validateNodeUpsert(node);
    return this.#db.write((tx) => upsertNode(tx, projectID, node));
  }

  async deleteNode(projectID: string, id: string): Promise<void> {
    this.#db.write((tx) => deleteNode(tx, projectID, id));
  }

  async moveNodes(projectID: string, positions: deploykit.NodePosition[]): Promise<deploykit.NodePosition[]> {
    deploykit.validatePositions(positions);
    return this.#db.write((tx) => {
      const applied: deploykit.NodePosition[] = [];
      for (const p of positions) {
        const r = tx.run(
          "UPDATE canvas_nodes SET position_x = ?, position_y = ?, updated_at = ? WHERE id = ? AND project_id = ?",
          p.position_x,
          p.position_y,
          tx.now,
          p.id,
          projectID,
        );
        if (r.changes > 0) applied.push({ id: p.id, position_x: p.position_x, position_y: p.position_y });
      }
      return applied;
    });
  }

  async upsertEdge(projectID: string, edge: deploykit.CanvasEdgeUpsert): Promise<deploykit.CanvasEdge> {
    deploykit.validateEdgeUpsert(edge);
    return this.#db.write((tx) => {
      if (!findNode(tx, projectID, edge.source_id)) throw deploykit.errorf(deploykit.EINVALID, "Source node not found.");
      if (!findNode(tx, projectID, edge.target_id)) throw deploykit.errorf(deploykit.EINVALID, "Target node not found.");
      const existing = tx.get<EdgeRow>("SELECT * FROM canvas_edges WHERE id = ?", edge.id);
      if (existing && existing.project_id !== projectID)
        throw deploykit.errorf(deploykit.ECONFLICT, "Edge id is already used in another project.");
      if (existing && deploykit.isManagedEdgeData(existing.data))
        throw deploykit.errorf(deploykit.EINVALID, "This edge is managed by the system and cannot be edited.");
      const label = edge.label === undefined ? (existing?.label ?? null) : edge.label === "" ? null : edge.label;
      const data = edge.data ?? existing?.data ?? "{}";
      if (existing) {
        tx.run(
          "UPDATE canvas_edges SET source_id = ?, target_id = ?, label = ?, data = ?, updated_at = ? WHERE id = ?",
          edge.source_id,
          edge.target_id,
          label,
          data,
          tx.now,
          edge.id,
        );
      } else {
        tx.run(
          "INSERT INTO canvas_edges (id, project_id, source_id, target_id, label, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          edge.id,
          projectID,
          edge.source_id,
          edge.target_id,
          label,
          data,
          tx.now,
          tx.now,
        );
      }
      return toEdge(tx.get<EdgeRow>("SELECT * FROM canvas_edges WHERE id = ?", edge.id) as EdgeRow);
    });
  }

  async deleteEdge(projectID: string, id: string): Promise<void> {
    this.#db.write((tx) => {
      const existing = tx.get<EdgeRow>("SELECT * FROM canvas_edges WHERE id = ? AND project_id = ?", id, projectID);
      if (!existing) return;
      if (deploykit.isManagedEdgeData(existing.data))
        throw deploykit.errorf(deploykit.EINVALID, "This edge is managed by the system and cannot be deleted.");
      tx.run("DELETE FROM canvas_edges WHERE id = ?", id);
    });
  }
}

export function toNode(r: NodeRow): deploykit.CanvasNode {
  const n: deploykit.CanvasNode = {
    id: r.id,
    project_id: r.project_id,
    type: r.type,
    label: r.label,
    position_x: r.position_x,
    position_y: r.position_y,
    data: r.data,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
  if (r.width !== null) n.width = r.width;
  if (r.height !== null) n.height = r.height;
  if (r.service_id !== null) n.service_id = r.service_id;
  if (r.parent_id !== null) n.parent_id = r.parent_id;
  return n;
}

function toEdge(r: EdgeRow): deploykit.CanvasEdge {
  const e: deploykit.CanvasEdge = {
    id: r.id,
    project_id: r.project_id,
    source_id: r.source_id,
    target_id: r.target_id,
    data: r.data,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
  if (r.label !== null) e.label = r.label;
  return e;
}

export function getCanvas(tx: Tx, projectID: string): deploykit.CanvasState {
  const nodes = tx
    .all<NodeRow>("SELECT * FROM canvas_nodes WHERE project_id = ? ORDER BY parent_id IS NOT NULL, created_at, rowid", projectID)
    .map(toNode);
  const edges = tx.all<EdgeRow>("SELECT * FROM canvas_edges WHERE project_id = ? ORDER BY created_at, rowid", projectID).map(toEdge);
  return { nodes, edges };
}

export function findNode(tx: Tx, projectID: string, id: string): deploykit.CanvasNode | null {
  const r = tx.get<NodeRow>("SELECT * FROM canvas_nodes WHERE id = ? AND project_id = ?", id, projectID);
  return r ? toNode(r) : null;
}

export function findServiceNode(tx: Tx, serviceID: string): deploykit.CanvasNode | null {
  const r = tx.get<NodeRow>("SELECT * FROM canvas_nodes WHERE service_id = ?", serviceID);
  return r ? toNode(r) : null;
}

function upsertNode(
  tx: Tx,
  projectID: string,
  node: deploykit.CanvasNodeUpsert,
): { node: deploykit.CanvasNode; previous: deploykit.CanvasNode | null } {
  if (!tx.get("SELECT 1 FROM projects WHERE id = ?", projectID)) throw deploykit.errorf(deploykit.ENOTFOUND, "Project not found.");
  const row = tx.get<NodeRow>("SELECT * FROM canvas_nodes WHERE id = ?", node.id);
  if (row && row.project_id !== projectID) throw deploykit.errorf(deploykit.ECONFLICT, "Node id is already used in another project.");
  const previous = row ? toNode(row) : null;
  // Omitted (undefined) keeps what is stored, null clears: a move that forgets the parent must not detach the node.
  const parentID = node.parent_id === undefined ? (row?.parent_id ?? null) : node.parent_id || null;
  const serviceID = node.service_id === undefined ? (row?.service_id ?? null) : node.service_id || null;
  if (parentID !== null) {
    if (parentID === node.id) throw deploykit.errorf(deploykit.EINVALID, "A node cannot be its own parent.");
    if (node.type === deploykit.NODE_GROUP)
      throw deploykit.errorf(deploykit.EINVALID, "Group nodes cannot be nested inside another group.");
    const parent = findNode(tx, projectID, parentID);
    if (!parent) throw deploykit.errorf(deploykit.EINVALID, "Parent group not found.");
    if (parent.type !== deploykit.NODE_GROUP) throw deploykit.errorf(deploykit.EINVALID, "Parent must be a group node.");
  }
  if (
    row &&
    row.type === deploykit.NODE_GROUP &&
    node.type !== deploykit.NODE_GROUP &&
    tx.get("SELECT 1 FROM canvas_nodes WHERE parent_id = ?", node.id)
  )
    throw deploykit.errorf(deploykit.EINVALID, "A group with children cannot change its type.");
  if (serviceID !== null) {
    if (!tx.get("SELECT 1 FROM services WHERE id = ? AND project_id = ?", serviceID, projectID))
      throw deploykit.errorf(deploykit.EINVALID, "Service not found in this project.");
    const other = tx.get<{ id: string }>("SELECT id FROM canvas_nodes WHERE service_id = ? AND id != ?", serviceID, node.id);
    if (other) throw deploykit.errorf(deploykit.ECONFLICT, "The service already has a canvas node.");
  }
  const label = node.label ?? row?.label ?? "";
  const width = node.width === undefined ? (row?.width ?? null) : node.width;
  const height = node.height === undefined ? (row?.height ?? null) : node.height;
  const data = node.data ?? row?.data ?? "{}";
  // One statement for both cases; an existing row keeps its project and created_at.
  tx.run(
    `INSERT INTO canvas_nodes (id, project_id, type, label, position_x, position_y, width, height, service_id, parent_id, data, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(id) DO UPDATE SET type = excluded.type, label = excluded.label, position_x = excluded.position_x,
       position_y = excluded.position_y, width = excluded.width, height = excluded.height, service_id = excluded.service_id,
       parent_id = excluded.parent_id, data = excluded.data, updated_at = excluded.updated_at`,
    node.id,
    projectID,
    node.type,
    label,
    node.position_x,
    node.position_y,
    width,
    height,
    serviceID,
    parentID,
    data,
    tx.now,
    tx.now,
  );
  return { node: findNode(tx, projectID, node.id) as deploykit.CanvasNode, previous };
}

/**
 * Children of a deleted group keep their place on screen (positions become absolute). The group's
 * env vars go at once (trigger); a deployed child picks the change up at its next deployment.
 */
export function deleteNode(tx: Tx, projectID: string, id: string): void {
  const node = findNode(tx, projectID, id);
  if (!node) return;
  if (node.type === deploykit.NODE_GROUP) {
    tx.run(
      "UPDATE canvas_nodes SET parent_id = NULL, position_x = position_x + ?, position_y = position_y + ?, updated_at = ? WHERE parent_id = ?",
      node.position_x,
      node.position_y,
      tx.now,
      id,
    );
  }
  tx.run("DELETE FROM canvas_nodes WHERE id = ?", id);
}

/** Moves a node to another parent (or top level) keeping its absolute position. */
export function reparentNode(tx: Tx, projectID: string, node: deploykit.CanvasNode, parentID: string | null): deploykit.CanvasNode {
  const oldParent = node.parent_id ? findNode(tx, projectID, node.parent_id) : null;
  const newParent = parentID ? findNode(tx, projectID, parentID) : null;
  const target = newParent && newParent.type === deploykit.NODE_GROUP ? newParent : null;
  const absX = node.position_x + (oldParent?.position_x ?? 0);
  const absY = node.position_y + (oldParent?.position_y ?? 0);
  tx.run(
    "UPDATE canvas_nodes SET parent_id = ?, position_x = ?, position_y = ?, updated_at = ? WHERE id = ?",
    target?.id ?? null,
    absX - (target?.position_x ?? 0),
    absY - (target?.position_y ?? 0),
    tx.now,
    node.id,
  );
  return findNode(tx, projectID, node.id) as deploykit.CanvasNode;
}

/** Links a service to its pre-placed node (creating one at the origin when the client placed none). */
export function linkServiceNode(tx: Tx, projectID: string, nodeID: string, svc: deploykit.Service): void {
  const data = toJSON({ image: svc.image });
  const existing = tx.get<NodeRow>("SELECT * FROM canvas_nodes WHERE id = ?", nodeID);
  if (existing && existing.project_id !== projectID)
    throw deploykit.errorf(deploykit.ECONFLICT, "Node id is already used in another project.");
  if (existing) {
    tx.run(
      "UPDATE canvas_nodes SET type = 'service', service_id = ?, label = ?, data = ?, updated_at = ? WHERE id = ?",
      svc.id,
      svc.name,
      data,
      tx.now,
      nodeID,
    );
    return;
  }
  tx.run(
    `INSERT INTO canvas_nodes (id, project_id, type, label, position_x, position_y, service_id, data, created_at, updated_at)
     VALUES (?, ?, 'service', ?, 0, 0, ?, ?, ?, ?)`,
    nodeID,
    projectID,
    svc.name,
    svc.id,
    data,
    tx.now,
    tx.now,
  );
}

/**
 * Replaces the managed env-ref edges leaving the service's node: one per referenced service that has
 * a node (self references skipped), carrying the keys that reference it.
 */
export function rebuildEnvRefEdges(tx: Tx, projectID: string, serviceID: string, refs: Record<string, string[]>): void {
  const source = findServiceNode(tx, serviceID);
  if (!source) return;
  tx.run("DELETE FROM canvas_edges WHERE source_id = ? AND json_extract(data, '$.managed') = ?", source.id, deploykit.MANAGED_ENV_REF);
  for (const [name, keys] of deploykit.referencedServices(refs)) {
    const target = tx.get<{ id: string; service_id: string }>(
      "SELECT n.id, n.service_id FROM canvas_nodes n JOIN services s ON s.id = n.service_id WHERE s.project_id = ? AND s.name = ?",
      projectID,
      name,
    );
    if (!target || target.service_id === serviceID) continue;
    tx.run(
      "INSERT INTO canvas_edges (id, project_id, source_id, target_id, label, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      `envref-${newID()}`,
      projectID,
      source.id,
      target.id,
      keys.join(", "),
      toJSON({ managed: deploykit.MANAGED_ENV_REF, keys }),
      tx.now,
      tx.now,
    );
  }
}
