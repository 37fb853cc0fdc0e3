import * as deploykit from "../index.ts";
import { createApplyDeployments } from "./apply-deploy.ts";
import { deleteNode, findNode, linkServiceNode } from "./canvas.ts";
import type { DB, Tx } from "./db.ts";
import { createDomain } from "./domains.ts";
import { assertOwnerExists, createEnvVar, type EnvVarRow, envVarRow, updateEnvVar } from "./envvar.ts";
import { loadLog } from "./pending-log.ts";
import { envVarInProject, notFoundOwner, validateStagedCreate, validateStagedEnvCreate, validateStagedUpdate } from "./pending-stage.ts";
import { findProjectByID, updateProject } from "./project.ts";
import { assertAppliedReferences, loadVariableState, renameVariable } from "./references.ts";
import { createService, deleteService, updateService } from "./service.ts";
import { findServiceByID } from "./service-rows.ts";

/** Apply: the log replayed in one transaction, then the deployments it calls for. */

/** State shared by the steps of one Apply. */
interface ApplyState {
  projectID: string;
  temp: Map<string, string>;
  created: string[];
  marked: Set<string>;
  /** Renamed services: their network alias is the name, so their containers must be replaced. */
  forced: Set<string>;
  updated: Set<string>;
  deleted: Set<string>;
  /** Groups deleted earlier in the log: later entries for their variables have nothing left to change. */
  deletedGroups: Set<string>;
  /** Services whose git source changed: their next deployment is built. */
  rebuild: Set<string>;
  /** Services with a non-cancelled deployment; no deployment is created until every entry ran, so it is read once. */
  deployed?: string[];
}

function hasDeployment(tx: Tx, serviceID: string): boolean {
  return tx.get("SELECT 1 FROM deployments WHERE service_id = ? AND status != 'cancelled'", serviceID) !== undefined;
}

function markAllDeployed(tx: Tx, st: ApplyState): void {
  st.deployed ??= tx
    .all<{ id: string }>(
      "SELECT s.id FROM services s WHERE s.project_id = ? AND EXISTS (SELECT 1 FROM deployments d WHERE d.service_id = s.id AND d.status != 'cancelled') ORDER BY s.created_at, s.rowid",
      st.projectID,
    )
    .map((r) => r.id);
  for (const id of st.deployed) if (!st.deleted.has(id)) st.marked.add(id);
}

/**
 * Marks the services that see a variable of this owner through the overlay. Services that reach
 * it by reference are marked by Apply's before/after comparison of resolved envs.
 */
function markScope(tx: Tx, st: ApplyState, scope: deploykit.EnvScope, scopeID: string): void {
  if (scope === deploykit.SCOPE_SERVICE) st.marked.add(scopeID);
  else if (scope === deploykit.SCOPE_PROJECT) markAllDeployed(tx, st);
  else if (scope === deploykit.SCOPE_GROUP) {
    for (const r of tx.all<{ service_id: string }>(
      "SELECT service_id FROM canvas_nodes WHERE parent_id = ? AND service_id IS NOT NULL",
      scopeID,
    ))
      if (hasDeployment(tx, r.service_id)) st.marked.add(r.service_id);
  }
}

function rewriteRenamed(tx: Tx, st: ApplyState, oldName: string, newName: string): void {
  const rows = tx.all<EnvVarRow>(
    `SELECT * FROM env_vars WHERE (scope = 'project' AND scope_id = ?)
       OR (scope = 'group' AND scope_id IN (SELECT id FROM canvas_nodes WHERE project_id = ? AND type = 'group'))
       OR (scope = 'service' AND scope_id IN (SELECT id FROM services WHERE project_id = ?))`,
    st.projectID,
    st.projectID,
    st.projectID,
  );
  for (const r of rows.map((row) => envVarRow(tx, row))) {
    const value = deploykit.rewriteReferences(r.value, oldName, newName);
    if (value === r.value) continue;
    updateEnvVar(tx, r, value);
    markScope(tx, st, r.scope, r.scope_id);
  }
}

function applyEntry(tx: Tx, st: ApplyState, c: deploykit.PendingChange): void {
  const p = c.payload;
  switch (c.op) {
    case deploykit.OP_PROJECT_UPDATE: {
      if (typeof p.name !== "string") throw deploykit.errorf(deploykit.EINVALID, "Name cannot be empty.");
      deploykit.validateProjectUpdate({ name: p.name });
      updateProject(tx, st.projectID, { name: p.name });
      return;
    }
    case deploykit.OP_SERVICE_CREATE: {
      const temp = c.target_temp_id;
      if (!temp) throw deploykit.errorf(deploykit.EINVALID, "A new service needs the id of its canvas node.");
      if (st.temp.has(temp)) throw deploykit.errorf(deploykit.ECONFLICT, "This canvas node already has a staged service.");
      validateStagedCreate(p);
      const svc = createService(
        tx,
        st.projectID,
        deploykit.pickPayload(p, deploykit.STAGED_SERVICE_KEYS) as unknown as deploykit.ServiceCreate,
      );
      for (const e of (p.env_vars as deploykit.Payload[] | undefined) ?? []) {
        try {
          const input: deploykit.EnvVarCreate = {
            scope: deploykit.SCOPE_SERVICE,
            scope_id: svc.id,
            key: e.key as string,
            value: e.value as string,
          };
          createEnvVar(tx, { ...input, ...deploykit.sealedFlag(e) });
        } catch (err) {
          if (deploykit.errorCode(err) === deploykit.ECONFLICT)
            throw deploykit.errorf(deploykit.ECONFLICT, `Env var "${e.key}" is duplicated on service "${svc.name}".`);
          throw err;
        }
      }
      linkServiceNode(tx, st.projectID, temp, svc);
      st.temp.set(temp, svc.id);
      st.created.push(svc.id);
      return;
    }
    case deploykit.OP_SERVICE_UPDATE: {
      if (!c.target_id) throw deploykit.errorf(deploykit.EINVALID, "Pending change has no target.");
      const row = tx.get<{ project_id: string }>("SELECT project_id FROM services WHERE id = ?", c.target_id);
      // Deleted earlier in the log or out of band: nothing left to update.
      if (!row || row.project_id !== st.projectID) return;
      validateStagedUpdate(p);
      const upd = deploykit.pickPayload(p, deploykit.STAGED_SERVICE_KEYS) as deploykit.ServiceUpdate;
      const before = findServiceByID(tx, c.target_id);
      const change = updateService(tx, before, upd);
      if (change.changed) st.updated.add(before.id);
      if (change.sourceChanged) st.rebuild.add(before.id);
      if (p.reparented === true || change.settingsChanged) st.marked.add(before.id);
      if (change.renamedFrom !== null) {
        st.marked.add(before.id);
        st.forced.add(before.id);
        rewriteRenamed(tx, st, change.renamedFrom, change.service.name);
      }
      // Consumers may resolve ${{name.PORT}}; the snapshot comparison keeps the unaffected ones untouched.
      if (JSON.stringify(before.ports) !== JSON.stringify(change.service.ports)) markAllDeployed(tx, st);
      return;
    }
    case deploykit.OP_SERVICE_DELETE: {
      if (!c.target_id) throw deploykit.errorf(deploykit.EINVALID, "Pending change has no target.");
      const row = tx.get<{ project_id: string }>("SELECT project_id FROM services WHERE id = ?", c.target_id);
      if (!row || row.project_id !== st.projectID) return;
      deleteService(tx, c.target_id);
      st.marked.delete(c.target_id);
      st.updated.delete(c.target_id);
      st.deleted.add(c.target_id);
      st.created = st.created.filter((id) => id !== c.target_id);
      return;
    }
    case deploykit.OP_ENV_CREATE: {
      validateStagedEnvCreate(p);
      let owner: string;
      if (c.parent_temp_id) {
        const mapped = st.temp.get(c.parent_temp_id);
        if (!mapped)
          throw deploykit.errorf(
            deploykit.EINVALID,
            `Pending env var references a service (${c.parent_temp_id}) that was never staged for creation.`,
          );
        owner = mapped;
      } else if (c.target_id) owner = c.target_id;
      else throw deploykit.errorf(deploykit.EINVALID, "Pending env var has no target.");
      const scope = p.scope as deploykit.EnvScope;
      // The service or group was deleted earlier in this log: its variables went with it.
      if (scope === deploykit.SCOPE_SERVICE && st.deleted.has(owner)) return;
      if (scope === deploykit.SCOPE_GROUP && st.deletedGroups.has(owner)) return;
      if (assertOwnerExists(tx, scope, owner) !== st.projectID) throw deploykit.errorf(deploykit.ENOTFOUND, notFoundOwner(scope));
      createEnvVar(tx, { scope, scope_id: owner, key: p.key as string, value: p.value as string, ...deploykit.sealedFlag(p) });
      markScope(tx, st, scope, owner);
      return;
    }
    case deploykit.OP_ENV_UPDATE:
    case deploykit.OP_ENV_DELETE: {
      if (p.scope === deploykit.SCOPE_SERVICE && typeof p.scope_id === "string" && st.deleted.has(p.scope_id)) return;
      if (p.scope === deploykit.SCOPE_GROUP && typeof p.scope_id === "string" && st.deletedGroups.has(p.scope_id)) return;
      const ev = envVarInProject(tx, st.projectID, c.target_id);
      if (c.op === deploykit.OP_ENV_UPDATE) {
        const v = new deploykit.FieldErrorCollector();
        deploykit.validateEnvValue(p.value, v);
        v.throwIfAny();
        updateEnvVar(tx, ev, p.value as string);
        if (typeof p.new_key === "string" && p.new_key !== ev.key) renameVariable(tx, st.projectID, ev, p.new_key);
      } else tx.run("DELETE FROM env_vars WHERE id = ?", ev.id);
      markScope(tx, st, ev.scope, ev.scope_id);
      return;
    }
    case deploykit.OP_DOMAIN_CREATE: {
      if (!c.target_id) throw deploykit.errorf(deploykit.EINVALID, "Pending change has no target.");
      const row = tx.get<{ project_id: string }>("SELECT project_id FROM services WHERE id = ?", c.target_id);
      // The service was deleted earlier in this log or out of band: its domains went with it.
      if (!row || row.project_id !== st.projectID) return;
      createDomain(tx, st.projectID, c.target_id, {
        hostname: String(p.hostname),
        target_port: Number(p.target_port),
        generated: p.generated === true,
      });
      return;
    }
    case deploykit.OP_DOMAIN_DELETE: {
      if (!c.target_id) throw deploykit.errorf(deploykit.EINVALID, "Pending change has no target.");
      tx.run("DELETE FROM domains WHERE id = ? AND project_id = ?", c.target_id, st.projectID);
      return;
    }
    case deploykit.OP_GROUP_DELETE: {
      const group = c.target_id ? findNode(tx, st.projectID, c.target_id) : null;
      // Deleted out of band (a project delete): nothing left to do.
      if (!group || group.type !== deploykit.NODE_GROUP) return;
      // Its deployed children lose the group's variables: they redeploy. Marked before the node goes.
      markScope(tx, st, deploykit.SCOPE_GROUP, group.id);
      deleteNode(tx, st.projectID, group.id);
      st.deletedGroups.add(group.id);
      return;
    }
    default:
      throw deploykit.errorf(deploykit.EINVALID, "Unknown pending change op.");
  }
}

export function apply(tx: Tx, db: DB, projectID: string, fault: (name: string) => void): deploykit.ApplyResult {
  findProjectByID(tx, projectID);
  const log = loadLog(tx, projectID);
  const st: ApplyState = {
    projectID,
    temp: new Map(),
    created: [],
    marked: new Set(),
    forced: new Set(),
    updated: new Set(),
    deleted: new Set(),
    deletedGroups: new Set(),
    rebuild: new Set(),
  };
  const before = loadVariableState(tx, projectID);
  fault("apply:begin");
  for (const c of log) {
    applyEntry(tx, st, c);
    fault(`apply:after-entry:${c.seq}`);
  }

  // Deployments are made after every entry, so a new service sees the env vars and the names staged after it.
  const project = assertAppliedReferences(tx, before, projectID);
  const { created_deployments, redeployed_service_ids } = createApplyDeployments(
    tx,
    { ...st, projectID },
    {
      before: deploykit.toReferenceProject(before),
      after: project,
    },
  );
  const createdSet = new Set(st.created);
  tx.run("DELETE FROM pending_changes WHERE project_id = ?", projectID);

  for (const id of st.created)
    db.publish(tx, deploykit.newEvent(deploykit.EVENT_SERVICE_CREATED, projectID, { service: findServiceByID(tx, id) }));
  for (const id of st.updated)
    if (!createdSet.has(id))
      db.publish(tx, deploykit.newEvent(deploykit.EVENT_SERVICE_UPDATED, projectID, { service: findServiceByID(tx, id) }));
  for (const id of st.deleted) db.publish(tx, deploykit.newEvent(deploykit.EVENT_SERVICE_DELETED, projectID, { service_id: id }));
  fault("apply:before-commit");

  return {
    applied_count: log.length,
    temp_id_to_service_id: Object.fromEntries(st.temp),
    redeployed_service_ids,
    created_deployments,
  };
}
