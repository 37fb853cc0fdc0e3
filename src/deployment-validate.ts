/**
 * The rules a deployment's settings must follow (image, replicas, ports, volumes, resources,
 * commands, stop grace, health check): each validator adds its field errors to a collector, so a
 * service create, a service update and a deployment report every bad field at once.
 */
import type { DeploymentCreate, PortMapping, Resources, VolumeMount } from "./deployment.ts";
import {
  IMAGE_MAX,
  IMAGE_MESSAGE,
  IMAGE_PATTERN,
  MAX_COMMAND_ARG_LENGTH,
  MAX_COMMAND_ARGS,
  MAX_HEALTHCHECK_PATH_LENGTH,
  MAX_HEALTHCHECK_TIMEOUT_SECONDS,
  MAX_PORTS,
  MAX_REPLICAS,
  MAX_STOP_GRACE_SECONDS,
  MAX_VOLUMES,
  PROTOCOLS,
  VOLUME_NAME_PATTERN,
  VOLUME_REPLICAS_MESSAGE,
} from "./deployment.ts";
import { ENV_KEY_MESSAGE, ENV_KEY_PATTERN } from "./envvar.ts";
import { FieldErrorCollector } from "./errors.ts";
import { validateCronShape, validateCronTimeout, validateRestartPolicy } from "./ops.ts";
import { hasControlChars, isBlank } from "./validate.ts";

/**
 * A start command is an argv array that Docker runs as the container's command, never through a
 * shell on the host. `null` (or absent) keeps the image's own CMD.
 */
export function validateStartCommand(cmd: unknown, v: FieldErrorCollector, field = "start_command"): void {
  if (cmd === undefined || cmd === null) return;
  if (!Array.isArray(cmd) || cmd.length === 0) {
    v.add(
      field,
      field === "pre_deploy_command"
        ? "Pre-deploy command must be a non-empty list of arguments, or null for none."
        : `${field === "entrypoint" ? "Entrypoint" : "Start command"} must be a non-empty list of arguments, or null for the image's default.`,
    );
    return;
  }
  if (cmd.length > MAX_COMMAND_ARGS) {
    v.add(field, `At most ${MAX_COMMAND_ARGS} arguments.`);
    return;
  }
  cmd.forEach((a, i) => {
    if (typeof a !== "string") v.add(`${field}[${i}]`, "Each argument must be a string.");
    else if (a.length > MAX_COMMAND_ARG_LENGTH) v.add(`${field}[${i}]`, `An argument is at most ${MAX_COMMAND_ARG_LENGTH} characters.`);
    else if (a.includes("\u0000")) v.add(`${field}[${i}]`, "An argument cannot contain NUL characters.");
  });
  if (typeof cmd[0] === "string" && cmd[0].trim() === "") v.add(`${field}[0]`, "The program to run cannot be empty.");
}

export function validateStopGrace(seconds: number | undefined, v: FieldErrorCollector): void {
  if (seconds === undefined) return;
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_STOP_GRACE_SECONDS)
    v.add("stop_grace_seconds", `Stop grace must be a whole number of seconds between 0 and ${MAX_STOP_GRACE_SECONDS}.`);
}

/**
 * A health check path: null turns the check off; otherwise an absolute request path (with an
 * optional query) of printable ASCII without spaces, which is what an HTTP request line can carry.
 */
export function validateHealthcheckPath(path: unknown, v: Pick<FieldErrorCollector, "add">): void {
  if (path === undefined || path === null) return;
  if (typeof path !== "string" || !path.startsWith("/"))
    v.add(
      "healthcheck_path",
      "Health check path must start with / (for example /healthz); leave it empty (null in the API) to turn the check off.",
    );
  else if (path.length > MAX_HEALTHCHECK_PATH_LENGTH)
    v.add("healthcheck_path", `Health check path is at most ${MAX_HEALTHCHECK_PATH_LENGTH} characters.`);
  else if (/[^\x21-\x7e]/.test(path))
    v.add("healthcheck_path", "Health check path cannot contain spaces, control or non-ASCII characters.");
}

export function validateHealthcheckTimeout(seconds: unknown, v: Pick<FieldErrorCollector, "add">): void {
  if (seconds === undefined) return;
  if (typeof seconds !== "number" || !Number.isInteger(seconds) || seconds < 1 || seconds > MAX_HEALTHCHECK_TIMEOUT_SECONDS)
    v.add(
      "healthcheck_timeout_seconds",
      `Health check timeout must be a whole number of seconds between 1 and ${MAX_HEALTHCHECK_TIMEOUT_SECONDS}.`,
    );
}

/** Refuses replicas > 1 together with a volume, naming both fields (Railway's rule). */
export function validateVolumeReplicas(volumes: VolumeMount[] | undefined, replicas: number | undefined, v: FieldErrorCollector): void {
  if (!Array.isArray(volumes) || volumes.length === 0 || replicas === undefined || !(replicas > 1)) return;
  v.add("replicas", VOLUME_REPLICAS_MESSAGE);
  v.add("volumes", VOLUME_REPLICAS_MESSAGE);
}

function isPort(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 65535;
}

export function validatePorts(ports: PortMapping[], v: FieldErrorCollector): void {
  if (!Array.isArray(ports)) {
    v.add("ports", "Ports must be a list.");
    return;
  }
  if (ports.length > MAX_PORTS) {
    v.add("ports", `At most ${MAX_PORTS} ports.`);
    return;
  }
  const seenHost = new Set<string>();
  ports.forEach((p, i) => {
    if (!isPort(p?.container_port)) v.add(`ports[${i}].container_port`, "Container port must be between 1 and 65535.");
    if (p?.host_port !== undefined && p.host_port !== 0) {
      if (!isPort(p.host_port)) v.add(`ports[${i}].host_port`, "Host port must be between 1 and 65535.");
      else {
        const key = `${p.host_port}/${p.protocol ?? "tcp"}`;
        if (seenHost.has(key)) v.add(`ports[${i}].host_port`, `Host port ${p.host_port} is used twice.`);
        seenHost.add(key);
      }
    }
    if (p?.protocol !== undefined && !(PROTOCOLS as readonly string[]).includes(p.protocol))
      v.add(`ports[${i}].protocol`, "Protocol must be 'tcp' or 'udp'.");
  });
}

export function validateVolumes(volumes: VolumeMount[], v: FieldErrorCollector): void {
  if (!Array.isArray(volumes)) {
    v.add("volumes", "Volumes must be a list.");
    return;
  }
  if (volumes.length > MAX_VOLUMES) {
    v.add("volumes", `At most ${MAX_VOLUMES} volumes.`);
    return;
  }
  const names = new Set<string>();
  const paths = new Set<string>();
  volumes.forEach((vol, i) => {
    if (typeof vol?.name !== "string" || !VOLUME_NAME_PATTERN.test(vol.name))
      v.add(`volumes[${i}].name`, "Volume name must be lowercase letters, digits and hyphens (max 32).");
    else if (names.has(vol.name)) v.add(`volumes[${i}].name`, `Volume "${vol.name}" is listed twice.`);
    else names.add(vol.name);
    const p = vol?.mount_path;
    if (typeof p !== "string" || !p.startsWith("/") || p.length > 255 || hasControlChars(p) || p.includes(":"))
      v.add(`volumes[${i}].mount_path`, "Mount path must be an absolute path inside the container.");
    else if (p === "/" || p.split("/").includes("..")) v.add(`volumes[${i}].mount_path`, "Mount path cannot be / or contain '..'.");
    else if (paths.has(p)) v.add(`volumes[${i}].mount_path`, `Mount path ${p} is used twice.`);
    else paths.add(p);
  });
}

export function validateResources(r: Resources, v: FieldErrorCollector): void {
  if (typeof r !== "object" || r === null) {
    v.add("resources", "Resources must be an object.");
    return;
  }
  if (r.cpu_shares !== undefined && (!Number.isInteger(r.cpu_shares) || r.cpu_shares < 0 || r.cpu_shares > 262144))
    v.add("resources.cpu_shares", "CPU shares must be a whole number between 0 and 262144.");
  if (r.cpus !== undefined && (typeof r.cpus !== "number" || !(r.cpus >= 0) || r.cpus > 1024))
    v.add("resources.cpus", "CPUs must be a number between 0 and 1024.");
  if (r.memory_mb !== undefined && (!Number.isInteger(r.memory_mb) || r.memory_mb < 0 || (r.memory_mb > 0 && r.memory_mb < 6)))
    v.add("resources.memory_mb", "Memory must be 0 (no limit) or at least 6 MiB.");
}

export function validateEnvMap(env: Record<string, string>, v: FieldErrorCollector, field = "env_vars"): void {
  if (typeof env !== "object" || env === null || Array.isArray(env)) {
    v.add(field, "Env vars must be an object.");
    return;
  }
  for (const [k, val] of Object.entries(env)) {
    if (!ENV_KEY_PATTERN.test(k)) v.add(`${field}.${k}`, ENV_KEY_MESSAGE);
    else if (typeof val !== "string") v.add(`${field}.${k}`, "Value must be a string.");
    else if (val.includes("\u0000")) v.add(`${field}.${k}`, "Value cannot contain NUL characters.");
  }
}

export function validateImage(image: string | undefined, v: FieldErrorCollector, required: boolean, field = "image"): void {
  if (image === undefined) {
    if (required) v.add(field, "Image is required.");
    return;
  }
  if (isBlank(image)) v.add(field, required ? "Image is required." : "Image cannot be empty.");
  else if (image.length > IMAGE_MAX || !IMAGE_PATTERN.test(image) || hasControlChars(image)) v.add(field, IMAGE_MESSAGE);
}

export function validateReplicas(replicas: number | undefined, v: FieldErrorCollector): void {
  if (replicas === undefined) return;
  if (!Number.isInteger(replicas) || replicas < 0) v.add("replicas", "Replicas must be a whole number of zero or more.");
  else if (replicas > MAX_REPLICAS) v.add("replicas", `Replicas cannot exceed ${MAX_REPLICAS}.`);
}

/** Throws a field error (422): image required, replicas ≥ 0, ports/volumes/resources well formed. */
export function validateDeploymentCreate(input: DeploymentCreate): void {
  const v = new FieldErrorCollector();
  validateImage(input.image, v, true);
  validateReplicas(input.replicas, v);
  if (input.env_vars !== undefined) validateEnvMap(input.env_vars, v);
  if (input.ports !== undefined) validatePorts(input.ports, v);
  if (input.volumes !== undefined) validateVolumes(input.volumes, v);
  if (input.resources !== undefined && input.resources !== null) validateResources(input.resources, v);
  validateStopGrace(input.stop_grace_seconds, v);
  validateStartCommand(input.start_command, v);
  validateStartCommand(input.entrypoint, v, "entrypoint");
  validateStartCommand(input.pre_deploy_command, v, "pre_deploy_command");
  validateRestartPolicy(input.restart_policy, input.restart_max_retries, v);
  validateCronShape(input.cron_schedule, v);
  validateCronTimeout(input.cron_timeout_seconds, v);
  validateHealthcheckPath(input.healthcheck_path, v);
  validateHealthcheckTimeout(input.healthcheck_timeout_seconds, v);
  validateVolumeReplicas(input.volumes, input.replicas, v);
  v.throwIfAny();
}
