import type { BuildSource, DeploymentPhase, PhaseSpan } from "./build.ts";
import type { PreDeployStatus, RestartPolicy } from "./ops.ts";
import type { Page } from "./pagination.ts";

export const DEPLOYMENT_PENDING = "pending";
export const DEPLOYMENT_STARTING = "starting";
export const DEPLOYMENT_HEALTHY = "healthy";
export const DEPLOYMENT_FAILED = "failed";
export const DEPLOYMENT_SUPERSEDED = "superseded";
export const DEPLOYMENT_CANCELLED = "cancelled";
export type DeploymentStatus =
  | typeof DEPLOYMENT_PENDING
  | typeof DEPLOYMENT_STARTING
  | typeof DEPLOYMENT_HEALTHY
  | typeof DEPLOYMENT_FAILED
  | typeof DEPLOYMENT_SUPERSEDED
  | typeof DEPLOYMENT_CANCELLED;

/** Deployments whose containers the reconciler keeps: the new one starting and the one serving. */
export const IN_FLIGHT_STATUSES: readonly DeploymentStatus[] = [DEPLOYMENT_PENDING, DEPLOYMENT_STARTING, DEPLOYMENT_HEALTHY];

/**
 * A deployment waits while one of its providers' deployments (`wait_for`) is still pending or
 * starting. A provider that failed, was cancelled or replaced no longer holds it back: the
 * provider's serving deployment (if any) is what the consumer will reach.
 */
export function waitsForProviders(providers: ReadonlyArray<{ status: DeploymentStatus } | null>): boolean {
  return providers.some((p) => p !== null && (p.status === DEPLOYMENT_PENDING || p.status === DEPLOYMENT_STARTING));
}

/** The log tail kept on a failed deployment. */
export const LOG_TAIL_MAX_BYTES = 10 * 1024;
/** Failed image pulls or container creations before a deployment is marked failed. */
export const MAX_ATTEMPTS = 3;

export const PROTOCOLS = ["tcp", "udp"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface PortMapping {
  container_port: number;
  /** Published on the host only when set and > 0. */
  host_port?: number;
  protocol?: Protocol;
}

/** A named Docker volume `dk-<slug>-<service id>-<name>` mounted at `mount_path`. Never a host path. */
export interface VolumeMount {
  name: string;
  mount_path: string;
}

/**
 * How a redeploy replaces a service's containers. A service with a volume is stop-first: a volume is
 * mounted by at most one running container, ever (two database servers on one data directory lose
 * acknowledged writes), so the old container is stopped and gone before the new one is created.
 * Every other service is start-first: the new containers pass the readiness gate before the old ones go.
 */
export const ROLLOUT_STOP_FIRST = "stop-first";
export const ROLLOUT_START_FIRST = "start-first";
export type RolloutStrategy = typeof ROLLOUT_STOP_FIRST | typeof ROLLOUT_START_FIRST;

/** Grace a container gets between SIGTERM (or its image's STOPSIGNAL) and SIGKILL, unless the service sets one. */
export const DEFAULT_STOP_GRACE_SECONDS = 30;
export const MAX_STOP_GRACE_SECONDS = 300;
/** How long the readiness gate keeps probing a service's health check path before failing the deployment. */
export const DEFAULT_HEALTHCHECK_TIMEOUT_SECONDS = 60;
export const MAX_HEALTHCHECK_TIMEOUT_SECONDS = 3600;
export const MAX_HEALTHCHECK_PATH_LENGTH = 512;

export const MAX_COMMAND_ARGS = 64;
export const MAX_COMMAND_ARG_LENGTH = 4096;
/** `${{VAR}}` in a start command: the service's own variable, resolved into the deployment at deploy time. */
export const COMMAND_REFERENCE = /\$\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}/g;

/**
 * The command with each `${{VAR}}` replaced by the deployment's resolved variable. An unknown
 * reference stays as written: an empty value would, for example, turn `--requirepass` off.
 */
export function resolveStartCommand(cmd: readonly string[] | null | undefined, env: Record<string, string>): string[] | null {
  if (!cmd || cmd.length === 0) return null;
  return cmd.map((a) => a.replace(COMMAND_REFERENCE, (whole, key: string) => (Object.hasOwn(env, key) ? (env[key] as string) : whole)));
}

export const VOLUME_REPLICAS_MESSAGE =
  "A service with a volume runs one replica: two containers must never mount the same volume. Set replicas to 1 or remove the volume.";

/** Stop-first when the deployment mounts a volume. */
export function rolloutStrategy(d: { volumes?: VolumeMount[] | null }): RolloutStrategy {
  return (d.volumes?.length ?? 0) > 0 ? ROLLOUT_STOP_FIRST : ROLLOUT_START_FIRST;
}

/**
 * Long-lived containers the reconciler runs for a deployment: none for a cron deployment (the
 * scheduler runs it), one for a volume deployment whatever older data says.
 */
export function deploymentReplicas(d: { replicas: number; volumes?: VolumeMount[] | null; cron_schedule?: string | null }): number {
  if (d.cron_schedule) return 0;
  return rolloutStrategy(d) === ROLLOUT_STOP_FIRST ? 1 : effectiveReplicas(d.replicas);
}

export interface Resources {
  /** Relative CPU weight (Docker CpuShares). */
  cpu_shares?: number;
  /** Hard CPU limit in cores, e.g. 0.5 (Docker NanoCpus). */
  cpus?: number;
  /** Hard memory limit in MiB. */
  memory_mb?: number;
}

/**
 * A deployment is an immutable snapshot of what should run: image, fully resolved env, ports,
 * volumes, resources and replicas. Lifecycle: pending → starting → healthy → superseded, or failed;
 * cancelled when a newer one is created while it is still pending/starting.
 */
export interface Deployment {
  id: string;
  service_id: string;
  image: string;
  env_vars: Record<string, string>;
  /** Keys of env_vars that came from sealed variables (absent when none). */
  sealed_keys?: string[];
  ports: PortMapping[];
  volumes: VolumeMount[];
  resources?: Resources;
  replicas: number;
  /** Seconds between the stop signal and SIGKILL for this deployment's containers. */
  stop_grace_seconds: number;
  /** The container's command with references resolved; absent keeps the image's CMD. */
  start_command?: string[];
  /** The container's entrypoint with references resolved; absent keeps the image's ENTRYPOINT. */
  entrypoint?: string[];
  restart_policy: RestartPolicy;
  restart_max_retries: number;
  /** Run to completion in a one-off container before the rollout; absent runs none. */
  pre_deploy_command?: string[];
  /** Where the pre-deploy command is: running, succeeded or failed (absent: none, or not started yet). */
  pre_deploy_status?: PreDeployStatus;
  pre_deploy_exit_code?: number;
  /** The last 10 KB of the pre-deploy command's output. */
  pre_deploy_log?: string;
  /** A cron deployment runs no long-lived container: the scheduler runs it at each tick. */
  cron_schedule?: string;
  cron_timeout_seconds: number;
  /** Readiness is a 2xx/3xx answer on this path of the first TCP container port; absent: the stable-window rule. */
  healthcheck_path?: string;
  /** How long the health check is retried before the deployment fails. */
  healthcheck_timeout_seconds: number;
  status: DeploymentStatus;
  failure_reason?: string;
  exit_code?: number;
  log_tail?: string;
  attempt_count: number;
  /** Restart count of the containers when promoted (internal; not serialized by the HTTP layer). */
  baseline_restart_count: number;
  started_at?: string;
  healthy_at?: string;
  /**
   * Deployments of the services this one references, made by the same Deploy: it starts once none of
   * them is still pending or starting (deploy order follows references).
   */
  wait_for?: string[];
  created_at: string;
  /** Where the rollout is: queued → cloning → building → starting → health_check → serving, or failed/cancelled. */
  phase?: DeploymentPhase;
  /** Each phase with its start and end (null while it runs). */
  phases?: PhaseSpan[];
  /** What a built deployment was built from (absent: it runs an image as given). */
  build_source?: BuildSource;
  commit_sha?: string;
  commit_message?: string;
}

/**
 * What a service runs with: the settings Apply copies into each deployment. The SPA overlays staged
 * changes on them (frontend/app/shared/pending-changes/lib/staged.ts); create and update take any of them.
 */
export interface ServiceSettings {
  image: string;
  ports: PortMapping[];
  volumes: VolumeMount[];
  resources: Resources | null;
  replicas: number;
  /** Seconds a stopping container gets before SIGKILL (default 30): databases shut down cleanly. */
  stop_grace_seconds: number;
  /** Argv Docker runs instead of the image's CMD (no shell on the host); null keeps the image's. `${{VAR}}` is resolved on deploy. */
  start_command: string[] | null;
  /** Argv Docker runs as the entrypoint instead of the image's; null keeps the image's. */
  entrypoint: string[] | null;
  /** What Docker does when a container exits (default `always`). */
  restart_policy: RestartPolicy;
  /** Restarts an `on-failure` container gets (default 10). */
  restart_max_retries: number;
  /** Argv run once in a one-off container before each rollout; null runs none. `${{VAR}}` is resolved on deploy. */
  pre_deploy_command: string[] | null;
  /** 5-field UTC cron expression: the service runs on this schedule instead of continuously; null: a long-running service. */
  cron_schedule: string | null;
  /** Seconds a cron run may take before it is stopped and marked failed (default 3600). */
  cron_timeout_seconds: number;
  /** HTTP path the readiness gate probes on the first TCP container port (2xx/3xx = ready); null: no HTTP check. */
  healthcheck_path: string | null;
  /** Seconds the health check is retried before a deployment fails (default 60). */
  healthcheck_timeout_seconds: number;
  /**
   * Seconds superseded containers keep running after the proxy's route and the service name moved
   * to the new ones, before their stop signal (default 5, 0–300). Read at each switch-over, so a
   * change needs no new deployment.
   */
  drain_seconds: number;
}

/** A deployment of `image` with the given settings (the service's for the rest); `drain_seconds` is read live from the service. */
export interface DeploymentCreate extends Partial<Omit<ServiceSettings, "image" | "drain_seconds">> {
  image: string;
  env_vars?: Record<string, string>;
  sealed_keys?: string[];
  /** Built from source: the image is the per-deployment build tag and the deployment waits for its build. */
  build_source?: BuildSource | null;
}

export interface DeploymentFilter extends Page {
  service_id?: string;
  status?: DeploymentStatus[];
}

export interface DeploymentFailure {
  reason: string;
  exit_code?: number;
  log_tail?: string;
}

/** What a pre-deploy command came to, stored with its deployment. */
export interface PreDeployResult {
  status: PreDeployStatus;
  exit_code?: number;
  log?: string;
}

export const IMAGE_MAX = 512;
/** Docker image references: [registry[:port]/]path[:tag][@digest], no spaces or shell characters. */
export const IMAGE_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/;
export const MAX_REPLICAS = 20;
export const IMAGE_MESSAGE = "Image must be a Docker image reference such as nginx:1.27 or ghcr.io/org/app:tag.";
export const VOLUME_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
export const MAX_PORTS = 20;
export const MAX_VOLUMES = 10;

/** The last `LOG_TAIL_MAX_BYTES` characters of a log (the end is what explains a crash). */
export function truncateLogTail(tail: string): string {
  return tail.length > LOG_TAIL_MAX_BYTES ? tail.slice(tail.length - LOG_TAIL_MAX_BYTES) : tail;
}

/** Effective replica count: 0 means 1. */
export function effectiveReplicas(replicas: number): number {
  return replicas > 0 ? replicas : 1;
}

/** What stands where a sealed value was substituted into a command or a log. */
export const SEALED_PLACEHOLDER = "[sealed]";

/**
 * A deployment as it may be shown: the sealed keys are left out of env_vars, and their values are
 * replaced by SEALED_PLACEHOLDER wherever they were substituted (commands) or echoed (logs).
 */
export function redactSealedDeployment(d: Deployment): Deployment {
  const keys = d.sealed_keys ?? [];
  if (keys.length === 0) return d;
  const values = keys.map((k) => d.env_vars[k]).filter((v): v is string => typeof v === "string" && v !== "");
  const hide = (s: string) => values.reduce((acc, v) => acc.split(v).join(SEALED_PLACEHOLDER), s);
  const env: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(d.env_vars)) if (!keys.includes(k)) env[k] = hide(v);
  const out: Deployment = { ...d, env_vars: env };
  for (const f of ["start_command", "entrypoint", "pre_deploy_command"] as const) {
    const cmd = d[f];
    if (cmd) out[f] = cmd.map(hide);
  }
  for (const f of ["log_tail", "pre_deploy_log", "failure_reason"] as const) {
    const text = d[f];
    if (typeof text === "string") out[f] = hide(text);
  }
  return out;
}
