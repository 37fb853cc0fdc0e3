import * as deploykit from "../index.ts";
import { findNode, findServiceNode, reparentNode } from "./canvas.ts";
import { type DB, queryPage, type Tx } from "./db.ts";
import { deleteGroupNow, findGroup, groupHasVariables, prepareGroupDelete } from "./group-delete.ts";
import { apply } from "./pending-apply.ts";
import { findEntry, insertEntry, loadLog, type PendingRow, toChange } from "./pending-log.ts";
import { assertHostPortsAllowed, prepareEntry } from "./pending-stage.ts";
import { findProjectByID } from "./project.ts";
import { assertStagedReferences } from "./references.ts";
import { findServiceByID } from "./service-rows.ts";
import { assertRegistryAllowed, NO_HOST_ADDRESSES } from "./settings.ts";

export { loadLog } from "./pending-log.ts";

export interface PendingChangeServiceOptions {
  /**
   * Test builds only: called at each named step of Apply (`apply:begin`, `apply:after-entry:<seq>`,
   * `apply:before-commit`, `apply:after-commit`) so the fault suite can kill the process there.
   */
  faultPoint?: (name: string) => void;
  /** The host's own addresses and names, refused as registries (C08); none when absent. */
  hostAddresses?: deploykit.HostAddresses;
  /** Host ports no service may publish, with what holds them (the daemon's own listen port). */
  reservedHostPorts?: ReadonlyMap<number, string>;
}

export class PendingChangeService implements deploykit.PendingChangeService {
  readonly #db: DB;
  readonly #fault: (name: string) => void;
  readonly #hostAddresses: deploykit.HostAddresses;
  readonly #reserved: ReadonlyMap<number, string>;

  constructor(db: DB, opts: PendingChangeServiceOptions = {}) {
    this.#db = db;
    this.#fault = opts.faultPoint ?? (() => {});
    this.#hostAddresses = opts.hostAddresses ?? NO_HOST_ADDRESSES;
    this.#reserved = opts.reservedHostPorts ?? new Map();
  }

  async findPendingChanges(projectID: string): Promise<deploykit.PendingChange[]> {
    return this.#db.read((tx) => loadLog(tx, projectID));
  }

  async findPendingChangePage(projectID: string, page: deploykit.Page): Promise<deploykit.PageResult<deploykit.PendingChange>> {
    return this.#db.read((tx) => {
      const q = { select: "*", from: "pending_changes", conds: ["project_id = ?"], params: [projectID], order: "seq", page };
      const { rows, total } = queryPage<PendingRow>(tx, q);
      return { items: rows.map((r) => toChange(tx, r)), total };
    });
  }

  async findPendingChangeByID(projectID: string, id: string): Promise<deploykit.PendingChange> {
    return this.#db.read((tx) => findEntry(tx, projectID, id));
  }

  async appendPendingChange(
    projectID: string,
    userID: string | null,
    change: deploykit.PendingChangeAppend,
  ): Promise<deploykit.PendingChange> {
    return (await this.appendPendingChanges(projectID, userID, [change]))[0] as deploykit.PendingChange;
  }

  async appendPendingChanges(
    projectID: string,
    userID: string | null,
    changes: deploykit.PendingChangeAppend[],
  ): Promise<deploykit.PendingChange[]> {
    for (const change of changes) deploykit.validatePendingShape(change);
    return this.#db.write((tx) => {
      findProjectByID(tx, projectID);
      const log = loadLog(tx, projectID);
      const out: deploykit.PendingChange[] = [];
      for (const change of changes) {
        const prepared = prepareEntry(tx, projectID, [...log, ...out], change);
        const batch = change.payload?.raw_batch;
        if (typeof batch === "string" && prepared.target_type === deploykit.TARGET_ENV_VAR)
          prepared.payload = { ...prepared.payload, raw_batch: batch };
        if (prepared.op === deploykit.OP_SERVICE_CREATE || prepared.op === deploykit.OP_SERVICE_UPDATE)
          assertRegistryAllowed(tx, prepared.payload?.image, this.#hostAddresses);
        assertHostPortsAllowed(tx, prepared, this.#reserved);
        out.push(insertEntry(tx, projectID, userID, prepared));
      }
      // The batch is checked as a whole: an entry may reference a variable a later one creates.
      assertStagedReferences(tx, projectID, log, out);
      return out;
    });
  }

  async stageReparent(
    projectID: string,
    userID: string | null,
    serviceID: string,
    oldParentID: string | null,
    newParentID: string | null,
  ): Promise<deploykit.ReparentResult> {
    return this.#db.write((tx) => {
      findProjectByID(tx, projectID);
      const svc = findServiceByID(tx, serviceID);
      if (svc.project_id !== projectID) throw deploykit.errorf(deploykit.ENOTFOUND, "Service not found.");
      const earlier = loadLog(tx, projectID).filter(
        (c) => c.op === deploykit.OP_SERVICE_UPDATE && c.target_id === serviceID && deploykit.isPureReparent(c.payload),
      );
      // The earliest pure reparent remembers where the service really is (applied); later ones only moved it around.
      const first = earlier[0];
      const applied = first ? deploykit.parentOrNull(first.payload.previous_parent_id) : (oldParentID ?? null);
      for (const c of earlier) tx.run("DELETE FROM pending_changes WHERE id = ?", c.id);
      const removed_ids = earlier.map((c) => c.id);
      if ((newParentID ?? null) === applied) return { removed_ids, added: null };
      const added = insertEntry(tx, projectID, userID, {
        op: deploykit.OP_SERVICE_UPDATE,
        target_type: deploykit.TARGET_SERVICE,
        target_id: serviceID,
        payload: { reparented: true, previous_parent_id: applied ?? "" },
      });
      return { removed_ids, added };
    });
  }

  async removePendingChange(projectID: string, id: string): Promise<void> {
    this.#db.write((tx) => {
      const c = findEntry(tx, projectID, id);
      if (c.op === deploykit.OP_SERVICE_CREATE)
        throw deploykit.errorf(deploykit.EINVALID, "Delete the service's canvas node to cancel its creation.");
      if (c.op === deploykit.OP_SERVICE_DELETE)
        throw deploykit.errorf(deploykit.EINVALID, "Discard all pending changes to cancel this service deletion.");
      tx.run("DELETE FROM pending_changes WHERE id = ?", id);
    });
  }

  async removeByTempID(projectID: string, tempID: string): Promise<string[]> {
    return this.#db.write((tx) => {
      const ids = tx
        .all<{ id: string }>(
          "SELECT id FROM pending_changes WHERE project_id = ? AND (target_temp_id = ? OR parent_temp_id = ?) ORDER BY seq",
          projectID,
          tempID,
          tempID,
        )
        .map((r) => r.id);
      for (const id of ids) tx.run("DELETE FROM pending_changes WHERE id = ?", id);
      return ids;
    });
  }

  async deleteGroup(projectID: string, userID: string | null, groupID: string): Promise<deploykit.GroupDeleteResult> {
    return this.#db.write((tx) => {
      findProjectByID(tx, projectID);
      const group = findGroup(tx, projectID, groupID);
      if (!groupHasVariables(tx, group.id)) return { staged: null, ...deleteGroupNow(tx, projectID, group) };
      const change: deploykit.PendingChangeAppend = {
        op: deploykit.OP_GROUP_DELETE,
        target_type: deploykit.TARGET_GROUP,
        target_id: group.id,
      };
      const log = loadLog(tx, projectID);
      const staged = insertEntry(tx, projectID, userID, prepareGroupDelete(tx, projectID, log, change));
      // A child's variable that reads one of the group's is named now, not at Deploy.
      assertStagedReferences(tx, projectID, log, [staged]);
      return { staged, children: [], removed_ids: [] };
    });
  }

  async discardPendingChanges(projectID: string): Promise<deploykit.DiscardResult> {
    return this.#db.write((tx) => discard(tx, projectID));
  }

  async applyPendingChanges(projectID: string): Promise<deploykit.ApplyResult> {
    const result = this.#db.write((tx) => {
      const r = apply(tx, this.#db, projectID, this.#fault);
      // After commit, for every caller alike: the reconciler passes over exactly these services and
      // the canvas hub shows the new state (issue 11).
      for (const deployment of r.created_deployments)
        this.#db.publish(tx, deploykit.newEvent(deploykit.EVENT_DEPLOYMENT_CREATED, projectID, { deployment }));
      this.#db.publish(tx, deploykit.newEvent(deploykit.EVENT_PENDING_CHANGES_APPLIED, projectID, { result: r }));
      return r;
    });
    this.#fault("apply:after-commit");
    return result;
  }
}

function discard(tx: Tx, projectID: string): deploykit.DiscardResult {
  findProjectByID(tx, projectID);
  const log = loadLog(tx, projectID);
  const deleted_node_ids: string[] = [];
  for (const c of log) {
    if (c.op !== deploykit.OP_SERVICE_CREATE || !c.target_temp_id) continue;
    const r = tx.run("DELETE FROM canvas_nodes WHERE id = ? AND project_id = ? AND service_id IS NULL", c.target_temp_id, projectID);
    if (r.changes > 0) deleted_node_ids.push(c.target_temp_id);
  }
  // The earliest staged reparent of a service knows its applied group: move the node back there.
  const firstParent = new Map<string, string | null>();
  for (const c of log) {
    if (c.op === deploykit.OP_SERVICE_UPDATE && c.target_id && c.payload.reparented === true && !firstParent.has(c.target_id))
      firstParent.set(c.target_id, deploykit.parentOrNull(c.payload.previous_parent_id));
  }
  const restored_nodes: deploykit.CanvasNode[] = [];
  for (const [serviceID, parentID] of firstParent) {
    const node = findServiceNode(tx, serviceID);
    if (!node || node.project_id !== projectID || (node.parent_id ?? null) === parentID) continue;
    const parentExists = parentID === null || findNode(tx, projectID, parentID)?.type === deploykit.NODE_GROUP;
    restored_nodes.push(reparentNode(tx, projectID, node, parentExists ? parentID : null));
  }
  tx.run("DELETE FROM pending_changes WHERE project_id = ?", projectID);
  return { removed_ids: log.map((c) => c.id), deleted_node_ids, restored_nodes };
}
