import type { ServiceSource } from "./build.ts";
import { validateServiceSource } from "./build.ts";
import type { Deployment, ServiceSettings, VolumeMount } from "./deployment.ts";
import {
  validateHealthcheckPath,
  validateHealthcheckTimeout,
  validateImage,
  validatePorts,
  validateReplicas,
  validateResources,
  validateStartCommand,
  validateStopGrace,
  validateVolumeReplicas,
  validateVolumes,
} from "./deployment-validate.ts";
import { validateDrainSeconds } from "./domains.ts";
import { EINVALID, errorf, FieldErrorCollector } from "./errors.ts";
import { validateCronShape, validateCronTimeout, validateRestartPolicy } from "./ops.ts";
import type { Page, PageResult } from "./pagination.ts";
import { isBlank } from "./validate.ts";

export const SERVICE_CREATED = "created";
export const SERVICE_DEPLOYING = "deploying";
export const SERVICE_RUNNING = "running";
export const SERVICE_DEGRADED = "degraded";
export const SERVICE_FAILED = "failed";
export const SERVICE_STOPPED = "stopped";
export type ServiceStatus =
  | typeof SERVICE_CREATED
  | typeof SERVICE_DEPLOYING
  | typeof SERVICE_RUNNING
  | typeof SERVICE_DEGRADED
  | typeof SERVICE_FAILED
  | typeof SERVICE_STOPPED;
export const SERVICE_STATUSES: readonly ServiceStatus[] = [
  SERVICE_CREATED,
  SERVICE_DEPLOYING,
  SERVICE_RUNNING,
  SERVICE_DEGRADED,
  SERVICE_FAILED,
  SERVICE_STOPPED,
];

export const RUN_STOP = "stop";
export const RUN_START = "start";
export type RunState = typeof RUN_STOP | typeof RUN_START;

/** Service names are DNS labels: they become the container's network alias. */
export const SERVICE_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const SERVICE_NAME_MESSAGE =
  "Name must be a DNS label: lowercase letters, digits and hyphens, at most 63 characters, starting and ending with a letter or digit.";
export const ICON_URL_MAX = 2048;

/**
 * A service is one Docker image run as `replicas` containers on its project's network, reachable by
 * the other services under its name. Its settings (image, ports, volumes, resources, replicas) are
 * the template for the next deployment; a deployment freezes them together with the resolved env.
 */

export interface Service extends ServiceSettings, Partial<ServiceSource> {
  id: string;
  project_id: string;
  name: string;
  status: ServiceStatus;
  icon_url: string | null;
  active_deployment_id: string | null;
  /** When Restart was last asked for: serving containers started before it are restarted (internal). */
  restart_requested_at?: string;
  created_at: string;
  updated_at: string;
  /** Thin view of the serving deployment (id, service_id, image, replicas, created_at), when there is one. */
  active_deployment?: Deployment;
}

/** Any setting may be given; the rest take their defaults. */
export interface ServiceCreate extends Partial<ServiceSettings> {
  name: string;
  /** Build from this git repository instead of running `image` (issue 13); `null` goes back to the image. */
  repo_url?: string | null;
  /** Branch whose head a deploy builds (default `main`). */
  branch?: string | null;
  /** Directory of the repository the build runs in (monorepos); default its root. */
  root_dir?: string | null;
  /** Dockerfile path relative to `root_dir` (default `Dockerfile`). */
  dockerfile_path?: string | null;
  icon_url?: string | null;
}

/** Every field optional; `icon_url: ""` clears the icon. Staged as `service.update`. */
export interface ServiceUpdate extends Partial<ServiceSettings> {
  name?: string;
  icon_url?: string | null;
  /** Build from this git repository instead of running `image` (issue 13); `null` goes back to the image. */
  repo_url?: string | null;
  /** Branch whose head a deploy builds (default `main`). */
  branch?: string | null;
  /** Directory of the repository the build runs in (monorepos); default its root. */
  root_dir?: string | null;
  /** Dockerfile path relative to `root_dir` (default `Dockerfile`). */
  dockerfile_path?: string | null;
}

export interface ServiceFilter extends Page {
  id?: string;
  project_id?: string;
  name?: string;
  status?: string;
}

export function validateServiceName(name: string | undefined, v: FieldErrorCollector, required: boolean): void {
  if (name === undefined) {
    if (required) v.add("name", "Name is required.");
    return;
  }
  if (isBlank(name)) v.add("name", required ? "Name is required." : "Name cannot be empty.");
  else if (!SERVICE_NAME_PATTERN.test(name)) v.add("name", SERVICE_NAME_MESSAGE);
}

/** The original's icon URL rules; `""` is allowed (it clears the icon). */
export function validateIconURL(icon: string | null | undefined, v: Pick<FieldErrorCollector, "add">): void {
  if (icon === undefined || icon === null || icon === "") return;
  if (icon.length > ICON_URL_MAX) {
    v.add("icon_url", `Icon URL is too long (max ${ICON_URL_MAX} characters).`);
    return;
  }
  if (icon.trim() === "") {
    v.add("icon_url", "Icon URL cannot be empty.");
    return;
  }
  let url: URL;
  try {
    url = new URL(icon);
  } catch {
    v.add("icon_url", "Icon URL is not a valid URL.");
    return;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    v.add("icon_url", "Icon URL must use http or https.");
    return;
  }
  if (url.hostname === "") v.add("icon_url", "Icon URL must include a host.");
}

function validateSettings(input: ServiceUpdate, v: FieldErrorCollector): void {
  validateIconURL(input.icon_url, v);
  validateServiceSource(input, v);
  if (input.ports !== undefined) validatePorts(input.ports, v);
  if (input.volumes !== undefined) validateVolumes(input.volumes, v);
  if (input.resources !== undefined && input.resources !== null) validateResources(input.resources, v);
  validateReplicas(input.replicas, v);
  validateStopGrace(input.stop_grace_seconds, v);
  validateStartCommand(input.start_command, v);
  validateStartCommand(input.entrypoint, v, "entrypoint");
  validateStartCommand(input.pre_deploy_command, v, "pre_deploy_command");
  validateRestartPolicy(input.restart_policy, input.restart_max_retries, v);
  validateCronShape(input.cron_schedule, v);
  validateCronTimeout(input.cron_timeout_seconds, v);
  validateHealthcheckPath(input.healthcheck_path, v);
  validateHealthcheckTimeout(input.healthcheck_timeout_seconds, v);
  validateDrainSeconds(input.drain_seconds, v);
  validateVolumeReplicas(input.volumes, input.replicas, v);
}

/**
 * The settings a service would have after `updates` (staged in order) are applied to `current`:
 * what combination rules (a volume with replicas) are checked against, at staging and at Apply.
 */
export function mergedSettings(
  current: Pick<Service, "volumes" | "replicas">,
  updates: ServiceUpdate[],
): { volumes: VolumeMount[]; replicas: number } {
  let { volumes, replicas } = current;
  for (const u of updates) {
    if (Array.isArray(u.volumes)) volumes = u.volumes;
    if (typeof u.replicas === "number") replicas = u.replicas;
  }
  return { volumes, replicas };
}

/** Throws EINVALID naming both fields when the merged settings put replicas > 1 on a volume. */
export function assertVolumeReplicas(settings: { volumes: VolumeMount[]; replicas: number }): void {
  const v = new FieldErrorCollector();
  validateVolumeReplicas(settings.volumes, settings.replicas, v);
  v.throwIfAny();
}

/** Throws a field error (422). The image is optional here: a legacy `POST …/services` has none. */
export function validateServiceCreate(input: ServiceCreate): void {
  const v = new FieldErrorCollector();
  validateServiceName(input.name, v, true);
  validateImage(input.image, v, false);
  validateSettings(input, v);
  v.throwIfAny();
}

export function validateServiceUpdate(upd: ServiceUpdate): void {
  const v = new FieldErrorCollector();
  validateServiceName(upd.name, v, false);
  validateImage(upd.image, v, false);
  validateSettings(upd, v);
  v.throwIfAny();
}

/** Name clash message used at staging and at apply time. */
export function serviceNameTakenMessage(name: string): string {
  return `A service named "${name}" already exists in the project.`;
}

/** Refuses a name that is not a DNS label with EINVALID (plain error, for WebSocket paths). */
export function assertServiceName(name: string): void {
  if (isBlank(name)) throw errorf(EINVALID, "Name is required.");
  if (!SERVICE_NAME_PATTERN.test(name)) throw errorf(EINVALID, SERVICE_NAME_MESSAGE);
}

/**
 * ServiceService stores services. User-facing edits are staged through PendingChangeService; these
 * methods are what Apply and the reconciler call.
 */
export interface ServiceService {
  /** Throws ENOTFOUND "Service not found.". */
  findServiceByID(id: string): Promise<Service>;
  /** Newest first, with the thin `active_deployment`. */
  findServices(filter: ServiceFilter): Promise<PageResult<Service>>;
  /** Throws EINVALID (fields), ENOTFOUND (project), ECONFLICT "A service named "x" already exists in the project.". */
  createService(projectID: string, input: ServiceCreate): Promise<Service>;
  /** Throws EINVALID, ENOTFOUND, ECONFLICT. */
  updateService(id: string, upd: ServiceUpdate): Promise<Service>;
  /** Sets the status (reconciler); a stopped service stays stopped. Returns the previous status. Throws ENOTFOUND. */
  updateServiceStatus(id: string, status: ServiceStatus): Promise<ServiceStatus>;
  /**
   * The Stop and Start actions: stop sets `stopped` (the reconciler keeps it down, the deployment is
   * kept); start brings the same deployment back (`deploying` until the reconciler sees it run).
   * Throws ENOTFOUND.
   */
  setRunState(id: string, run: RunState): Promise<{ service: Service; previous: ServiceStatus }>;
  /** The Restart action: stamps restart_requested_at. Throws ENOTFOUND, EINVALID when nothing serves or it is stopped. */
  requestRestart(id: string): Promise<Service>;
  /** Deletes the service with its deployments, container rows, env vars and canvas node. Throws ENOTFOUND. */
  deleteService(id: string): Promise<void>;
}
