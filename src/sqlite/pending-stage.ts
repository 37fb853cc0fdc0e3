import * as deploykit from "../index.ts";
import { validateCronField } from "./cron.ts";
import type { Tx } from "./db.ts";
import { prepareDomainCreate } from "./domains.ts";
import { assertOwnerExists, findEnvVarByID, SCOPE_MESSAGE } from "./envvar.ts";
import { assertGroupNotDeleting, prepareGroupDelete } from "./group-delete.ts";
import { findServiceByID, projectServiceRows } from "./service-rows.ts";
import { getSettings } from "./settings.ts";

/** Staging: each entry checked against the applied state and the log before it is stored. */

/** Service settings of a staged create: name and image required, the rest as for an update, inline env vars well formed. */
export function validateStagedCreate(p: deploykit.Payload): void {
  const fields: deploykit.FieldErrors = {};
  try {
    deploykit.validateServiceCreate(p as unknown as deploykit.ServiceCreate);
  } catch (err) {
    if (deploykit.isDeployKitError(err) && err.fields) Object.assign(fields, err.fields);
    else throw err;
  }
  // A service runs an image or what is built from its repository.
  const hasRepo = typeof p.repo_url === "string" && !deploykit.isBlank(p.repo_url);
  if (!hasRepo && (typeof p.image !== "string" || deploykit.isBlank(p.image))) fields.image = ["Image is required."];
  if (!fields.cron_schedule) {
    try {
      validateCronField(p.cron_schedule);
    } catch (err) {
      if (deploykit.isDeployKitError(err) && err.fields) Object.assign(fields, err.fields);
      else throw err;
    }
  }
  const envs = p.env_vars;
  if (envs !== undefined) {
    if (!Array.isArray(envs)) fields.env_vars = ["Env vars must be a list."];
    else {
      const seen = new Set<string>();
      envs.forEach((e: unknown, i) => {
        const v = new deploykit.FieldErrorCollector();
        const ev = deploykit.isPlainObject(e) ? e : {};
        if (ev.scope !== undefined && ev.scope !== deploykit.SCOPE_SERVICE)
          v.add(`env_vars[${i}].scope`, "Env vars of a new service must have service scope.");
        deploykit.validateEnvKey(ev.key, v, `env_vars[${i}].key`);
        deploykit.validateEnvValue(ev.value, v, `env_vars[${i}].value`);
        if (typeof ev.key === "string" && seen.has(ev.key)) v.add(`env_vars[${i}].key`, `Env var "${ev.key}" is listed twice.`);
        if (typeof ev.key === "string") seen.add(ev.key);
        Object.assign(fields, v.fields);
      });
    }
  }
  if (Object.keys(fields).length > 0) throw deploykit.fieldError(fields);
}

export function validateStagedUpdate(p: deploykit.Payload): void {
  deploykit.validateServiceUpdate(deploykit.pickPayload(p, deploykit.STAGED_SERVICE_KEYS) as deploykit.ServiceUpdate);
  validateCronField(p.cron_schedule);
  if (p.reparented !== undefined && typeof p.reparented !== "boolean")
    throw deploykit.errorf(deploykit.EINVALID, "reparented must be a boolean.");
  if (p.previous_parent_id !== undefined && typeof p.previous_parent_id !== "string")
    throw deploykit.errorf(deploykit.EINVALID, "previous_parent_id must be a string.");
}

export function serviceInProject(tx: Tx, projectID: string, id: string | undefined): deploykit.Service {
  if (!id) throw deploykit.errorf(deploykit.EINVALID, "Pending change has no target.");
  const svc = findServiceByID(tx, id);
  if (svc.project_id !== projectID) throw deploykit.errorf(deploykit.ENOTFOUND, "Service not found.");
  return svc;
}

export function envVarInProject(tx: Tx, projectID: string, id: string | undefined): deploykit.EnvVar {
  if (!id) throw deploykit.errorf(deploykit.EINVALID, "Pending change has no target.");
  const ev = findEnvVarByID(tx, id);
  let owner: string;
  try {
    owner = assertOwnerExists(tx, ev.scope, ev.scope_id);
  } catch {
    throw deploykit.errorf(deploykit.ENOTFOUND, "Env var not found.");
  }
  if (owner !== projectID) throw deploykit.errorf(deploykit.ENOTFOUND, "Env var not found.");
  return ev;
}

function assertNameFree(tx: Tx, projectID: string, log: deploykit.PendingChange[], name: string, owner: string): void {
  const names = deploykit.effectiveServiceNames(projectServiceRows(tx, projectID), log);
  const holder = names.get(name.toLowerCase());
  if (holder !== undefined && holder !== owner) throw deploykit.errorf(deploykit.ECONFLICT, deploykit.serviceNameTakenMessage(name));
}

/**
 * The original's checkEnvVarKeyFree: taken by an applied row of the owner (unless its delete is
 * staged) or by a staged create for the same owner, scope and key.
 */
function assertEnvKeyFree(
  tx: Tx,
  log: deploykit.PendingChange[],
  scope: string,
  ownerID: string,
  key: string,
  pendingOwner: boolean,
): void {
  const taken = () => deploykit.errorf(deploykit.ECONFLICT, `Env var "${key}" already exists.`);
  if (!pendingOwner) {
    const row = tx.get<{ id: string }>("SELECT id FROM env_vars WHERE scope = ? AND scope_id = ? AND key = ?", scope, ownerID, key);
    if (row && !log.some((c) => c.op === deploykit.OP_ENV_DELETE && c.target_id === row.id)) throw taken();
  }
  for (const c of log) {
    if (c.op === deploykit.OP_ENV_CREATE && c.payload.key === key && c.payload.scope === scope) {
      if ((pendingOwner ? c.parent_temp_id : c.target_id) === ownerID) throw taken();
    }
    if (pendingOwner && c.op === deploykit.OP_SERVICE_CREATE && c.target_temp_id === ownerID && Array.isArray(c.payload.env_vars)) {
      if ((c.payload.env_vars as deploykit.Payload[]).some((e) => e.key === key)) throw taken();
    }
  }
}

/**
 * A staged service may only publish host ports inside the admin's range and none that are reserved:
 * a member must not take 22/80/443, or the daemon's own port (EINVALID naming the range).
 */
export function assertHostPortsAllowed(tx: Tx, c: deploykit.PendingChangeAppend, reserved: ReadonlyMap<number, string>): void {
  if (c.op !== deploykit.OP_SERVICE_CREATE && c.op !== deploykit.OP_SERVICE_UPDATE) return;
  const ports = c.payload?.ports;
  if (!Array.isArray(ports)) return;
  const errors = deploykit.checkPublishedPorts(ports as deploykit.PortMapping[], getSettings(tx), reserved);
  if (Object.keys(errors).length > 0) throw deploykit.fieldError(errors);
}

/** Checks an entry against the database and the log, and returns what to store (payload normalized). */
/** A staged variable's scope, key and value, as at staging so at Apply. */
export function validateStagedEnvCreate(p: deploykit.Payload): void {
  const v = new deploykit.FieldErrorCollector();
  if (!deploykit.isEnvScope(p.scope)) v.add("scope", SCOPE_MESSAGE);
  deploykit.validateEnvKey(p.key, v);
  deploykit.validateEnvValue(p.value, v);
  v.throwIfAny();
}

export function prepareEntry(
  tx: Tx,
  projectID: string,
  log: deploykit.PendingChange[],
  c: deploykit.PendingChangeAppend,
): deploykit.PendingChangeAppend {
  const p: deploykit.Payload = c.payload ?? {};
  const base = { op: c.op, target_type: c.target_type };
  switch (c.op) {
    case deploykit.OP_PROJECT_UPDATE: {
      if (c.target_id !== undefined && c.target_id !== projectID) throw deploykit.errorf(deploykit.EINVALID, "Target must be the project.");
      if (typeof p.name !== "string") throw deploykit.errorf(deploykit.EINVALID, "Name is required.");
      deploykit.validateProjectUpdate({ name: p.name });
      return { ...base, target_id: projectID, payload: { name: p.name.trim() } };
    }
    case deploykit.OP_SERVICE_CREATE: {
      const temp = c.target_temp_id;
      if (!temp) throw deploykit.errorf(deploykit.EINVALID, "A new service needs the id of its canvas node.");
      deploykit.validateNodeID(temp);
      validateStagedCreate(p);
      if (log.some((e) => e.target_temp_id === temp && e.op === deploykit.OP_SERVICE_CREATE))
        throw deploykit.errorf(deploykit.ECONFLICT, "This canvas node already has a staged service.");
      const node = tx.get<{ project_id: string; service_id: string | null }>(
        "SELECT project_id, service_id FROM canvas_nodes WHERE id = ?",
        temp,
      );
      if (node && node.project_id !== projectID) throw deploykit.errorf(deploykit.ECONFLICT, "Node id is already used in another project.");
      if (node && node.service_id !== null) throw deploykit.errorf(deploykit.ECONFLICT, "This canvas node already belongs to a service.");
      assertNameFree(tx, projectID, log, p.name as string, temp);
      return { ...base, target_temp_id: temp, payload: deploykit.pickPayload(p, [...deploykit.STAGED_SERVICE_KEYS, "env_vars"]) };
    }
    case deploykit.OP_SERVICE_UPDATE: {
      const svc = serviceInProject(tx, projectID, c.target_id);
      validateStagedUpdate(p);
      if (p.volumes !== undefined || p.replicas !== undefined) {
        const staged = log.filter((e) => e.op === deploykit.OP_SERVICE_UPDATE && e.target_id === svc.id).map((e) => e.payload);
        deploykit.assertVolumeReplicas(deploykit.mergedSettings(svc, [...staged, p] as deploykit.ServiceUpdate[]));
      }
      if (typeof p.name === "string" && p.name !== "") assertNameFree(tx, projectID, log, p.name, svc.id);
      return {
        ...base,
        target_id: svc.id,
        payload: deploykit.pickPayload(p, [...deploykit.STAGED_SERVICE_KEYS, "reparented", "previous_parent_id"]),
      };
    }
    case deploykit.OP_SERVICE_DELETE: {
      const svc = serviceInProject(tx, projectID, c.target_id);
      if (log.some((e) => e.op === deploykit.OP_SERVICE_DELETE && e.target_id === svc.id))
        throw deploykit.errorf(deploykit.ECONFLICT, "This service is already staged for deletion.");
      return { ...base, target_id: svc.id, payload: {} };
    }
    case deploykit.OP_ENV_CREATE: {
      validateStagedEnvCreate(p);
      deploykit.validateSealed(p.sealed);
      const scope = p.scope as deploykit.EnvScope;
      const key = p.key as string;
      if (c.parent_temp_id) {
        if (scope !== deploykit.SCOPE_SERVICE)
          throw deploykit.errorf(deploykit.EINVALID, "Env vars of a new service must have service scope.");
        if (!log.some((e) => e.op === deploykit.OP_SERVICE_CREATE && e.target_temp_id === c.parent_temp_id))
          throw deploykit.errorf(
            deploykit.EINVALID,
            `Pending env var references a service (${c.parent_temp_id}) that was never staged for creation.`,
          );
        assertEnvKeyFree(tx, log, scope, c.parent_temp_id, key, true);
        return { ...base, parent_temp_id: c.parent_temp_id, payload: { scope, key, value: p.value, ...deploykit.sealedFlag(p) } };
      }
      if (!c.target_id) throw deploykit.errorf(deploykit.EINVALID, "Pending env var has no target.");
      const owner = assertOwnerExists(tx, scope, c.target_id);
      if (owner !== projectID) throw deploykit.errorf(deploykit.ENOTFOUND, notFoundOwner(scope));
      assertGroupNotDeleting(log, scope, c.target_id);
      assertEnvKeyFree(tx, log, scope, c.target_id, key, false);
      return { ...base, target_id: c.target_id, payload: { scope, key, value: p.value, ...deploykit.sealedFlag(p) } };
    }
    case deploykit.OP_DOMAIN_CREATE: {
      const svc = serviceInProject(tx, projectID, c.target_id);
      if (log.some((e) => e.op === deploykit.OP_SERVICE_DELETE && e.target_id === svc.id))
        throw deploykit.errorf(deploykit.EINVALID, "This service is staged for deletion.");
      return { ...base, target_id: svc.id, payload: prepareDomainCreate(tx, projectID, log, svc, p) };
    }
    case deploykit.OP_GROUP_DELETE:
      return prepareGroupDelete(tx, projectID, log, c);
    case deploykit.OP_DOMAIN_DELETE: {
      if (!c.target_id) throw deploykit.errorf(deploykit.EINVALID, "Pending change has no target.");
      const d = tx.get<{ id: string; project_id: string; service_id: string; hostname: string }>(
        "SELECT id, project_id, service_id, hostname FROM domains WHERE id = ?",
        c.target_id,
      );
      if (!d || d.project_id !== projectID) throw deploykit.errorf(deploykit.ENOTFOUND, "Domain not found.");
      if (log.some((e) => e.op === deploykit.OP_DOMAIN_DELETE && e.target_id === d.id))
        throw deploykit.errorf(deploykit.ECONFLICT, "This domain is already staged for deletion.");
      return { ...base, target_id: d.id, payload: { service_id: d.service_id, hostname: d.hostname } };
    }
    case deploykit.OP_ENV_UPDATE:
    case deploykit.OP_ENV_DELETE: {
      const ev = envVarInProject(tx, projectID, c.target_id);
      if (log.some((e) => e.op === deploykit.OP_ENV_DELETE && e.target_id === ev.id))
        throw deploykit.errorf(deploykit.ECONFLICT, "This env var is already staged for deletion.");
      assertGroupNotDeleting(log, ev.scope, ev.scope_id);
      deploykit.validateSealed(p.sealed, ev);
      const meta = { scope: ev.scope, scope_id: ev.scope_id, key: ev.key, old_value: ev.value, ...deploykit.sealedFlag(ev) };
      if (c.op === deploykit.OP_ENV_DELETE) return { ...base, target_id: ev.id, payload: meta };
      const v = new deploykit.FieldErrorCollector();
      deploykit.validateEnvValue(p.value, v);
      const renamed = p.new_key !== undefined && p.new_key !== ev.key;
      if (renamed) deploykit.validateEnvKey(p.new_key, v, "key");
      v.throwIfAny();
      if (renamed) assertEnvKeyFree(tx, log, ev.scope, ev.scope_id, p.new_key as string, false);
      return { ...base, target_id: ev.id, payload: { value: p.value, ...meta, ...(renamed ? { new_key: p.new_key } : {}) } };
    }
  }
}

export function notFoundOwner(scope: deploykit.EnvScope): string {
  return scope === deploykit.SCOPE_PROJECT || scope === deploykit.SCOPE_SHARED
    ? "Project not found."
    : scope === deploykit.SCOPE_GROUP
      ? "Group not found."
      : "Service not found.";
}
