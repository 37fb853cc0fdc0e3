import * as deploykit from "../index.ts";
import { type DB, isUniqueError, newID, type Tx, toJSON } from "./db.ts";
import { findServiceByID, findServices, findSource } from "./service-rows.ts";
import { applySourceUpdate, sourceOf, writeSource } from "./source.ts";

export class ServiceService implements deploykit.ServiceService {
  readonly #db: DB;

  constructor(db: DB) {
    this.#db = db;
  }

  async findServiceByID(id: string): Promise<deploykit.Service> {
    return this.#db.read((tx) => findServiceByID(tx, id));
  }

  async findServices(filter: deploykit.ServiceFilter): Promise<deploykit.PageResult<deploykit.Service>> {
    return this.#db.read((tx) => findServices(tx, filter));
  }

  async createService(projectID: string, input: deploykit.ServiceCreate): Promise<deploykit.Service> {
    deploykit.validateServiceCreate(input);
    return this.#db.write((tx) => {
      if (!tx.get("SELECT 1 FROM projects WHERE id = ?", projectID)) throw deploykit.errorf(deploykit.ENOTFOUND, "Project not found.");
      const svc = createService(tx, projectID, input);
      this.#db.publish(tx, deploykit.newEvent(deploykit.EVENT_SERVICE_CREATED, projectID, { service: svc }));
      return svc;
    });
  }

  async updateService(id: string, upd: deploykit.ServiceUpdate): Promise<deploykit.Service> {
    deploykit.validateServiceUpdate(upd);
    return this.#db.write((tx) => {
      const { service } = updateService(tx, findServiceByID(tx, id), upd);
      this.#db.publish(tx, deploykit.newEvent(deploykit.EVENT_SERVICE_UPDATED, service.project_id, { service }));
      return service;
    });
  }

  async updateServiceStatus(id: string, status: deploykit.ServiceStatus): Promise<deploykit.ServiceStatus> {
    if (!deploykit.SERVICE_STATUSES.includes(status)) throw deploykit.errorf(deploykit.EINVALID, "Service status is invalid.");
    return this.#db.write((tx) => {
      const svc = findServiceByID(tx, id);
      if (svc.status !== status) setServiceStatus(tx, id, status);
      return svc.status;
    });
  }

  async requestRestart(id: string): Promise<deploykit.Service> {
    return this.#db.write((tx) => {
      const svc = findServiceByID(tx, id);
      if (svc.status === deploykit.SERVICE_STOPPED) throw deploykit.errorf(deploykit.EINVALID, "The service is stopped: start it instead.");
      if (svc.active_deployment_id === null)
        throw deploykit.errorf(deploykit.EINVALID, "Nothing to restart: the service has not been deployed yet.");
      tx.run("UPDATE services SET restart_requested_at = ? WHERE id = ?", tx.now, id);
      // After commit, for every caller alike: the reconciler passes over the service (issue 11).
      this.#db.publish(tx, deploykit.newEvent(deploykit.EVENT_SERVICE_RESTARTED, svc.project_id, { service_id: id, requested_at: tx.now }));
      return findServiceByID(tx, id);
    });
  }

  async setRunState(id: string, run: deploykit.RunState): Promise<{ service: deploykit.Service; previous: deploykit.ServiceStatus }> {
    return this.#db.write((tx) => {
      const svc = findServiceByID(tx, id);
      const next: deploykit.ServiceStatus =
        run === deploykit.RUN_STOP
          ? deploykit.SERVICE_STOPPED
          : svc.status !== deploykit.SERVICE_STOPPED
            ? svc.status
            : svc.active_deployment_id !== null ||
                tx.get("SELECT 1 FROM deployments WHERE service_id = ? AND status IN ('pending', 'starting')", id)
              ? deploykit.SERVICE_DEPLOYING
              : deploykit.SERVICE_CREATED;
      if (next !== svc.status) {
        tx.run("UPDATE services SET status = ?, updated_at = ? WHERE id = ?", next, tx.now, id);
        // After commit: the reconciler stops or starts the containers, the canvas shows the status.
        const change = { service_id: id, old_status: svc.status, new_status: next, requested: true as const };
        this.#db.publish(tx, deploykit.newEvent(deploykit.EVENT_SERVICE_STATUS_CHANGED, svc.project_id, change));
      }
      return { service: findServiceByID(tx, id), previous: svc.status };
    });
  }

  async deleteService(id: string): Promise<void> {
    this.#db.write((tx) => {
      const svc = findServiceByID(tx, id);
      deleteService(tx, id);
      this.#db.publish(tx, deploykit.newEvent(deploykit.EVENT_SERVICE_DELETED, svc.project_id, { service_id: id }));
    });
  }
}

export function assertServiceNameFree(tx: Tx, projectID: string, name: string, exceptID: string | null): void {
  const clash = tx.get<{ id: string }>("SELECT id FROM services WHERE project_id = ? AND name = ? COLLATE NOCASE", projectID, name);
  if (clash && clash.id !== exceptID) throw deploykit.errorf(deploykit.ECONFLICT, deploykit.serviceNameTakenMessage(name));
}

export function createService(tx: Tx, projectID: string, input: deploykit.ServiceCreate): deploykit.Service {
  assertServiceNameFree(tx, projectID, input.name, null);
  const svc: deploykit.Service = {
    id: newID(),
    project_id: projectID,
    name: input.name,
    status: deploykit.SERVICE_CREATED,
    icon_url: input.icon_url ? input.icon_url : null,
    active_deployment_id: null,
    image: input.image ?? "",
    ports: input.ports ?? [],
    volumes: input.volumes ?? [],
    resources: input.resources ?? null,
    replicas: input.replicas ?? 1,
    stop_grace_seconds: input.stop_grace_seconds ?? deploykit.DEFAULT_STOP_GRACE_SECONDS,
    start_command: argvOrNull(input.start_command),
    entrypoint: argvOrNull(input.entrypoint),
    restart_policy: input.restart_policy ?? deploykit.RESTART_ALWAYS,
    restart_max_retries: input.restart_max_retries ?? deploykit.DEFAULT_RESTART_MAX_RETRIES,
    pre_deploy_command: argvOrNull(input.pre_deploy_command),
    cron_schedule: cronOrNull(input.cron_schedule),
    cron_timeout_seconds: input.cron_timeout_seconds ?? deploykit.DEFAULT_CRON_TIMEOUT_SECONDS,
    healthcheck_path: input.healthcheck_path ? input.healthcheck_path : null,
    healthcheck_timeout_seconds: input.healthcheck_timeout_seconds ?? deploykit.DEFAULT_HEALTHCHECK_TIMEOUT_SECONDS,
    drain_seconds: input.drain_seconds ?? deploykit.DEFAULT_DRAIN_SECONDS,
    created_at: tx.now,
    updated_at: tx.now,
    ...sourceOf(input),
  };
  try {
    tx.run(
      `INSERT INTO services (id, project_id, name, status, icon_url, active_deployment_id, image, ports, volumes, resources, replicas, stop_grace_seconds, start_command, entrypoint,
         restart_policy, restart_max_retries, pre_deploy_command, cron_schedule, cron_timeout_seconds, healthcheck_path, healthcheck_timeout_seconds, drain_seconds, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      svc.id,
      projectID,
      svc.name,
      svc.status,
      svc.icon_url,
      svc.image,
      toJSON(svc.ports),
      toJSON(svc.volumes),
      svc.resources === null ? null : toJSON(svc.resources),
      svc.replicas,
      svc.stop_grace_seconds,
      svc.start_command === null ? null : toJSON(svc.start_command),
      svc.entrypoint === null ? null : toJSON(svc.entrypoint),
      svc.restart_policy,
      svc.restart_max_retries,
      svc.pre_deploy_command === null ? null : toJSON(svc.pre_deploy_command),
      svc.cron_schedule,
      svc.cron_timeout_seconds,
      svc.healthcheck_path,
      svc.healthcheck_timeout_seconds,
      svc.drain_seconds,
      tx.now,
      tx.now,
    );
  } catch (err) {
    if (isUniqueError(err)) throw deploykit.errorf(deploykit.ECONFLICT, deploykit.serviceNameTakenMessage(input.name));
    throw err;
  }
  writeSource(tx, svc.id, svc);
  return { ...svc, ...findSource(tx, svc.id) };
}

/** What an update changed: the name (old → new) and whether the next deployment would differ. */
export interface ServiceChange {
  service: deploykit.Service;
  renamedFrom: string | null;
  settingsChanged: boolean;
  /** The git source changed: the next deployment is built again. */
  sourceChanged: boolean;
  changed: boolean;
}

/** An argv setting as stored: an empty list means the image's own, like null. */
function argvOrNull(argv: string[] | null | undefined): string[] | null {
  return argv && argv.length > 0 ? argv : null;
}

/** A schedule as stored: trimmed, blank means none. */
function cronOrNull(expr: string | null | undefined): string | null {
  const t = typeof expr === "string" ? expr.trim().replace(/\s+/g, " ") : "";
  return t === "" ? null : t;
}

function same(a: unknown, b: unknown): boolean {
  return toJSON(a) === toJSON(b);
}

export function updateService(tx: Tx, svc: deploykit.Service, upd: deploykit.ServiceUpdate): ServiceChange {
  const next = { ...svc };
  let renamedFrom: string | null = null;
  let settingsChanged = false;
  if (upd.name !== undefined && upd.name !== svc.name) {
    assertServiceNameFree(tx, svc.project_id, upd.name, svc.id);
    renamedFrom = svc.name;
    next.name = upd.name;
  }
  if (upd.icon_url !== undefined) next.icon_url = upd.icon_url ? upd.icon_url : null;
  if (upd.image !== undefined && upd.image !== svc.image) {
    next.image = upd.image;
    settingsChanged = true;
  }
  if (upd.ports !== undefined && !same(upd.ports, svc.ports)) {
    next.ports = upd.ports;
    settingsChanged = true;
  }
  if (upd.volumes !== undefined && !same(upd.volumes, svc.volumes)) {
    next.volumes = upd.volumes;
    settingsChanged = true;
  }
  if (upd.resources !== undefined && !same(upd.resources, svc.resources)) {
    next.resources = upd.resources;
    settingsChanged = true;
  }
  if (upd.replicas !== undefined && upd.replicas !== svc.replicas) {
    next.replicas = upd.replicas;
    settingsChanged = true;
  }
  if (upd.stop_grace_seconds !== undefined && upd.stop_grace_seconds !== svc.stop_grace_seconds) {
    next.stop_grace_seconds = upd.stop_grace_seconds;
    settingsChanged = true;
  }
  // Checked on the result, so a volume staged in one change and replicas in another cannot meet.
  for (const key of ["start_command", "entrypoint", "pre_deploy_command"] as const) {
    if (upd[key] === undefined) continue;
    const argv = argvOrNull(upd[key]);
    if (!same(argv, svc[key])) {
      next[key] = argv;
      settingsChanged = true;
    }
  }
  for (const key of ["restart_policy", "restart_max_retries", "cron_timeout_seconds", "drain_seconds"] as const) {
    if (upd[key] === undefined || upd[key] === svc[key]) continue;
    (next as Record<string, unknown>)[key] = upd[key];
    settingsChanged = true;
  }
  if (upd.cron_schedule !== undefined && cronOrNull(upd.cron_schedule) !== svc.cron_schedule) {
    next.cron_schedule = cronOrNull(upd.cron_schedule);
    settingsChanged = true;
  }
  if (upd.healthcheck_path !== undefined && (upd.healthcheck_path || null) !== svc.healthcheck_path) {
    next.healthcheck_path = upd.healthcheck_path || null;
    settingsChanged = true;
  }
  if (upd.healthcheck_timeout_seconds !== undefined && upd.healthcheck_timeout_seconds !== svc.healthcheck_timeout_seconds) {
    next.healthcheck_timeout_seconds = upd.healthcheck_timeout_seconds;
    settingsChanged = true;
  }
  const sourceChanged = applySourceUpdate(next, svc, upd);
  if (sourceChanged) settingsChanged = true;
  if (upd.volumes !== undefined || upd.replicas !== undefined) deploykit.assertVolumeReplicas(next);
  const changed = renamedFrom !== null || settingsChanged || next.icon_url !== svc.icon_url;
  if (!changed) return { service: svc, renamedFrom, settingsChanged, sourceChanged, changed };
  next.updated_at = tx.now;
  try {
    tx.run(
      "UPDATE services SET name = ?, icon_url = ?, image = ?, ports = ?, volumes = ?, resources = ?, replicas = ?, stop_grace_seconds = ?, start_command = ?, entrypoint = ?, restart_policy = ?, restart_max_retries = ?, pre_deploy_command = ?, cron_schedule = ?, cron_timeout_seconds = ?, healthcheck_path = ?, healthcheck_timeout_seconds = ?, drain_seconds = ?, updated_at = ? WHERE id = ?",
      next.name,
      next.icon_url,
      next.image,
      toJSON(next.ports),
      toJSON(next.volumes),
      next.resources === null ? null : toJSON(next.resources),
      next.replicas,
      next.stop_grace_seconds,
      next.start_command === null ? null : toJSON(next.start_command),
      next.entrypoint === null ? null : toJSON(next.entrypoint),
      next.restart_policy,
      next.restart_max_retries,
      next.pre_deploy_command === null ? null : toJSON(next.pre_deploy_command),
      next.cron_schedule,
      next.cron_timeout_seconds,
      next.healthcheck_path,
      next.healthcheck_timeout_seconds,
      next.drain_seconds,
      tx.now,
      svc.id,
    );
  } catch (err) {
    if (isUniqueError(err)) throw deploykit.errorf(deploykit.ECONFLICT, deploykit.serviceNameTakenMessage(next.name));
    throw err;
  }
  if (renamedFrom !== null) tx.run("UPDATE canvas_nodes SET label = ?, updated_at = ? WHERE service_id = ?", next.name, tx.now, svc.id);
  if (sourceChanged) writeSource(tx, svc.id, next);
  return { service: next, renamedFrom, settingsChanged, sourceChanged, changed };
}

/**
 * Sets a status the reconciler or a deployment computed. A stopped service stays stopped: only the
 * Start action (`setRunState`) brings it back, so a pass that was under way when Stop was pressed
 * cannot undo it.
 */
export function setServiceStatus(tx: Tx, id: string, status: deploykit.ServiceStatus): void {
  tx.run("UPDATE services SET status = ?, updated_at = ? WHERE id = ? AND status != 'stopped'", status, tx.now, id);
}

/** Deployments, containers and env vars go by cascade/trigger; the canvas node is removed explicitly. */
export function deleteService(tx: Tx, id: string): void {
  tx.run("DELETE FROM canvas_nodes WHERE service_id = ?", id);
  tx.run("DELETE FROM services WHERE id = ?", id);
}
