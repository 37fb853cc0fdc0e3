import * as deploykit from "../index.ts";

/**
 * Presenters: the exact JSON every response carries. Fields are picked, never spread, so an internal
 * field added to a domain type does not leak by accident.
 */

export function user(u: deploykit.User) {
  return { id: u.id, email: u.email, name: u.name, role: u.role, created_at: u.created_at, updated_at: u.updated_at };
}

export function tokens(t: deploykit.AuthTokens) {
  return { access_token: t.access_token, refresh_token: t.refresh_token, expires_at: t.expires_at };
}

export function project(p: deploykit.Project) {
  return { id: p.id, name: p.name, slug: p.slug, created_at: p.created_at, updated_at: p.updated_at };
}

/** Deployment without the internal baseline_restart_count; optional fields omitted when unset. */
export function deployment(dep: deploykit.Deployment) {
  const d = deploykit.redactSealedDeployment(dep);
  const out: Record<string, unknown> = {
    id: d.id,
    service_id: d.service_id,
    image: d.image,
    env_vars: d.env_vars,
    ...(d.sealed_keys ? { sealed_keys: d.sealed_keys } : {}),
    ports: d.ports,
    volumes: d.volumes,
    replicas: d.replicas,
    stop_grace_seconds: d.stop_grace_seconds,
    start_command: d.start_command ?? null,
    entrypoint: d.entrypoint ?? null,
    restart_policy: d.restart_policy,
    restart_max_retries: d.restart_max_retries,
    pre_deploy_command: d.pre_deploy_command ?? null,
    pre_deploy_status: d.pre_deploy_status ?? null,
    pre_deploy_exit_code: d.pre_deploy_exit_code ?? null,
    pre_deploy_log: d.pre_deploy_log ?? null,
    cron_schedule: d.cron_schedule ?? null,
    cron_timeout_seconds: d.cron_timeout_seconds,
    healthcheck_path: d.healthcheck_path ?? null,
    healthcheck_timeout_seconds: d.healthcheck_timeout_seconds,
    // stop-first: the old container was stopped before this one started, because the service has a volume.
    rollout: deploykit.rolloutStrategy(d),
    status: d.status,
    attempt_count: d.attempt_count,
    created_at: d.created_at,
    phase: d.phase ?? deploykit.PHASE_QUEUED,
    phases: d.phases ?? [],
    commit_sha: d.commit_sha ?? null,
    commit_message: d.commit_message ?? null,
    build_source: d.build_source ?? null,
  };
  if (d.resources) out.resources = d.resources;
  // Deploy order: the providers' deployments this one starts after.
  if (d.wait_for && d.wait_for.length > 0) out.wait_for = d.wait_for;
  if (d.failure_reason !== undefined && d.failure_reason !== null) out.failure_reason = d.failure_reason;
  if (d.exit_code !== undefined && d.exit_code !== null) out.exit_code = d.exit_code;
  if (d.log_tail !== undefined && d.log_tail !== null) out.log_tail = d.log_tail;
  if (d.started_at) out.started_at = d.started_at;
  if (d.healthy_at) out.healthy_at = d.healthy_at;
  return out;
}

export function service(s: deploykit.Service) {
  const out: Record<string, unknown> = {
    id: s.id,
    project_id: s.project_id,
    name: s.name,
    status: s.status,
    icon_url: s.icon_url,
    active_deployment_id: s.active_deployment_id,
    image: s.image,
    ports: s.ports,
    volumes: s.volumes,
    resources: s.resources,
    replicas: s.replicas,
    stop_grace_seconds: s.stop_grace_seconds,
    start_command: s.start_command,
    entrypoint: s.entrypoint,
    restart_policy: s.restart_policy,
    restart_max_retries: s.restart_max_retries,
    pre_deploy_command: s.pre_deploy_command,
    cron_schedule: s.cron_schedule,
    cron_timeout_seconds: s.cron_timeout_seconds,
    healthcheck_path: s.healthcheck_path,
    healthcheck_timeout_seconds: s.healthcheck_timeout_seconds,
    drain_seconds: s.drain_seconds,
    repo_url: s.repo_url ?? null,
    branch: s.branch ?? null,
    root_dir: s.root_dir ?? null,
    dockerfile_path: s.dockerfile_path ?? null,
    created_at: s.created_at,
    updated_at: s.updated_at,
  };
  if (s.active_deployment) out.active_deployment = deployment(s.active_deployment);
  return out;
}

/** A cron run; the container id stays internal. */
export function run(r: deploykit.ServiceRun) {
  const out: Record<string, unknown> = {
    id: r.id,
    service_id: r.service_id,
    deployment_id: r.deployment_id,
    trigger: r.trigger,
    status: r.status,
    started_at: r.started_at,
    finished_at: r.finished_at ?? null,
    exit_code: r.exit_code ?? null,
    reason: r.reason ?? null,
    timed_out: r.timed_out === true,
    log_tail: r.log_tail ?? "",
  };
  return out;
}

export function container(c: deploykit.Container) {
  return {
    id: c.id,
    service_id: c.service_id,
    deployment_id: c.deployment_id,
    docker_container_id: c.docker_container_id,
    replica_index: c.replica_index,
    status: c.status,
    created_at: c.created_at,
  };
}

/** Values are never listed: `masked` says so, and POST …/reveal returns one (never a sealed one). */
export function envVar(e: deploykit.EnvVar) {
  return {
    id: e.id,
    scope: e.scope,
    scope_id: e.scope_id,
    key: e.key,
    sealed: e.sealed,
    masked: true,
    created_at: e.created_at,
    updated_at: e.updated_at,
  };
}

export function pendingChange(c: deploykit.PendingChange) {
  const out: Record<string, unknown> = {
    id: c.id,
    project_id: c.project_id,
    seq: c.seq,
    op: c.op,
    target_type: c.target_type,
    payload: deploykit.redactSealedPayload(c.payload),
    created_at: c.created_at,
  };
  if (c.target_id) out.target_id = c.target_id;
  if (c.target_temp_id) out.target_temp_id = c.target_temp_id;
  if (c.parent_temp_id) out.parent_temp_id = c.parent_temp_id;
  if (c.user_id) out.user_id = c.user_id;
  return out;
}

export function applyResult(r: deploykit.ApplyResult) {
  return {
    applied_count: r.applied_count,
    temp_id_to_service_id: r.temp_id_to_service_id,
    redeployed_service_ids: r.redeployed_service_ids,
    created_deployments: r.created_deployments.map(deployment),
  };
}

export function apiKey(k: deploykit.APIKey) {
  return {
    id: k.id,
    user_id: k.user_id,
    description: k.description,
    prefix: k.prefix,
    expires_at: k.expires_at,
    last_used_at: k.last_used_at,
    created_at: k.created_at,
  };
}

export function apiKeyCreated(k: deploykit.APIKeyCreated) {
  return { ...apiKey(k), token: k.token };
}

export function node(n: deploykit.CanvasNode) {
  const out: Record<string, unknown> = {
    id: n.id,
    project_id: n.project_id,
    type: n.type,
    label: n.label,
    position_x: n.position_x,
    position_y: n.position_y,
    data: n.data,
    created_at: n.created_at,
    updated_at: n.updated_at,
  };
  if (n.width !== undefined && n.width !== null) out.width = n.width;
  if (n.height !== undefined && n.height !== null) out.height = n.height;
  if (n.service_id) out.service_id = n.service_id;
  if (n.parent_id) out.parent_id = n.parent_id;
  return out;
}

export function edge(e: deploykit.CanvasEdge) {
  const out: Record<string, unknown> = {
    id: e.id,
    project_id: e.project_id,
    source_id: e.source_id,
    target_id: e.target_id,
    data: e.data,
    created_at: e.created_at,
    updated_at: e.updated_at,
  };
  if (e.label !== undefined && e.label !== null) out.label = e.label;
  return out;
}

export function canvasState(s: deploykit.CanvasState) {
  return { nodes: s.nodes.map(node), edges: s.edges.map(edge) };
}

export function serviceDomain(x: deploykit.ServiceDomainListed) {
  const out: Record<string, unknown> = {
    id: x.id,
    project_id: x.project_id,
    service_id: x.service_id,
    hostname: x.hostname,
    target_port: x.target_port,
    generated: x.generated,
    status: x.status,
    tls: x.tls,
    cert_issuer: x.cert_issuer,
    cert_expires_at: x.cert_expires_at,
    last_error: x.last_error,
    created_at: x.created_at,
  };
  if (x.staged) out.staged = true;
  if (x.staged_delete) out.staged_delete = true;
  return out;
}
