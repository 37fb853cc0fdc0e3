/**
 * JSON schemas shared by the route files. Request schemas check shapes and bound sizes; the domain
 * validators give the precise per-field messages (422), so fields are rarely `required` here.
 * Response schemas document the API (OpenAPI) — responses are serialized with JSON.stringify.
 */

export const str = (maxLength: number) => ({ type: "string", maxLength }) as const;
export const ID = str(128);
export const NAME = str(1000);
/** Integer query params arrive as strings; validated here, parsed by the handler. */
export const INT_QUERY = { type: "string", pattern: "^-?[0-9]{1,9}$" } as const;

const paramSchemas = new Map<string, object>();

/** Path params schema; one shared object per name list so Ajv compiles each shape once. */
export function params(...names: string[]): object {
  const key = names.join(",");
  let s = paramSchemas.get(key);
  if (!s) {
    s = { type: "object", properties: Object.fromEntries(names.map((n) => [n, ID])), required: names };
    paramSchemas.set(key, s);
  }
  return s;
}

export function query(props: Record<string, unknown>) {
  return { type: "object", additionalProperties: false, properties: props } as const;
}

export const PAGE_QUERY = { offset: INT_QUERY, limit: INT_QUERY };

export function body(props: Record<string, unknown>, required: string[] = []) {
  return { type: "object", additionalProperties: false, properties: props, required } as const;
}

export const PORT = {
  type: "object",
  additionalProperties: false,
  properties: {
    container_port: { type: "integer" },
    host_port: { type: "integer" },
    protocol: { type: "string", maxLength: 8 },
  },
} as const;
export const PORTS = { type: "array", maxItems: 100, items: PORT } as const;

export const VOLUME = {
  type: "object",
  additionalProperties: false,
  properties: { name: str(100), mount_path: str(1000) },
} as const;
export const VOLUMES = { type: "array", maxItems: 100, items: VOLUME } as const;

export const RESOURCES = {
  type: ["object", "null"],
  additionalProperties: false,
  properties: { cpu_shares: { type: "integer" }, cpus: { type: "number" }, memory_mb: { type: "integer" } },
} as const;

export const ENV_MAP = {
  type: "object",
  maxProperties: 1000,
  propertyNames: { maxLength: 256 },
  additionalProperties: { type: "string", maxLength: 65536 },
} as const;

export const ENV_LIST = {
  type: "array",
  maxItems: 1000,
  items: body({ key: str(256), value: str(65536), sealed: { type: "boolean" } }),
} as const;

/** A start command: argv for Docker (no shell), or null for the image's CMD. */
export const COMMAND = { type: ["array", "null"], maxItems: 64, items: { type: "string", maxLength: 4096 } } as const;

const RESTART_POLICY = { type: "string", enum: ["always", "on-failure", "never"] } as const;
/** A health check path (validated in the domain: starts with /, printable ASCII), or null for none. */
export const HEALTHCHECK_PATH = { type: ["string", "null"], maxLength: 512 } as const;

/** A git source (issue 13), validated in the domain; null clears a setting. */
export const SOURCE_SETTINGS = {
  repo_url: { type: ["string", "null"], maxLength: 2048 },
  branch: { type: ["string", "null"], maxLength: 255 },
  root_dir: { type: ["string", "null"], maxLength: 1024 },
  dockerfile_path: { type: ["string", "null"], maxLength: 1024 },
} as const;

const PHASE_SPAN = {
  type: "object",
  properties: { name: { type: "string" }, started_at: { type: "string", format: "date-time" }, ended_at: { type: ["string", "null"] } },
} as const;

/** Settings a service carries into its next deployment (PRODUCT §4.3). */
export const SERVICE_SETTINGS = {
  image: str(1000),
  icon_url: { type: ["string", "null"], maxLength: 4096 },
  ports: PORTS,
  volumes: VOLUMES,
  resources: RESOURCES,
  replicas: { type: "integer" },
  stop_grace_seconds: { type: "integer" },
  start_command: COMMAND,
  entrypoint: COMMAND,
  restart_policy: RESTART_POLICY,
  restart_max_retries: { type: "integer" },
  pre_deploy_command: COMMAND,
  cron_schedule: { type: ["string", "null"], maxLength: 128 },
  cron_timeout_seconds: { type: "integer" },
  healthcheck_path: HEALTHCHECK_PATH,
  healthcheck_timeout_seconds: { type: "integer" },
  drain_seconds: { type: "integer" },
  ...SOURCE_SETTINGS,
};

const TIME = { type: "string", format: "date-time" } as const;
const NULLABLE_TIME = { type: ["string", "null"], format: "date-time" } as const;
export const obj = (props: Record<string, unknown>) => ({ type: "object", properties: props }) as const;

/** Entity schemas, registered with `$id` and referenced as `{$ref: "Name#"}` in route responses. */
export const ENTITY_SCHEMAS = [
  { $id: "Error", ...obj({ error: { type: "string" }, message: { type: "string" }, errors: { type: "object" } }) },
  {
    $id: "User",
    ...obj({ id: ID, email: { type: "string" }, name: { type: "string" }, role: { type: "string" }, created_at: TIME, updated_at: TIME }),
  },
  { $id: "AuthTokens", ...obj({ access_token: { type: "string" }, refresh_token: { type: "string" }, expires_at: TIME }) },
  { $id: "Project", ...obj({ id: ID, name: { type: "string" }, slug: { type: "string" }, created_at: TIME, updated_at: TIME }) },
  {
    $id: "Deployment",
    ...obj({
      id: ID,
      service_id: ID,
      image: { type: "string" },
      env_vars: { type: "object", additionalProperties: { type: "string" } },
      sealed_keys: { type: "array", items: { type: "string" } },
      ports: PORTS,
      volumes: VOLUMES,
      resources: RESOURCES,
      replicas: { type: "integer" },
      stop_grace_seconds: { type: "integer" },
      start_command: COMMAND,
      entrypoint: COMMAND,
      restart_policy: RESTART_POLICY,
      restart_max_retries: { type: "integer" },
      pre_deploy_command: COMMAND,
      pre_deploy_status: { type: ["string", "null"], enum: ["running", "succeeded", "failed", null] },
      pre_deploy_exit_code: { type: ["integer", "null"] },
      pre_deploy_log: { type: ["string", "null"] },
      cron_schedule: { type: ["string", "null"] },
      cron_timeout_seconds: { type: "integer" },
      healthcheck_path: HEALTHCHECK_PATH,
      healthcheck_timeout_seconds: { type: "integer" },
      rollout: { type: "string", enum: ["stop-first", "start-first"] },
      status: { type: "string" },
      failure_reason: { type: "string" },
      exit_code: { type: "integer" },
      log_tail: { type: "string" },
      attempt_count: { type: "integer" },
      started_at: TIME,
      healthy_at: TIME,
      wait_for: { type: "array", items: ID },
      created_at: TIME,
      phase: { type: "string", enum: ["queued", "cloning", "building", "starting", "health_check", "serving", "failed", "cancelled"] },
      phases: { type: "array", items: PHASE_SPAN },
      commit_sha: { type: ["string", "null"] },
      commit_message: { type: ["string", "null"] },
      build_source: { type: ["object", "null"] },
    }),
  },
  {
    $id: "Service",
    ...obj({
      id: ID,
      project_id: ID,
      name: { type: "string" },
      status: { type: "string" },
      icon_url: { type: "string", nullable: true },
      active_deployment_id: { type: "string", nullable: true },
      image: { type: "string" },
      ports: PORTS,
      volumes: VOLUMES,
      resources: RESOURCES,
      replicas: { type: "integer" },
      stop_grace_seconds: { type: "integer" },
      start_command: COMMAND,
      entrypoint: COMMAND,
      restart_policy: RESTART_POLICY,
      restart_max_retries: { type: "integer" },
      pre_deploy_command: COMMAND,
      cron_schedule: { type: ["string", "null"] },
      cron_timeout_seconds: { type: "integer" },
      healthcheck_path: HEALTHCHECK_PATH,
      healthcheck_timeout_seconds: { type: "integer" },
      drain_seconds: { type: "integer" },
      ...SOURCE_SETTINGS,
      created_at: TIME,
      updated_at: TIME,
      active_deployment: { $ref: "Deployment#" },
    }),
  },
  {
    $id: "ServiceRun",
    ...obj({
      id: ID,
      service_id: ID,
      deployment_id: ID,
      trigger: { type: "string", enum: ["schedule", "manual"] },
      status: { type: "string", enum: ["running", "succeeded", "failed", "skipped"] },
      started_at: TIME,
      finished_at: NULLABLE_TIME,
      exit_code: { type: ["integer", "null"] },
      reason: { type: ["string", "null"] },
      timed_out: { type: "boolean" },
      log_tail: { type: "string" },
    }),
  },
  {
    $id: "Container",
    ...obj({
      id: ID,
      service_id: ID,
      deployment_id: ID,
      docker_container_id: { type: "string" },
      replica_index: { type: "integer" },
      status: { type: "string" },
      created_at: TIME,
    }),
  },
  {
    $id: "EnvVar",
    ...obj({
      id: ID,
      scope: { type: "string" },
      scope_id: ID,
      key: { type: "string" },
      sealed: { type: "boolean" },
      masked: { type: "boolean" },
      created_at: TIME,
      updated_at: TIME,
    }),
  },
  {
    $id: "ServiceDomain",
    ...obj({
      id: ID,
      project_id: ID,
      service_id: ID,
      hostname: { type: "string" },
      target_port: { type: "integer" },
      generated: { type: "boolean" },
      status: { type: "string", enum: ["pending", "active", "error"] },
      tls: { type: "string", enum: ["acme", "internal"] },
      cert_issuer: { type: "string", nullable: true },
      cert_expires_at: { type: "string", nullable: true },
      last_error: { type: "string", nullable: true },
      created_at: TIME,
      staged: { type: "boolean" },
      staged_delete: { type: "boolean" },
    }),
  },
  {
    $id: "PendingChange",
    ...obj({
      id: ID,
      project_id: ID,
      seq: { type: "integer" },
      op: { type: "string" },
      target_type: { type: "string" },
      target_id: ID,
      target_temp_id: ID,
      parent_temp_id: ID,
      payload: { type: "object" },
      user_id: ID,
      created_at: TIME,
    }),
  },
  {
    $id: "ApplyResult",
    ...obj({
      applied_count: { type: "integer" },
      temp_id_to_service_id: { type: "object", additionalProperties: { type: "string" } },
      redeployed_service_ids: { type: "array", items: { type: "string" } },
      created_deployments: { type: "array", items: { $ref: "Deployment#" } },
    }),
  },
  {
    $id: "APIKey",
    ...obj({
      id: ID,
      user_id: ID,
      description: { type: "string" },
      prefix: { type: "string" },
      expires_at: NULLABLE_TIME,
      last_used_at: NULLABLE_TIME,
      created_at: TIME,
      token: { type: "string", description: "Only in the creation response." },
    }),
  },
  {
    $id: "Preset",
    ...obj({
      id: { type: "string" },
      name: { type: "string" },
      image: { type: "string" },
      icon_url: { type: "string" },
      ports: PORTS,
      volumes: VOLUMES,
      start_command: COMMAND,
      env_vars: {
        type: "array",
        items: obj({ key: { type: "string" }, value: { type: "string" }, generate: { type: "string" }, sealed: { type: "boolean" } }),
      },
    }),
  },
];

export const ref = (name: string) => ({ $ref: `${name}#` });
export const pageOfRef = (name: string) => ({
  type: "object",
  properties: {
    data: { type: "array", items: ref(name) },
    total_count: { type: "integer" },
    offset: { type: "integer" },
    limit: { type: "integer" },
  },
});
export const listOfRef = (name: string) => ({ type: "object", properties: { data: { type: "array", items: ref(name) } } });
export const NO_CONTENT = { type: "null", description: "No content" } as const;
export const ERRORS = {
  400: ref("Error"),
  401: ref("Error"),
  403: ref("Error"),
  404: ref("Error"),
  409: ref("Error"),
  422: ref("Error"),
  429: ref("Error"),
};
