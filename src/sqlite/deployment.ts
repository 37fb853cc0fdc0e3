import * as deploykit from "../index.ts";
import { type DB, fromJSON, newID, type Param, queryPage, type Tx, toJSON } from "./db.ts";
import { findDeploymentLogs, keepDeploymentLogs } from "./deployment-logs.ts";
import { moveToPhase } from "./phase.ts";
import { openSnapshotEnv, sealSnapshotEnv } from "./secret-rows.ts";
import { setServiceStatus } from "./service.ts";
import { findServiceByID } from "./service-rows.ts";
import { assertRegistryAllowed, NO_HOST_ADDRESSES } from "./settings.ts";

interface DeploymentRow {
  id: string;
  service_id: string;
  image: string;
  env_vars: string;
  sealed_keys: string;
  ports: string;
  volumes: string;
  resources: string | null;
  replicas: number;
  stop_grace_seconds: number;
  start_command: string | null;
  entrypoint: string | null;
  restart_policy: deploykit.RestartPolicy;
  restart_max_retries: number;
  pre_deploy_command: string | null;
  pre_deploy_status: deploykit.PreDeployStatus | null;
  pre_deploy_exit_code: number | null;
  pre_deploy_log: string | null;
  cron_schedule: string | null;
  cron_timeout_seconds: number;
  healthcheck_path: string | null;
  healthcheck_timeout_seconds: number;
  status: deploykit.DeploymentStatus;
  failure_reason: string | null;
  exit_code: number | null;
  log_tail: string | null;
  attempt_count: number;
  baseline_restart_count: number;
  started_at: string | null;
  healthy_at: string | null;
  wait_for?: string;
  created_at: string;
  phase: deploykit.DeploymentPhase | null;
  phases: string | null;
  build_source: string | null;
  commit_sha: string | null;
  commit_message: string | null;
}

export interface DeploymentServiceOptions {
  /** The host's own addresses and names, refused as registries (C08); none when absent. */
  hostAddresses?: deploykit.HostAddresses;
}

export class DeploymentService implements deploykit.DeploymentService {
  readonly #db: DB;
  readonly #hostAddresses: deploykit.HostAddresses;

  constructor(db: DB, opts: DeploymentServiceOptions = {}) {
    this.#db = db;
    this.#hostAddresses = opts.hostAddresses ?? NO_HOST_ADDRESSES;
  }

  async findDeploymentByID(id: string): Promise<deploykit.Deployment> {
    return this.#db.read((tx) => findDeploymentByID(tx, id));
  }

  async findDeployments(filter: deploykit.DeploymentFilter): Promise<deploykit.PageResult<deploykit.Deployment>> {
    return this.#db.read((tx) => findDeployments(tx, filter));
  }

  async createDeployment(serviceID: string, input: deploykit.DeploymentCreate): Promise<deploykit.Deployment> {
    deploykit.validateDeploymentCreate(input);
    return this.#db.write((tx) => {
      assertRegistryAllowed(tx, input.image, this.#hostAddresses);
      const dep = createDeployment(tx, serviceID, input);
      this.#publishCreated(tx, dep);
      return dep;
    });
  }

  async markStarting(id: string): Promise<deploykit.Deployment> {
    return this.#db.write((tx) => {
      const d = findDeploymentByID(tx, id);
      if (d.status !== deploykit.DEPLOYMENT_PENDING) return d;
      tx.run("UPDATE deployments SET status = 'starting', started_at = COALESCE(started_at, ?) WHERE id = ?", tx.now, id);
      if (d.phase !== deploykit.PHASE_STARTING) moveToPhase(tx, id, deploykit.PHASE_STARTING);
      return findDeploymentByID(tx, id);
    });
  }

  async markHealthCheck(id: string): Promise<deploykit.Deployment> {
    return this.#db.write((tx) => {
      const d = findDeploymentByID(tx, id);
      if (d.status === deploykit.DEPLOYMENT_STARTING && d.phase === deploykit.PHASE_STARTING)
        moveToPhase(tx, id, deploykit.PHASE_HEALTH_CHECK);
      return findDeploymentByID(tx, id);
    });
  }

  async markHealthy(
    id: string,
    baselineRestartCount: number,
  ): Promise<{ deployment: deploykit.Deployment; previous_active_id: string | null }> {
    return this.#db.write((tx) => markHealthy(tx, id, baselineRestartCount));
  }

  async markFailed(id: string, failure: deploykit.DeploymentFailure): Promise<deploykit.Deployment> {
    return this.#db.write((tx) => {
      const d = findDeploymentByID(tx, id);
      tx.run(
        "UPDATE deployments SET status = 'failed', failure_reason = ?, exit_code = ?, log_tail = ? WHERE id = ?",
        failure.reason ?? "",
        failure.exit_code ?? null,
        failure.log_tail === undefined ? null : deploykit.truncateLogTail(failure.log_tail),
        id,
      );
      if (d.phase !== deploykit.PHASE_FAILED) moveToPhase(tx, id, deploykit.PHASE_FAILED);
      const healthy = tx.get("SELECT 1 FROM deployments WHERE service_id = ? AND status = 'healthy'", d.service_id);
      if (!healthy) setServiceStatus(tx, d.service_id, deploykit.SERVICE_FAILED);
      return findDeploymentByID(tx, id);
    });
  }

  async keepDeploymentLogs(id: string, lines: deploykit.LogLine[]): Promise<void> {
    return this.#db.write((tx) => keepDeploymentLogs(tx, id, lines));
  }

  async findDeploymentLogs(id: string): Promise<deploykit.LogLine[]> {
    return this.#db.read((tx) => findDeploymentLogs(tx, id));
  }

  async setPreDeploy(id: string, result: deploykit.PreDeployResult): Promise<deploykit.Deployment> {
    return this.#db.write((tx) => {
      findDeploymentByID(tx, id);
      tx.run(
        "UPDATE deployments SET pre_deploy_status = ?, pre_deploy_exit_code = ?, pre_deploy_log = COALESCE(?, pre_deploy_log) WHERE id = ?",
        result.status,
        result.exit_code ?? null,
        result.log === undefined ? null : deploykit.truncateLogTail(result.log),
        id,
      );
      return findDeploymentByID(tx, id);
    });
  }

  async recordAttempt(id: string, reason: string): Promise<number> {
    return this.#db.write((tx) => {
      findDeploymentByID(tx, id);
      tx.run("UPDATE deployments SET attempt_count = attempt_count + 1, failure_reason = ? WHERE id = ?", reason, id);
      return findDeploymentByID(tx, id).attempt_count;
    });
  }

  async rollback(serviceID: string, deploymentID: string): Promise<{ service: deploykit.Service; deployment: deploykit.Deployment }> {
    return this.#db.write((tx) => {
      const svc = findServiceByID(tx, serviceID);
      const target = findDeploymentByID(tx, deploymentID);
      if (target.service_id !== svc.id) throw deploykit.errorf(deploykit.EINVALID, "Deployment does not belong to this service.");
      if (target.status === deploykit.DEPLOYMENT_PENDING || target.status === deploykit.DEPLOYMENT_STARTING)
        throw deploykit.errorf(deploykit.EINVALID, "Cannot roll back to a deployment that is still in progress.");
      const snapshot = snapshotOf(target);
      assertRegistryAllowed(tx, snapshot.image, this.#hostAddresses);
      // The service's settings follow the rollback, so the next Apply refresh does not undo it.
      // A built image is not the service's own setting: a git service stays one (its next change reuses this image).
      tx.run(
        "UPDATE services SET image = ?, ports = ?, volumes = ?, resources = ?, replicas = ?, updated_at = ? WHERE id = ?",
        deploykit.isBuiltImage(snapshot.image) ? svc.image : snapshot.image,
        toJSON(snapshot.ports ?? []),
        toJSON(snapshot.volumes ?? []),
        snapshot.resources ? toJSON(snapshot.resources) : null,
        snapshot.replicas ?? 1,
        tx.now,
        svc.id,
      );
      const deployment = createDeployment(tx, svc.id, snapshot);
      this.#publishCreated(tx, deployment);
      return { service: findServiceByID(tx, svc.id), deployment };
    });
  }

  /** After commit, for every caller alike (the reconciler and the canvas react to it). */
  #publishCreated(tx: Tx, deployment: deploykit.Deployment): void {
    const projectID = findServiceByID(tx, deployment.service_id).project_id;
    this.#db.publish(tx, deploykit.newEvent(deploykit.EVENT_DEPLOYMENT_CREATED, projectID, { deployment }));
  }
}

export function toDeployment(tx: Tx, r: DeploymentRow): deploykit.Deployment {
  const d: deploykit.Deployment = {
    id: r.id,
    service_id: r.service_id,
    image: r.image,
    env_vars: openSnapshotEnv(tx, r.env_vars),
    ...sealedKeysOf(r.sealed_keys),
    ports: fromJSON(r.ports, []),
    volumes: fromJSON(r.volumes, []),
    replicas: r.replicas,
    stop_grace_seconds: r.stop_grace_seconds ?? deploykit.DEFAULT_STOP_GRACE_SECONDS,
    restart_policy: r.restart_policy ?? deploykit.RESTART_ALWAYS,
    restart_max_retries: r.restart_max_retries ?? deploykit.DEFAULT_RESTART_MAX_RETRIES,
    cron_timeout_seconds: r.cron_timeout_seconds ?? deploykit.DEFAULT_CRON_TIMEOUT_SECONDS,
    healthcheck_timeout_seconds: r.healthcheck_timeout_seconds ?? deploykit.DEFAULT_HEALTHCHECK_TIMEOUT_SECONDS,
    status: r.status,
    attempt_count: r.attempt_count,
    baseline_restart_count: r.baseline_restart_count,
    created_at: r.created_at,
    phase: r.phase ?? deploykit.PHASE_QUEUED,
    phases: fromJSON<deploykit.PhaseSpan[]>(r.phases, []),
  };
  const source = fromJSON<deploykit.BuildSource | null>(r.build_source, null);
  if (source) d.build_source = source;
  if (r.commit_sha) d.commit_sha = r.commit_sha;
  if (r.commit_message !== null && r.commit_message !== undefined) d.commit_message = r.commit_message;
  const resources = fromJSON<deploykit.Resources | null>(r.resources, null);
  if (resources) d.resources = resources;
  const cmd = fromJSON<string[] | null>(r.start_command ?? null, null);
  if (cmd && cmd.length > 0) d.start_command = cmd;
  const ep = fromJSON<string[] | null>(r.entrypoint ?? null, null);
  if (ep && ep.length > 0) d.entrypoint = ep;
  const pre = fromJSON<string[] | null>(r.pre_deploy_command ?? null, null);
  if (pre && pre.length > 0) d.pre_deploy_command = pre;
  if (r.pre_deploy_status) d.pre_deploy_status = r.pre_deploy_status;
  if (r.pre_deploy_exit_code !== null && r.pre_deploy_exit_code !== undefined) d.pre_deploy_exit_code = r.pre_deploy_exit_code;
  if (r.pre_deploy_log !== null && r.pre_deploy_log !== undefined) d.pre_deploy_log = r.pre_deploy_log;
  if (r.cron_schedule) d.cron_schedule = r.cron_schedule;
  if (r.healthcheck_path) d.healthcheck_path = r.healthcheck_path;
  if (r.failure_reason !== null) d.failure_reason = r.failure_reason;
  if (r.exit_code !== null) d.exit_code = r.exit_code;
  if (r.log_tail !== null) d.log_tail = r.log_tail;
  if (r.started_at !== null) d.started_at = r.started_at;
  if (r.healthy_at !== null) d.healthy_at = r.healthy_at;
  const waitFor = fromJSON<string[]>(r.wait_for ?? "[]", []);
  if (waitFor.length > 0) d.wait_for = waitFor;
  return d;
}

export function snapshotOf(d: deploykit.Deployment): deploykit.DeploymentCreate {
  return {
    image: d.image,
    env_vars: d.env_vars,
    ...(d.sealed_keys ? { sealed_keys: d.sealed_keys } : {}),
    ports: d.ports,
    volumes: d.volumes,
    resources: d.resources ?? null,
    replicas: d.replicas,
    start_command: d.start_command ?? null,
    entrypoint: d.entrypoint ?? null,
  };
}

export function findDeploymentByID(tx: Tx, id: string): deploykit.Deployment {
  const row = tx.get<DeploymentRow>("SELECT * FROM deployments WHERE id = ?", id);
  if (!row) throw deploykit.errorf(deploykit.ENOTFOUND, "Deployment not found.");
  return toDeployment(tx, row);
}

function findDeployments(tx: Tx, filter: deploykit.DeploymentFilter): deploykit.PageResult<deploykit.Deployment> {
  const conds: string[] = [];
  const params: Param[] = [];
  if (filter.service_id !== undefined) {
    conds.push("service_id = ?");
    params.push(filter.service_id);
  }
  if (filter.status && filter.status.length > 0) {
    conds.push(`status IN (${filter.status.map(() => "?").join(", ")})`);
    params.push(...filter.status);
  }
  const { rows, total } = queryPage<DeploymentRow>(tx, {
    select: "*",
    from: "deployments",
    conds,
    params,
    order: "created_at DESC, rowid DESC",
    page: filter,
  });
  return { items: rows.map((r) => toDeployment(tx, r)), total };
}

/** Promotes a deployment: it serves, whatever served before is superseded, the service runs. */
export function markHealthy(
  tx: Tx,
  id: string,
  baselineRestartCount: number,
): { deployment: deploykit.Deployment; previous_active_id: string | null } {
  const d = findDeploymentByID(tx, id);
  if (d.status === deploykit.DEPLOYMENT_HEALTHY) return { deployment: d, previous_active_id: null };
  const svc = findServiceByID(tx, d.service_id);
  const previous = svc.active_deployment_id;
  tx.run(
    "UPDATE deployments SET status = 'healthy', healthy_at = ?, started_at = COALESCE(started_at, ?), baseline_restart_count = ?, failure_reason = NULL WHERE id = ?",
    tx.now,
    tx.now,
    Math.max(0, Math.trunc(baselineRestartCount) || 0),
    id,
  );
  moveToPhase(tx, id, deploykit.PHASE_SERVING);
  // One serving deployment per service: whatever served before is superseded.
  tx.run("UPDATE deployments SET status = 'superseded' WHERE service_id = ? AND id != ? AND status = 'healthy'", d.service_id, id);
  tx.run("UPDATE services SET active_deployment_id = ?, updated_at = ? WHERE id = ?", id, tx.now, d.service_id);
  setServiceStatus(tx, d.service_id, deploykit.SERVICE_RUNNING);
  return { deployment: findDeploymentByID(tx, id), previous_active_id: previous && previous !== id ? previous : null };
}

/** The newest deployment that was meant to run (not cancelled or failed), if any. */
export function latestLiveDeployment(tx: Tx, serviceID: string): deploykit.Deployment | null {
  const row = tx.get<DeploymentRow>(
    "SELECT * FROM deployments WHERE service_id = ? AND status NOT IN ('cancelled', 'failed') ORDER BY created_at DESC, rowid DESC LIMIT 1",
    serviceID,
  );
  return row ? toDeployment(tx, row) : null;
}

/** Inserts a pending deployment, cancels older pending/starting ones, and marks a never-served service deploying. */
/** `id` lets Apply resolve `${{DEPLOYKIT_DEPLOYMENT_ID}}` into the snapshot before the row exists. */
export function createDeployment(tx: Tx, serviceID: string, input: deploykit.DeploymentCreate, id = newID()): deploykit.Deployment {
  const svc = findServiceByID(tx, serviceID);
  for (const old of tx.all<{ id: string }>(
    "SELECT id FROM deployments WHERE service_id = ? AND status IN ('pending', 'starting')",
    serviceID,
  ))
    moveToPhase(tx, old.id, deploykit.PHASE_CANCELLED);
  tx.run("UPDATE deployments SET status = 'cancelled' WHERE service_id = ? AND status IN ('pending', 'starting')", serviceID);
  const d: deploykit.Deployment = {
    id,
    service_id: serviceID,
    image: input.build_source ? deploykit.buildImageTag(serviceID, id) : input.image,
    env_vars: input.env_vars ?? {},
    ...(input.sealed_keys?.length ? { sealed_keys: input.sealed_keys } : {}),
    ports: input.ports ?? [],
    volumes: input.volumes ?? [],
    replicas: deploykit.effectiveReplicas(input.replicas ?? 1),
    // An operational setting: a rollback keeps the service's current grace, not the old snapshot's.
    stop_grace_seconds: input.stop_grace_seconds ?? svc.stop_grace_seconds,
    // Operational too: a rollback runs under the service's current policy and schedule.
    restart_policy: input.restart_policy ?? svc.restart_policy,
    restart_max_retries: input.restart_max_retries ?? svc.restart_max_retries,
    cron_timeout_seconds: input.cron_timeout_seconds ?? svc.cron_timeout_seconds,
    healthcheck_timeout_seconds: input.healthcheck_timeout_seconds ?? svc.healthcheck_timeout_seconds,
    status: deploykit.DEPLOYMENT_PENDING,
    attempt_count: 0,
    baseline_restart_count: 0,
    created_at: tx.now,
    phase: deploykit.PHASE_QUEUED,
    phases: [{ name: deploykit.PHASE_QUEUED, started_at: tx.now, ended_at: null }],
  };
  if (input.build_source) d.build_source = input.build_source;
  if (input.resources) d.resources = input.resources;
  if (input.start_command && input.start_command.length > 0) d.start_command = input.start_command;
  if (input.entrypoint && input.entrypoint.length > 0) d.entrypoint = input.entrypoint;
  // A rollback (no pre_deploy_command in its snapshot) runs none: its image already ran its own.
  if (input.pre_deploy_command && input.pre_deploy_command.length > 0) d.pre_deploy_command = input.pre_deploy_command;
  const cron = input.cron_schedule === undefined ? svc.cron_schedule : input.cron_schedule;
  if (cron) d.cron_schedule = cron;
  // Like the stop grace, the health check is operational: a rollback checks with the current setting.
  const hc = input.healthcheck_path !== undefined ? input.healthcheck_path : svc.healthcheck_path;
  if (hc) d.healthcheck_path = hc;
  tx.run(
    `INSERT INTO deployments (id, service_id, image, env_vars, ports, volumes, resources, replicas, stop_grace_seconds, start_command, entrypoint,
       restart_policy, restart_max_retries, pre_deploy_command, cron_schedule, cron_timeout_seconds, healthcheck_path, healthcheck_timeout_seconds, sealed_keys, status, created_at,
       phase, phases, build_source)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)`,
    d.id,
    serviceID,
    d.image,
    sealSnapshotEnv(tx, d.env_vars),
    toJSON(d.ports),
    toJSON(d.volumes),
    d.resources ? toJSON(d.resources) : null,
    d.replicas,
    d.stop_grace_seconds,
    d.start_command ? toJSON(d.start_command) : null,
    d.entrypoint ? toJSON(d.entrypoint) : null,
    d.restart_policy,
    d.restart_max_retries,
    d.pre_deploy_command ? toJSON(d.pre_deploy_command) : null,
    d.cron_schedule ?? null,
    d.cron_timeout_seconds,
    d.healthcheck_path ?? null,
    d.healthcheck_timeout_seconds,
    toJSON(d.sealed_keys ?? []),
    tx.now,
    deploykit.PHASE_QUEUED,
    toJSON(d.phases),
    d.build_source ? toJSON(d.build_source) : null,
  );
  if (svc.active_deployment_id === null) setServiceStatus(tx, serviceID, deploykit.SERVICE_DEPLOYING);
  return d;
}

function sealedKeysOf(s: string | undefined): { sealed_keys?: string[] } {
  const keys = fromJSON<string[]>(s, []);
  return keys.length > 0 ? { sealed_keys: keys } : {};
}
