import * as deploykit from "../index.ts";
import { type HubClient, type HubOps, MAX_DRAFTS } from "./canvas-hub-client.ts";
import * as present from "./present.ts";
import { type ServiceCreateRequest, stageServiceCreate } from "./service-create.ts";

type Payload = Record<string, unknown>;

function isObject(v: unknown): v is Payload {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && Math.abs(v) <= deploykit.COORD_MAX;
}

/** The message of a failure as shown to the sender: the first field message, or the domain message. */
export function clientMessage(err: unknown, fallback: string): string {
  if (deploykit.isDeployKitError(err)) {
    if (err.code === deploykit.EINTERNAL) return fallback;
    const first = err.fields ? Object.values(err.fields)[0]?.[0] : undefined;
    return first ?? err.message;
  }
  return fallback;
}

function userChangeID(c: HubClient): string | null {
  return c.userID || null;
}

async function stageResult(h: HubOps, projectID: string, r: deploykit.ReparentResult): Promise<void> {
  if (r.removed_ids.length > 0) h.broadcast(projectID, "pending-changes:removed", { ids: r.removed_ids });
  if (r.added) h.broadcast(projectID, "pending-change:added", present.pendingChange(r.added));
}

async function nodeUpsert(h: HubOps, c: HubClient, p: unknown): Promise<void> {
  if (!isObject(p)) return h.send(c, "error", { message: "Invalid node upsert payload." });
  const upsert = p as unknown as deploykit.CanvasNodeUpsert;
  try {
    deploykit.validateNodeUpsert(upsert);
  } catch (err) {
    return h.send(c, "error", { message: clientMessage(err, "Invalid node upsert payload.") });
  }
  if (typeof upsert.service_id === "string" && upsert.service_id !== "") {
    const svc = await h.deps.services.findServiceByID(upsert.service_id).catch(() => null);
    if (!svc || svc.project_id !== c.projectID) return h.send(c, "error", { message: "Service not found." });
  } else if (upsert.service_id !== undefined && upsert.service_id !== null) {
    return h.send(c, "error", { message: "Invalid node upsert payload." });
  }
  let result: { node: deploykit.CanvasNode; previous: deploykit.CanvasNode | null };
  h.moves.forget(c.projectID, upsert.id);
  try {
    result = await h.deps.canvas.upsertNode(c.projectID, upsert);
  } catch (err) {
    return h.send(c, "error", { message: clientMessage(err, "Failed to save node.") });
  }
  const { node, previous } = result;
  h.broadcast(c.projectID, "node:upserted", present.node(node));
  const oldParent = previous?.parent_id ?? null;
  const newParent = node.parent_id ?? null;
  if (node.type === deploykit.NODE_SERVICE && node.service_id && previous && oldParent !== newParent) {
    try {
      const r = await h.deps.pendingChanges.stageReparent(c.projectID, userChangeID(c), node.service_id, oldParent, newParent);
      await stageResult(h, c.projectID, r);
    } catch (err) {
      h.send(c, "error", { message: clientMessage(err, "Failed to stage the move.") });
    }
  }
}

async function nodeDelete(h: HubOps, c: HubClient, p: unknown): Promise<void> {
  const id = isObject(p) ? p.id : undefined;
  try {
    deploykit.validateNodeID(id);
  } catch {
    return h.send(c, "error", { message: "Invalid node delete payload." });
  }
  const { canvas, pendingChanges } = h.deps;
  try {
    const node = await canvas.findNodeByID(c.projectID, id);
    if (node.type === deploykit.NODE_SERVICE && node.service_id) {
      // A deployed service is deleted by Deploy; until then its node stays (shown as pending deletion).
      const change = await pendingChanges.appendPendingChange(c.projectID, userChangeID(c), {
        op: deploykit.OP_SERVICE_DELETE,
        target_type: deploykit.TARGET_SERVICE,
        target_id: node.service_id,
        payload: {},
      });
      return h.broadcast(c.projectID, "pending-change:added", present.pendingChange(change));
    }
    h.moves.forget(c.projectID, node.id);
    if (node.type === deploykit.NODE_GROUP) return await groupDelete(h, c, node.id);
    await canvas.deleteNode(c.projectID, node.id);
    const removed = await pendingChanges.removeByTempID(c.projectID, node.id);
    h.broadcast(c.projectID, "node:deleted", { id: node.id });
    if (removed.length > 0) h.broadcast(c.projectID, "pending-changes:removed", { ids: removed });
  } catch (err) {
    h.send(c, "error", { message: clientMessage(err, "Failed to delete node.") });
  }
}

/**
 * A group with variables is deleted by Deploy (staged, the node stays); any other goes now. Its
 * children then move to the top level, and a deployed child's move out is staged like any other.
 */
async function groupDelete(h: HubOps, c: HubClient, groupID: string): Promise<void> {
  const { pendingChanges } = h.deps;
  const r = await pendingChanges.deleteGroup(c.projectID, userChangeID(c), groupID);
  if (r.staged) return h.broadcast(c.projectID, "pending-change:added", present.pendingChange(r.staged));
  h.broadcast(c.projectID, "node:deleted", { id: groupID });
  if (r.removed_ids.length > 0) h.broadcast(c.projectID, "pending-changes:removed", { ids: r.removed_ids });
  for (const child of r.children) {
    h.broadcast(c.projectID, "node:upserted", present.node(child));
    if (child.type === deploykit.NODE_SERVICE && child.service_id) {
      const moved = await pendingChanges.stageReparent(c.projectID, userChangeID(c), child.service_id, groupID, null);
      await stageResult(h, c.projectID, moved);
    }
  }
}

async function nodeMove(h: HubOps, c: HubClient, p: unknown): Promise<void> {
  const positions = isObject(p) ? p.positions : undefined;
  try {
    deploykit.validatePositions(positions as deploykit.NodePosition[]);
  } catch (err) {
    return h.send(c, "error", { message: clientMessage(err, "Invalid node move payload.") });
  }
  const list = (positions as deploykit.NodePosition[]).map((x) => ({ id: x.id, position_x: x.position_x, position_y: x.position_y }));
  if (list.length === 0) return;
  // Peers see the move now; the database gets the latest positions shortly (MoveWriter).
  h.broadcast(c.projectID, "node:moved", { positions: list, user_id: c.userID }, c);
  h.moves.add(c.projectID, list);
}

async function edgeUpsert(h: HubOps, c: HubClient, p: unknown): Promise<void> {
  if (!isObject(p)) return h.send(c, "error", { message: "Invalid edge upsert payload." });
  const upsert = p as unknown as deploykit.CanvasEdgeUpsert;
  try {
    deploykit.validateEdgeUpsert(upsert);
    const edge = await h.deps.canvas.upsertEdge(c.projectID, {
      id: upsert.id,
      source_id: upsert.source_id,
      target_id: upsert.target_id,
      label: upsert.label,
      data: upsert.data,
    });
    h.broadcast(c.projectID, "edge:upserted", present.edge(edge));
  } catch (err) {
    h.send(c, "error", { message: clientMessage(err, "Failed to save edge.") });
  }
}

async function edgeDelete(h: HubOps, c: HubClient, p: unknown): Promise<void> {
  const id = isObject(p) ? p.id : undefined;
  try {
    deploykit.validateNodeID(id, "Edge");
    await h.deps.canvas.deleteEdge(c.projectID, id);
    h.broadcast(c.projectID, "edge:deleted", { id });
  } catch (err) {
    h.send(c, "error", { message: clientMessage(err, "Failed to delete edge.") });
  }
}

async function cursorMove(h: HubOps, c: HubClient, p: unknown): Promise<void> {
  if (!isObject(p) || !isFiniteNumber(p.x) || !isFiniteNumber(p.y)) return;
  h.broadcast(c.projectID, "cursor:updated", { user_id: c.userID, user_name: c.userName, x: p.x, y: p.y }, c);
}

function validDraftID(v: unknown): v is string {
  return typeof v === "string" && /^[A-Za-z0-9_.:-]{1,128}$/.test(v);
}

async function draftStart(h: HubOps, c: HubClient, p: unknown): Promise<void> {
  if (!isObject(p) || !validDraftID(p.draft_id) || !isFiniteNumber(p.x) || !isFiniteNumber(p.y))
    return h.send(c, "error", { message: "Invalid draft payload." });
  const room = h.room(c.projectID);
  if (!room) return;
  const existing = room.drafts.get(p.draft_id);
  if (existing && existing.user_id !== c.userID) return h.send(c, "error", { message: "Draft belongs to another user." });
  if (!existing && room.drafts.size >= MAX_DRAFTS) return h.send(c, "error", { message: "Too many drafts in this project." });
  const draft = { draft_id: p.draft_id, user_id: c.userID, user_name: c.userName, x: p.x, y: p.y };
  room.drafts.set(draft.draft_id, draft);
  h.broadcast(c.projectID, "service:drafting", draft, c);
}

async function draftCancel(h: HubOps, c: HubClient, p: unknown): Promise<void> {
  if (!isObject(p) || !validDraftID(p.draft_id)) return h.send(c, "error", { message: "Invalid draft payload." });
  const room = h.room(c.projectID);
  const draft = room?.drafts.get(p.draft_id);
  if (!room || !draft || draft.user_id !== c.userID) return;
  room.drafts.delete(draft.draft_id);
  h.broadcast(c.projectID, "service:draft-cancelled", { draft_id: draft.draft_id }, c);
}

async function serviceCreate(h: HubOps, c: HubClient, p: unknown): Promise<void> {
  if (!isObject(p)) return h.send(c, "error", { message: "Invalid message format." });
  const draftID = validDraftID(p.draft_id) ? p.draft_id : "";
  const input: ServiceCreateRequest = {
    name: p.name,
    image: p.image,
    icon_url: p.icon_url,
    env_vars: p.env_vars as ServiceCreateRequest["env_vars"],
    position_x: isFiniteNumber(p.x) ? p.x : 0,
    position_y: isFiniteNumber(p.y) ? p.y : 0,
  };
  if (p.ports !== undefined) input.ports = p.ports as deploykit.PortMapping[];
  if (p.volumes !== undefined) input.volumes = p.volumes as deploykit.VolumeMount[];
  if (p.resources !== undefined) input.resources = p.resources as deploykit.Resources | null;
  if (p.replicas !== undefined) input.replicas = p.replicas as number;
  if (p.stop_grace_seconds !== undefined) input.stop_grace_seconds = p.stop_grace_seconds as number;
  if (p.start_command !== undefined) input.start_command = p.start_command as string[] | null;
  if (p.entrypoint !== undefined) input.entrypoint = p.entrypoint as string[] | null;
  if (p.restart_policy !== undefined) input.restart_policy = p.restart_policy as deploykit.RestartPolicy;
  if (p.restart_max_retries !== undefined) input.restart_max_retries = p.restart_max_retries as number;
  if (p.pre_deploy_command !== undefined) input.pre_deploy_command = p.pre_deploy_command as string[] | null;
  if (p.cron_schedule !== undefined) input.cron_schedule = p.cron_schedule as string | null;
  if (p.cron_timeout_seconds !== undefined) input.cron_timeout_seconds = p.cron_timeout_seconds as number;
  if (p.healthcheck_path !== undefined) input.healthcheck_path = p.healthcheck_path as string | null;
  if (p.healthcheck_timeout_seconds !== undefined) input.healthcheck_timeout_seconds = p.healthcheck_timeout_seconds as number;
  if (p.drain_seconds !== undefined) input.drain_seconds = p.drain_seconds as number;
  let staged: { node: deploykit.CanvasNode; change: deploykit.PendingChange };
  try {
    staged = await stageServiceCreate(h.deps, c.projectID, userChangeID(c), input);
  } catch (err) {
    return h.send(c, "service:create-error", { draft_id: draftID, message: clientMessage(err, "Failed to create service.") });
  }
  const room = h.room(c.projectID);
  const draft = room?.drafts.get(draftID);
  if (room && draft && draft.user_id === c.userID) room.drafts.delete(draftID);
  if (draftID) h.broadcast(c.projectID, "service:draft-cancelled", { draft_id: draftID }, c);
  const node = present.node(staged.node);
  const change = present.pendingChange(staged.change);
  h.broadcast(c.projectID, "node:upserted", node);
  h.broadcast(c.projectID, "pending-change:added", change);
  h.send(c, "service:created", { draft_id: draftID, node, pending_change: change });
}

/**
 * `domain:create` `{service_id, hostname?, target_port?, generate?}` and `domain:delete` `{domain_id}`
 * stage `domain.create`/`domain.delete` like the REST routes: the sender gets `domain:staged`
 * `{pending_change}` or `domain:error` `{message}`; everyone gets `pending-change:added`.
 */
async function domainStage(h: HubOps, c: HubClient, type: "create" | "delete", p: unknown): Promise<void> {
  if (!isObject(p)) return h.send(c, "domain:error", { message: "Invalid message format." });
  let change: deploykit.PendingChangeAppend;
  if (type === "create") {
    if (typeof p.service_id !== "string") return h.send(c, "domain:error", { message: "service_id is required." });
    const payload: Payload = {};
    for (const k of ["hostname", "target_port", "generate"]) if (p[k] !== undefined) payload[k] = p[k];
    change = { op: deploykit.OP_DOMAIN_CREATE, target_type: deploykit.TARGET_SERVICE, target_id: p.service_id, payload };
  } else {
    if (typeof p.domain_id !== "string") return h.send(c, "domain:error", { message: "domain_id is required." });
    change = { op: deploykit.OP_DOMAIN_DELETE, target_type: deploykit.TARGET_DOMAIN, target_id: p.domain_id };
  }
  let pc: deploykit.PendingChange;
  try {
    pc = await h.deps.pendingChanges.appendPendingChange(c.projectID, userChangeID(c), change);
  } catch (err) {
    return h.send(c, "domain:error", { message: clientMessage(err, "Failed to stage the domain.") });
  }
  const out = present.pendingChange(pc);
  h.broadcast(c.projectID, "pending-change:added", out);
  h.send(c, "domain:staged", { pending_change: out });
}

/** Dispatches one authenticated client message. */
export async function handleMessage(h: HubOps, c: HubClient, type: string, payload: unknown): Promise<void> {
  switch (type) {
    case "node:upsert":
      return nodeUpsert(h, c, payload);
    case "node:delete":
      return nodeDelete(h, c, payload);
    case "node:move":
      return nodeMove(h, c, payload);
    case "edge:upsert":
      return edgeUpsert(h, c, payload);
    case "edge:delete":
      return edgeDelete(h, c, payload);
    case "cursor:move":
      return cursorMove(h, c, payload);
    case "service:draft-start":
      return draftStart(h, c, payload);
    case "service:draft-cancel":
      return draftCancel(h, c, payload);
    case "service:create":
      return serviceCreate(h, c, payload);
    case "domain:create":
      return domainStage(h, c, "create", payload);
    case "domain:delete":
      return domainStage(h, c, "delete", payload);
    default:
      return h.send(c, "error", { message: `Unknown message type: ${type.slice(0, 64)}` });
  }
}
