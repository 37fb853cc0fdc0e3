import * as deploykit from "../index.ts";
import { createApplyDeployments } from "./apply-deploy.ts";
import { findNode, findServiceNode, linkServiceNode, reparentNode } from "./canvas.ts";
import { validateCronField } from "./cron.ts";
import { type DB, fromJSON, newID, queryPage, type Tx, toJSON } from "./db.ts";
import { createDeployment, toDeployment } from "./deployment.ts";
import { createDomain, prepareDomainCreate } from "./domains.ts";
import { assertOwnerExists, createEnvVar, type EnvVarRow, envVarRow, findEnvVarByID, SCOPE_MESSAGE, updateEnvVar } from "./envvar.ts";
import { findProjectByID, updateProject } from "./project.ts";
import { assertAppliedReferences, assertStagedReferences, loadVariableState, renameVariable } from "./references.ts";
import { openPayload, sealPayload } from "./secret-rows.ts";
import { createService, deleteService, findServiceByID, projectServiceRows, updateService } from "./service.ts";
import { assertRegistryAllowed, getSettings, NO_HOST_ADDRESSES } from "./settings.ts";

interface PendingRow {
  id: string;
  project_id: string;
  seq: number;
  op: deploykit.PendingOp;
  target_type: deploykit.TargetType;
  target_id: string | null;
  target_temp_id: string | null;
  parent_temp_id: string | null;
  payload: string;
  user_id: string | null;
  created_at: string;
}

type Payload = Record<string, unknown>;

const OP_TARGETS: Record<deploykit.PendingOp, deploykit.TargetType> = {
  [deploykit.OP_PROJECT_UPDATE]: deploykit.TARGET_PROJECT,
  [deploykit.OP_SERVICE_CREATE]: deploykit.TARGET_SERVICE,
  [deploykit.OP_SERVICE_UPDATE]: deploykit.TARGET_SERVICE,
  [deploykit.OP_SERVICE_DELETE]: deploykit.TARGET_SERVICE,
  [deploykit.OP_ENV_CREATE]: deploykit.TARGET_ENV_VAR,
  [deploykit.OP_ENV_UPDATE]: deploykit.TARGET_ENV_VAR,
  [deploykit.OP_ENV_DELETE]: deploykit.TARGET_ENV_VAR,
  [deploykit.OP_DOMAIN_CREATE]: deploykit.TARGET_SERVICE,
  [deploykit.OP_DOMAIN_DELETE]: deploykit.TARGET_DOMAIN,
};

const SETTINGS_KEYS = [
  "name",
  "icon_url",
  "image",
  "ports",
  "volumes",
  "resources",
  "replicas",
  "stop_grace_seconds",
  "start_command",
  "entrypoint",
  "restart_policy",
  "restart_max_retries",
  "pre_deploy_command",
  "cron_schedule",
  "cron_timeout_seconds",
  "healthcheck_path",
  "healthcheck_timeout_seconds",
  "drain_seconds",
  "repo_url",
  "branch",
  "root_dir",
  "dockerfile_path",
] as const;

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
    for (const change of changes) validateShape(change);
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
        (c) => c.op === deploykit.OP_SERVICE_UPDATE && c.target_id === serviceID && isPureReparent(c.payload),
      );
      // The earliest pure reparent remembers where the service really is (applied); later ones only moved it around.
      const first = earlier[0];
      const applied = first ? parentOrNull(first.payload.previous_parent_id) : (oldParentID ?? null);
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

function toChange(tx: Tx, r: PendingRow): deploykit.PendingChange {
  const c: deploykit.PendingChange = {
    id: r.id,
    project_id: r.project_id,
    seq: r.seq,
    op: r.op,
    target_type: r.target_type,
    payload: openPayload(tx, fromJSON<Payload>(r.payload, {})),
    created_at: r.created_at,
  };
  if (r.target_id !== null) c.target_id = r.target_id;
  if (r.target_temp_id !== null) c.target_temp_id = r.target_temp_id;
  if (r.parent_temp_id !== null) c.parent_temp_id = r.parent_temp_id;
  if (r.user_id !== null) c.user_id = r.user_id;
  return c;
}

export function loadLog(tx: Tx, projectID: string): deploykit.PendingChange[] {
  return tx.all<PendingRow>("SELECT * FROM pending_changes WHERE project_id = ? ORDER BY seq", projectID).map((r) => toChange(tx, r));
}

function findEntry(tx: Tx, projectID: string, id: string): deploykit.PendingChange {
  const r = tx.get<PendingRow>("SELECT * FROM pending_changes WHERE id = ? AND project_id = ?", id, projectID);
  if (!r) throw deploykit.errorf(deploykit.ENOTFOUND, "Pending change not found.");
  return toChange(tx, r);
}

function insertEntry(tx: Tx, projectID: string, userID: string | null, c: deploykit.PendingChangeAppend): deploykit.PendingChange {
  const seq = (tx.get<{ m: number | null }>("SELECT MAX(seq) AS m FROM pending_changes WHERE project_id = ?", projectID)?.m ?? 0) + 1;
  const row: PendingRow = {
    id: newID(),
    project_id: projectID,
    seq,
    op: c.op,
    target_type: c.target_type,
    target_id: c.target_id ?? null,
    target_temp_id: c.target_temp_id ?? null,
    parent_temp_id: c.parent_temp_id ?? null,
    payload: toJSON(sealPayload(tx, c.payload ?? {})),
    user_id: userID && tx.get("SELECT 1 FROM users WHERE id = ?", userID) ? userID : null,
    created_at: tx.now,
  };
  tx.run(
    `INSERT INTO pending_changes (id, project_id, seq, op, target_type, target_id, target_temp_id, parent_temp_id, payload, user_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    row.id,
    row.project_id,
    row.seq,
    row.op,
    row.target_type,
    row.target_id,
    row.target_temp_id,
    row.parent_temp_id,
    row.payload,
    row.user_id,
    row.created_at,
  );
  return toChange(tx, row);
}

function isPlainObject(v: unknown): v is Payload {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parentOrNull(v: unknown): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}

function isPureReparent(p: Payload): boolean {
  return p.reparented === true && Object.keys(p).every((k) => k === "reparented" || k === "previous_parent_id");
}

function validateShape(c: deploykit.PendingChangeAppend): void {
  if (!isPlainObject(c)) throw deploykit.errorf(deploykit.EINVALID, "Pending change must be an object.");
  if (!(deploykit.PENDING_OPS as readonly string[]).includes(c.op))
    throw deploykit.errorf(deploykit.EINVALID, "Unknown pending change op.");
  if (c.target_type !== OP_TARGETS[c.op]) throw deploykit.errorf(deploykit.EINVALID, "Target type does not match the op.");
  if (c.payload !== undefined && !isPlainObject(c.payload)) throw deploykit.errorf(deploykit.EINVALID, "Payload must be a JSON object.");
  for (const id of [c.target_id, c.target_temp_id, c.parent_temp_id]) {
    if (id !== undefined && (typeof id !== "string" || id === "" || id.length > 128))
      throw deploykit.errorf(deploykit.EINVALID, "Target id is invalid.");
  }
}

function pick(p: Payload, keys: readonly string[]): Payload {
  const out: Payload = {};
  for (const k of keys) if (p[k] !== undefined) out[k] = p[k];
  return out;
}

/** Service settings of a staged create: name and image required, the rest as for an update, inline env vars well formed. */
function validateStagedCreate(p: Payload): void {
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
        const ev = isPlainObject(e) ? e : {};
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

function validateStagedUpdate(p: Payload): void {
  deploykit.validateServiceUpdate(pick(p, SETTINGS_KEYS) as deploykit.ServiceUpdate);
  validateCronField(p.cron_schedule);
  if (p.reparented !== undefined && typeof p.reparented !== "boolean")
    throw deploykit.errorf(deploykit.EINVALID, "reparented must be a boolean.");
  if (p.previous_parent_id !== undefined && typeof p.previous_parent_id !== "string")
    throw deploykit.errorf(deploykit.EINVALID, "previous_parent_id must be a string.");
}

function serviceInProject(tx: Tx, projectID: string, id: string | undefined): deploykit.Service {
  if (!id) throw deploykit.errorf(deploykit.EINVALID, "Pending change has no target.");
  const svc = findServiceByID(tx, id);
  if (svc.project_id !== projectID) throw deploykit.errorf(deploykit.ENOTFOUND, "Service not found.");
  return svc;
}

function envVarInProject(tx: Tx, projectID: string, id: string | undefined): deploykit.EnvVar {
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
      if ((c.payload.env_vars as Payload[]).some((e) => e.key === key)) throw taken();
    }
  }
}

/**
 * A staged service may only publish host ports inside the admin's range and none that are reserved:
 * a member must not take 22/80/443, or the daemon's own port (EINVALID naming the range).
 */
function assertHostPortsAllowed(tx: Tx, c: deploykit.PendingChangeAppend, reserved: ReadonlyMap<number, string>): void {
  if (c.op !== deploykit.OP_SERVICE_CREATE && c.op !== deploykit.OP_SERVICE_UPDATE) return;
  const ports = c.payload?.ports;
  if (!Array.isArray(ports)) return;
  const errors = deploykit.checkPublishedPorts(ports as deploykit.PortMapping[], getSettings(tx), reserved);
  if (Object.keys(errors).length > 0) throw deploykit.fieldError(errors);
}

/** Checks an entry against the database and the log, and returns what to store (payload normalized). */
function prepareEntry(
  tx: Tx,
  projectID: string,
  log: deploykit.PendingChange[],
  c: deploykit.PendingChangeAppend,
): deploykit.PendingChangeAppend {
  const p: Payload = c.payload ?? {};
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
      return { ...base, target_temp_id: temp, payload: pick(p, [...SETTINGS_KEYS, "env_vars"]) };
    }
    case deploykit.OP_SERVICE_UPDATE: {
      const svc = serviceInProject(tx, projectID, c.target_id);
      validateStagedUpdate(p);
      if (p.volumes !== undefined || p.replicas !== undefined) {
        const staged = log.filter((e) => e.op === deploykit.OP_SERVICE_UPDATE && e.target_id === svc.id).map((e) => e.payload);
        deploykit.assertVolumeReplicas(deploykit.mergedSettings(svc, [...staged, p] as deploykit.ServiceUpdate[]));
      }
      if (typeof p.name === "string" && p.name !== "") assertNameFree(tx, projectID, log, p.name, svc.id);
      return { ...base, target_id: svc.id, payload: pick(p, [...SETTINGS_KEYS, "reparented", "previous_parent_id"]) };
    }
    case deploykit.OP_SERVICE_DELETE: {
      const svc = serviceInProject(tx, projectID, c.target_id);
      if (log.some((e) => e.op === deploykit.OP_SERVICE_DELETE && e.target_id === svc.id))
        throw deploykit.errorf(deploykit.ECONFLICT, "This service is already staged for deletion.");
      return { ...base, target_id: svc.id, payload: {} };
    }
    case deploykit.OP_ENV_CREATE: {
      const v = new deploykit.FieldErrorCollector();
      if (!deploykit.isEnvScope(p.scope)) v.add("scope", SCOPE_MESSAGE);
      deploykit.validateEnvKey(p.key, v);
      deploykit.validateEnvValue(p.value, v);
      v.throwIfAny();
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
      assertEnvKeyFree(tx, log, scope, c.target_id, key, false);
      return { ...base, target_id: c.target_id, payload: { scope, key, value: p.value, ...deploykit.sealedFlag(p) } };
    }
    case deploykit.OP_DOMAIN_CREATE: {
      const svc = serviceInProject(tx, projectID, c.target_id);
      if (log.some((e) => e.op === deploykit.OP_SERVICE_DELETE && e.target_id === svc.id))
        throw deploykit.errorf(deploykit.EINVALID, "This service is staged for deletion.");
      return { ...base, target_id: svc.id, payload: prepareDomainCreate(tx, projectID, log, svc, p) };
    }
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

function notFoundOwner(scope: deploykit.EnvScope): string {
  return scope === deploykit.SCOPE_PROJECT || scope === deploykit.SCOPE_SHARED
    ? "Project not found."
    : scope === deploykit.SCOPE_GROUP
      ? "Group not found."
      : "Service not found.";
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
      firstParent.set(c.target_id, parentOrNull(c.payload.previous_parent_id));
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
      const svc = createService(tx, st.projectID, pick(p, SETTINGS_KEYS) as unknown as deploykit.ServiceCreate);
      for (const e of (p.env_vars as Payload[] | undefined) ?? []) {
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
      const upd = pick(p, SETTINGS_KEYS) as deploykit.ServiceUpdate;
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
      const v = new deploykit.FieldErrorCollector();
      if (!deploykit.isEnvScope(p.scope)) v.add("scope", SCOPE_MESSAGE);
      deploykit.validateEnvKey(p.key, v);
      deploykit.validateEnvValue(p.value, v);
      v.throwIfAny();
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
      // The service was deleted earlier in this log: its variables went with it.
      if (scope === deploykit.SCOPE_SERVICE && st.deleted.has(owner)) return;
      if (assertOwnerExists(tx, scope, owner) !== st.projectID) throw deploykit.errorf(deploykit.ENOTFOUND, notFoundOwner(scope));
      createEnvVar(tx, { scope, scope_id: owner, key: p.key as string, value: p.value as string, ...deploykit.sealedFlag(p) });
      markScope(tx, st, scope, owner);
      return;
    }
    case deploykit.OP_ENV_UPDATE:
    case deploykit.OP_ENV_DELETE: {
      if (p.scope === deploykit.SCOPE_SERVICE && typeof p.scope_id === "string" && st.deleted.has(p.scope_id)) return;
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
    default:
      throw deploykit.errorf(deploykit.EINVALID, "Unknown pending change op.");
  }
}

function apply(tx: Tx, db: DB, projectID: string, fault: (name: string) => void): deploykit.ApplyResult {
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
