import { randomUUID } from "node:crypto";
import * as deploykit from "../index.ts";

/** A request to create a service, from `POST …/services` or the canvas `service:create` message. */
export interface ServiceCreateRequest {
  name?: unknown;
  image?: unknown;
  icon_url?: unknown;
  ports?: deploykit.PortMapping[];
  volumes?: deploykit.VolumeMount[];
  resources?: deploykit.Resources | null;
  replicas?: number;
  stop_grace_seconds?: number;
  start_command?: string[] | null;
  entrypoint?: string[] | null;
  restart_policy?: deploykit.RestartPolicy;
  restart_max_retries?: number;
  pre_deploy_command?: string[] | null;
  cron_schedule?: string | null;
  cron_timeout_seconds?: number;
  healthcheck_path?: string | null;
  healthcheck_timeout_seconds?: number;
  drain_seconds?: number;
  env_vars?: { key: unknown; value: unknown; sealed?: unknown }[];
  repo_url?: string | null;
  branch?: string | null;
  root_dir?: string | null;
  dockerfile_path?: string | null;
  position_x?: number;
  position_y?: number;
}

function asString(v: unknown, field: string, c: deploykit.FieldErrorCollector): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") {
    c.add(field, "Must be a string.");
    return undefined;
  }
  return v;
}

/**
 * The one staging path for new services (PRODUCT §4.8): validates, places a canvas node, then
 * appends `service.create` with the node id as temp id; the node is removed again when staging fails.
 * Throws EINVALID (fields), ENOTFOUND, ECONFLICT (name taken).
 */
export async function stageServiceCreate(
  deps: { canvas: deploykit.CanvasService; pendingChanges: deploykit.PendingChangeService },
  projectID: string,
  userID: string | null,
  input: ServiceCreateRequest,
): Promise<{ node: deploykit.CanvasNode; change: deploykit.PendingChange }> {
  const v = new deploykit.FieldErrorCollector();
  const name = asString(input.name, "name", v);
  const image = asString(input.image, "image", v);
  const icon = asString(input.icon_url, "icon_url", v);
  deploykit.validateServiceName(name, v, true);
  // A service runs an image, or what is built from its repository (issue 13).
  deploykit.validateImage(image, v, typeof input.repo_url !== "string" || input.repo_url.trim() === "");
  deploykit.validateServiceSource(input, v);
  deploykit.validateIconURL(icon, v);
  if (input.ports !== undefined) deploykit.validatePorts(input.ports, v);
  if (input.volumes !== undefined) deploykit.validateVolumes(input.volumes, v);
  if (input.resources !== undefined && input.resources !== null) deploykit.validateResources(input.resources, v);
  deploykit.validateReplicas(input.replicas, v);
  deploykit.validateStopGrace(input.stop_grace_seconds, v);
  deploykit.validateStartCommand(input.start_command, v);
  deploykit.validateStartCommand(input.entrypoint, v, "entrypoint");
  deploykit.validateStartCommand(input.pre_deploy_command, v, "pre_deploy_command");
  deploykit.validateRestartPolicy(input.restart_policy, input.restart_max_retries, v);
  deploykit.validateCronShape(input.cron_schedule, v);
  deploykit.validateCronTimeout(input.cron_timeout_seconds, v);
  deploykit.validateHealthcheckPath(input.healthcheck_path, v);
  deploykit.validateHealthcheckTimeout(input.healthcheck_timeout_seconds, v);
  deploykit.validateDrainSeconds(input.drain_seconds, v);
  deploykit.validateVolumeReplicas(input.volumes, input.replicas, v);
  const env: { scope: string; key: string; value: string; sealed?: true }[] = [];
  if (input.env_vars !== undefined) {
    if (!Array.isArray(input.env_vars) || input.env_vars.length > 1000) v.add("env_vars", "Env vars must be a list of at most 1000.");
    else {
      const seen = new Set<string>();
      input.env_vars.forEach((e, i) => {
        const before = Object.keys(v.fields).length;
        deploykit.validateEnvKey(e?.key, v, `env_vars[${i}].key`);
        deploykit.validateEnvValue(e?.value, v, `env_vars[${i}].value`);
        if (e?.sealed !== undefined && typeof e.sealed !== "boolean") v.add(`env_vars[${i}].sealed`, "Sealed must be true or false.");
        if (Object.keys(v.fields).length !== before) return;
        const key = e.key as string;
        if (seen.has(key)) v.add(`env_vars[${i}].key`, `Duplicate env var key: ${key}`);
        seen.add(key);
        env.push({ scope: deploykit.SCOPE_SERVICE, key, value: e.value as string, ...deploykit.sealedFlag(e) });
      });
    }
  }
  v.throwIfAny();

  const payload: Record<string, unknown> = { name };
  if (image !== undefined) payload.image = image;
  if (icon) payload.icon_url = icon;
  if (input.ports !== undefined) payload.ports = input.ports;
  if (input.volumes !== undefined) payload.volumes = input.volumes;
  if (input.resources !== undefined) payload.resources = input.resources;
  if (input.replicas !== undefined) payload.replicas = input.replicas;
  if (input.stop_grace_seconds !== undefined) payload.stop_grace_seconds = input.stop_grace_seconds;
  if (input.start_command !== undefined && input.start_command !== null) payload.start_command = input.start_command;
  if (input.entrypoint !== undefined && input.entrypoint !== null) payload.entrypoint = input.entrypoint;
  if (input.restart_policy !== undefined) payload.restart_policy = input.restart_policy;
  if (input.restart_max_retries !== undefined) payload.restart_max_retries = input.restart_max_retries;
  if (input.pre_deploy_command !== undefined && input.pre_deploy_command !== null) payload.pre_deploy_command = input.pre_deploy_command;
  if (input.cron_schedule !== undefined && input.cron_schedule !== null && input.cron_schedule !== "")
    payload.cron_schedule = input.cron_schedule;
  if (input.cron_timeout_seconds !== undefined) payload.cron_timeout_seconds = input.cron_timeout_seconds;
  if (input.healthcheck_path !== undefined && input.healthcheck_path !== null) payload.healthcheck_path = input.healthcheck_path;
  if (input.healthcheck_timeout_seconds !== undefined) payload.healthcheck_timeout_seconds = input.healthcheck_timeout_seconds;
  if (input.drain_seconds !== undefined) payload.drain_seconds = input.drain_seconds;
  for (const key of ["repo_url", "branch", "root_dir", "dockerfile_path"] as const)
    if (typeof input[key] === "string" && input[key] !== "") payload[key] = input[key];
  if (env.length > 0) payload.env_vars = env;

  const upsert: deploykit.CanvasNodeUpsert = {
    id: randomUUID(),
    type: deploykit.NODE_SERVICE,
    label: name as string,
    position_x: input.position_x ?? 0,
    position_y: input.position_y ?? 0,
    data: JSON.stringify({ image }),
  };
  deploykit.validateNodeUpsert(upsert);
  const { node } = await deps.canvas.upsertNode(projectID, upsert);
  try {
    const change = await deps.pendingChanges.appendPendingChange(projectID, userID, {
      op: deploykit.OP_SERVICE_CREATE,
      target_type: deploykit.TARGET_SERVICE,
      target_temp_id: node.id,
      payload,
    });
    return { node, change };
  } catch (err) {
    await deps.canvas.deleteNode(projectID, node.id).catch(() => {});
    throw err;
  }
}
