import * as deploykit from "../index.ts";
import { fromJSON, likeContains, type Param, queryPage, type Tx } from "./db.ts";
import { sourceOf } from "./source.ts";

/** A `services` row as stored: settings lists and objects are JSON text. */
export interface ServiceRow {
  id: string;
  project_id: string;
  name: string;
  status: deploykit.ServiceStatus;
  icon_url: string | null;
  active_deployment_id: string | null;
  image: string;
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
  cron_schedule: string | null;
  cron_timeout_seconds: number;
  healthcheck_path: string | null;
  healthcheck_timeout_seconds: number;
  drain_seconds: number;
  restart_requested_at: string | null;
  created_at: string;
  updated_at: string;
  repo_url: string | null;
  branch: string | null;
  root_dir: string | null;
  dockerfile_path: string | null;
}

interface ServiceJoinRow extends ServiceRow {
  ad_id: string | null;
  ad_image: string | null;
  ad_replicas: number | null;
  ad_created_at: string | null;
}

// One service by id: the active deployment's columns by primary-key subqueries. The same LEFT JOIN
// the list uses costs 5–10× more here and grows with the deployments table (measured with
// bench/reconcile.ts fake 1000, issue 19): the reconciler reads every service this way each resync.
const SELECT_SERVICE = `SELECT s.*, ${["id", "image", "replicas", "created_at"]
  .map((c) => `(SELECT ${c} FROM deployments WHERE id = s.active_deployment_id) AS ad_${c}`)
  .join(", ")}
  FROM services s`;

function toService(r: ServiceJoinRow): deploykit.Service {
  const svc: deploykit.Service = {
    id: r.id,
    project_id: r.project_id,
    name: r.name,
    status: r.status,
    icon_url: r.icon_url,
    active_deployment_id: r.active_deployment_id,
    image: r.image,
    ports: fromJSON(r.ports, []),
    volumes: fromJSON(r.volumes, []),
    resources: fromJSON(r.resources, null),
    replicas: r.replicas,
    stop_grace_seconds: r.stop_grace_seconds ?? deploykit.DEFAULT_STOP_GRACE_SECONDS,
    start_command: fromJSON<string[] | null>(r.start_command, null),
    entrypoint: fromJSON<string[] | null>(r.entrypoint, null),
    restart_policy: r.restart_policy ?? deploykit.RESTART_ALWAYS,
    restart_max_retries: r.restart_max_retries ?? deploykit.DEFAULT_RESTART_MAX_RETRIES,
    pre_deploy_command: fromJSON<string[] | null>(r.pre_deploy_command ?? null, null),
    cron_schedule: r.cron_schedule ?? null,
    cron_timeout_seconds: r.cron_timeout_seconds ?? deploykit.DEFAULT_CRON_TIMEOUT_SECONDS,
    healthcheck_path: r.healthcheck_path ?? null,
    healthcheck_timeout_seconds: r.healthcheck_timeout_seconds ?? deploykit.DEFAULT_HEALTHCHECK_TIMEOUT_SECONDS,
    drain_seconds: r.drain_seconds ?? deploykit.DEFAULT_DRAIN_SECONDS,
    created_at: r.created_at,
    updated_at: r.updated_at,
    ...sourceOf(r),
  };
  if (r.restart_requested_at) svc.restart_requested_at = r.restart_requested_at;
  if (r.ad_id) {
    // The thin view the original returned: enough to show what serves, not the env snapshot.
    svc.active_deployment = {
      id: r.ad_id,
      service_id: r.id,
      image: r.ad_image ?? "",
      env_vars: {},
      ports: [],
      volumes: [],
      replicas: r.ad_replicas ?? 1,
      stop_grace_seconds: r.stop_grace_seconds ?? deploykit.DEFAULT_STOP_GRACE_SECONDS,
      restart_policy: svc.restart_policy,
      restart_max_retries: svc.restart_max_retries,
      cron_timeout_seconds: svc.cron_timeout_seconds,
      healthcheck_timeout_seconds: r.healthcheck_timeout_seconds ?? deploykit.DEFAULT_HEALTHCHECK_TIMEOUT_SECONDS,
      status: deploykit.DEPLOYMENT_HEALTHY,
      attempt_count: 0,
      baseline_restart_count: 0,
      created_at: r.ad_created_at ?? "",
    };
  }
  return svc;
}

export function findServiceByID(tx: Tx, id: string): deploykit.Service {
  const row = tx.get<ServiceJoinRow>(`${SELECT_SERVICE} WHERE s.id = ?`, id);
  if (!row) throw deploykit.errorf(deploykit.ENOTFOUND, "Service not found.");
  return toService(row);
}

export function findServices(tx: Tx, filter: deploykit.ServiceFilter): deploykit.PageResult<deploykit.Service> {
  const conds: string[] = [];
  const params: Param[] = [];
  if (filter.id !== undefined) {
    conds.push("s.id = ?");
    params.push(filter.id);
  }
  if (filter.project_id !== undefined) {
    conds.push("s.project_id = ?");
    params.push(filter.project_id);
  }
  if (filter.name) {
    conds.push("s.name LIKE ? ESCAPE '\\'");
    params.push(likeContains(filter.name));
  }
  if (filter.status) {
    conds.push("s.status = ?");
    params.push(filter.status);
  }
  const { rows, total } = queryPage<ServiceJoinRow>(tx, {
    select: "s.*, d.id AS ad_id, d.image AS ad_image, d.replicas AS ad_replicas, d.created_at AS ad_created_at",
    from: "services s LEFT JOIN deployments d ON d.id = s.active_deployment_id",
    countFrom: "services s",
    conds,
    params,
    order: "s.created_at DESC, s.rowid DESC",
    page: filter,
  });
  return { items: rows.map(toService), total };
}

/** Every service of a project (id, name, first port), for name checks and reference resolution. */
export function projectServiceRows(tx: Tx, projectID: string): ServiceRow[] {
  return tx.all<ServiceRow>("SELECT * FROM services WHERE project_id = ? ORDER BY created_at, rowid", projectID);
}

/** The service's source columns as stored (after `writeSource`). */
export function findSource(tx: Tx, id: string): deploykit.ServiceSource {
  return sourceOf(tx.get<ServiceRow>("SELECT * FROM services WHERE id = ?", id) ?? {});
}
