import * as deploykit from "../index.ts";
import { deleteNode, findNode } from "./canvas.ts";
import type { Tx } from "./db.ts";

/**
 * Deleting a canvas group (issue 11, item 8). A group's variables reach its deployed children, so a
 * group that has any is deleted by Deploy like a service: `group.delete` is staged and the node stays
 * until then; removing the entry or discarding keeps the group with its variables. A group without
 * variables changes no deployment and goes at once, with the staged variables that target it.
 */

export function findGroup(tx: Tx, projectID: string, id: string | undefined): deploykit.CanvasNode {
  const node = id ? findNode(tx, projectID, id) : null;
  if (!node || node.type !== deploykit.NODE_GROUP) throw deploykit.errorf(deploykit.ENOTFOUND, "Group not found.");
  return node;
}

export function groupHasVariables(tx: Tx, groupID: string): boolean {
  return tx.get("SELECT 1 FROM env_vars WHERE scope = 'group' AND scope_id = ?", groupID) !== undefined;
}

export function groupStagedForDeletion(log: readonly deploykit.PendingChange[], groupID: string): boolean {
  return log.some((e) => e.op === deploykit.OP_GROUP_DELETE && e.target_id === groupID);
}

/** Staging a variable of a group that Deploy will delete would create one that goes at once. */
export function assertGroupNotDeleting(log: readonly deploykit.PendingChange[], scope: string, ownerID: string): void {
  if (scope === deploykit.SCOPE_GROUP && groupStagedForDeletion(log, ownerID))
    throw deploykit.errorf(deploykit.EINVALID, "This group is staged for deletion.");
}

/** The checked entry for `group.delete` (ECONFLICT when already staged). */
export function prepareGroupDelete(
  tx: Tx,
  projectID: string,
  log: readonly deploykit.PendingChange[],
  c: deploykit.PendingChangeAppend,
): deploykit.PendingChangeAppend {
  const group = findGroup(tx, projectID, c.target_id);
  if (groupStagedForDeletion(log, group.id)) throw deploykit.errorf(deploykit.ECONFLICT, "This group is already staged for deletion.");
  return { op: c.op, target_type: c.target_type, target_id: group.id, payload: { label: group.label } };
}

/** The children whose node moved to the top level, and the staged entries that went with the group. */
export interface GroupDeletedNow {
  children: deploykit.CanvasNode[];
  removed_ids: string[];
}

/** Deletes a group that has no variables: its children move out, staged variables for it go. */
export function deleteGroupNow(tx: Tx, projectID: string, group: deploykit.CanvasNode): GroupDeletedNow {
  const childIDs = tx.all<{ id: string }>("SELECT id FROM canvas_nodes WHERE parent_id = ?", group.id).map((r) => r.id);
  const removed_ids = tx
    .all<{ id: string }>(
      "SELECT id FROM pending_changes WHERE project_id = ? AND op = ? AND target_id = ? ORDER BY seq",
      projectID,
      deploykit.OP_ENV_CREATE,
      group.id,
    )
    .map((r) => r.id);
  for (const id of removed_ids) tx.run("DELETE FROM pending_changes WHERE id = ?", id);
  deleteNode(tx, projectID, group.id);
  const children = childIDs.map((id) => findNode(tx, projectID, id)).filter((n): n is deploykit.CanvasNode => n !== null);
  return { children, removed_ids };
}
