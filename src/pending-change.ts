import type { CanvasNode } from "./canvas.ts";
import type { Deployment } from "./deployment.ts";
import type { Page, PageResult } from "./pagination.ts";

export const OP_PROJECT_UPDATE = "project.update";
export const OP_SERVICE_CREATE = "service.create";
export const OP_SERVICE_UPDATE = "service.update";
export const OP_SERVICE_DELETE = "service.delete";
export const OP_ENV_CREATE = "env_var.create";
export const OP_ENV_UPDATE = "env_var.update";
export const OP_ENV_DELETE = "env_var.delete";
export const OP_DOMAIN_CREATE = "domain.create";
export const OP_DOMAIN_DELETE = "domain.delete";
export const OP_GROUP_DELETE = "group.delete";
export const PENDING_OPS = [
  OP_PROJECT_UPDATE,
  OP_SERVICE_CREATE,
  OP_SERVICE_UPDATE,
  OP_SERVICE_DELETE,
  OP_ENV_CREATE,
  OP_ENV_UPDATE,
  OP_ENV_DELETE,
  OP_DOMAIN_CREATE,
  OP_DOMAIN_DELETE,
  OP_GROUP_DELETE,
] as const;
export type PendingOp = (typeof PENDING_OPS)[number];

export const TARGET_PROJECT = "project";
export const TARGET_SERVICE = "service";
export const TARGET_ENV_VAR = "env_var";
export const TARGET_DOMAIN = "domain";
export const TARGET_GROUP = "group";
export type TargetType = typeof TARGET_PROJECT | typeof TARGET_SERVICE | typeof TARGET_ENV_VAR | typeof TARGET_DOMAIN | typeof TARGET_GROUP;

/** Ops a user may undo one by one (the others are undone by deleting the node or discarding all). */
export const REMOVABLE_OPS: readonly PendingOp[] = [
  OP_PROJECT_UPDATE,
  OP_SERVICE_UPDATE,
  OP_ENV_CREATE,
  OP_ENV_UPDATE,
  OP_ENV_DELETE,
  OP_DOMAIN_CREATE,
  OP_DOMAIN_DELETE,
  OP_GROUP_DELETE,
];

/**
 * One staged, deploy-impacting edit. Entries form an ordered log per project (`seq` from 1); Apply
 * replays them in one transaction and clears the log.
 *
 * Payloads by op:
 * - project.update `{name}`
 * - service.create `{name, image, icon_url?, ports?, volumes?, resources?, replicas?, env_vars?: [{scope:"service", key, value}]}`
 *   with target_temp_id = the pre-placed canvas node id
 * - service.update `{name?, icon_url?, image?, ports?, volumes?, resources?, replicas?, reparented?, previous_parent_id?}`
 * - service.delete `{}`
 * - env_var.create `{scope, key, value}` with target_id = owner id, or parent_temp_id = pending service
 * - env_var.update `{value, old_value, scope, scope_id, key, new_key?}`: `new_key` renames the
 *   variable, and Apply rewrites the references to it
 * - env_var.create/update/delete staged by the RAW editor carry `raw_batch` (one id per submission)
 * - env_var.delete `{scope, scope_id, key, old_value}`
 * - domain.create `{hostname, target_port, generated}` with target_id = the service id (target_type `service`).
 *   Appended as `{hostname?, target_port?, generate?}` (DomainCreate); staging resolves the name and port.
 * - domain.delete `{service_id, hostname}` with target_id = the domain id (target_type `domain`)
 * - group.delete `{label}` with target_id = the group's canvas node (target_type `group`): staged when
 *   the group has variables (its deployed children's env changes at Deploy); Apply deletes the node,
 *   its variables go with it, its children move to the top level and the deployed ones redeploy.
 *   Removing the entry (or discarding) keeps the group and its variables.
 */
export interface PendingChange {
  id: string;
  project_id: string;
  seq: number;
  op: PendingOp;
  target_type: TargetType;
  target_id?: string;
  target_temp_id?: string;
  parent_temp_id?: string;
  payload: Record<string, unknown>;
  user_id?: string;
  created_at: string;
}

export interface PendingChangeAppend {
  op: PendingOp;
  target_type: TargetType;
  target_id?: string;
  target_temp_id?: string;
  parent_temp_id?: string;
  payload?: Record<string, unknown>;
}

export interface ApplyResult {
  applied_count: number;
  temp_id_to_service_id: Record<string, string>;
  redeployed_service_ids: string[];
  created_deployments: Deployment[];
}

/** What the canvas must show after a reparent or a discard: entries removed, added, nodes moved. */
export interface ReparentResult {
  removed_ids: string[];
  added: PendingChange | null;
}

export interface DiscardResult {
  removed_ids: string[];
  /** Pending-service nodes that were deleted. */
  deleted_node_ids: string[];
  /** Nodes moved back to the group they had before a staged reparent. */
  restored_nodes: CanvasNode[];
}

export interface GroupDeleteResult {
  /** The staged `group.delete`, or null when the group was deleted at once. */
  staged: PendingChange | null;
  /** Deleted at once: its children, now at the top level. */
  children: CanvasNode[];
  /** Deleted at once: the staged entries that went with it. */
  removed_ids: string[];
}

export interface ServiceCreateEntry {
  name: string;
  image: string;
  icon_url?: string;
  env_vars?: { scope: string; key: string; value: string }[];
}

/**
 * The project's effective service names (lowercased) after the log: applied names, plus staged
 * creates and renames, minus staged deletes. Maps name → owner (service id or temp id).
 */
export function effectiveServiceNames(
  applied: ReadonlyArray<{ id: string; name: string }>,
  log: ReadonlyArray<PendingChange>,
): Map<string, string> {
  const byOwner = new Map<string, string>();
  for (const s of applied) byOwner.set(s.id, s.name.toLowerCase());
  for (const c of log) {
    if (c.op === OP_SERVICE_CREATE && c.target_temp_id) {
      const name = c.payload.name;
      if (typeof name === "string") byOwner.set(c.target_temp_id, name.toLowerCase());
    } else if (c.op === OP_SERVICE_UPDATE && c.target_id && byOwner.has(c.target_id)) {
      const name = c.payload.name;
      if (typeof name === "string" && name !== "") byOwner.set(c.target_id, name.toLowerCase());
    } else if (c.op === OP_SERVICE_DELETE && c.target_id) {
      byOwner.delete(c.target_id);
    }
  }
  const byName = new Map<string, string>();
  for (const [owner, name] of byOwner) byName.set(name, owner);
  return byName;
}

/**
 * PendingChangeService is the staged-edit log. `userID` records who staged an entry.
 */
export interface PendingChangeService {
  /** Ordered by seq. */
  findPendingChanges(projectID: string): Promise<PendingChange[]>;
  /** One page of the log, ordered by seq, with the log's length as `total`. */
  findPendingChangePage(projectID: string, page: Page): Promise<PageResult<PendingChange>>;
  /** Throws ENOTFOUND "Pending change not found.". */
  findPendingChangeByID(projectID: string, id: string): Promise<PendingChange>;
  /**
   * Appends after checking the project exists, service names are free (case-insensitive, over applied
   * and staged names), env keys are free, a service delete is not staged twice, and no reference
   * breaks (EINVALID naming the reference).
   * Throws ENOTFOUND, EINVALID, ECONFLICT.
   */
  appendPendingChange(projectID: string, userID: string | null, change: PendingChangeAppend): Promise<PendingChange>;
  /**
   * Appends several entries as one reviewable change (the RAW editor's diff): all or none, checked
   * like appendPendingChange, references checked over the whole batch. Throws as appendPendingChange.
   */
  appendPendingChanges(projectID: string, userID: string | null, changes: PendingChangeAppend[]): Promise<PendingChange[]>;
  /**
   * Stages a move of a deployed service between groups, coalescing earlier pure reparents of it;
   * a move back to the applied group stages nothing.
   */
  stageReparent(
    projectID: string,
    userID: string | null,
    serviceID: string,
    oldParentID: string | null,
    newParentID: string | null,
  ): Promise<ReparentResult>;
  /**
   * Removes one entry. Throws ENOTFOUND, EINVALID "Delete the service's canvas node to cancel its
   * creation." / "Discard all pending changes to cancel this service deletion.".
   */
  removePendingChange(projectID: string, id: string): Promise<void>;
  /** Removes entries whose target_temp_id or parent_temp_id is `tempID`; returns their ids. */
  removeByTempID(projectID: string, tempID: string): Promise<string[]>;
  /**
   * Deletes a canvas group: stages `group.delete` when it has variables (the node stays until
   * Deploy), else deletes it at once with the staged variables that target it.
   * Throws ENOTFOUND "Group not found.", ECONFLICT when its deletion is already staged.
   */
  deleteGroup(projectID: string, userID: string | null, groupID: string): Promise<GroupDeleteResult>;
  /** Clears the log, deletes pending-service nodes and moves reparented nodes back. */
  discardPendingChanges(projectID: string): Promise<DiscardResult>;
  /**
   * Replays the log in one transaction and clears it. On any error nothing changes, the log stays,
   * and the entry's own domain code is thrown (ECONFLICT for a clash, EINVALID, ENOTFOUND).
   */
  applyPendingChanges(projectID: string): Promise<ApplyResult>;
}
