import * as deploykit from "../index.ts";
import type { Probe } from "./healthcheck.ts";
import type { Ledger } from "./readiness.ts";
import type { DockerSnapshot } from "./snapshot.ts";

/** The slices of the domain services the reconciler uses. */
export type ProjectReader = Pick<deploykit.ProjectService, "findProjectByID" | "findProjects">;

/** What a service pass reads and writes, and the small rules it shares with the sweep and cron. */

export type ServiceStore = Pick<deploykit.ServiceService, "findServiceByID" | "findServices" | "updateServiceStatus">;
export type DeploymentStore = Pick<
  deploykit.DeploymentService,
  | "findDeployments"
  | "findDeploymentByID"
  | "markStarting"
  | "markHealthCheck"
  | "markHealthy"
  | "markFailed"
  | "recordAttempt"
  | "setPreDeploy"
  | "keepDeploymentLogs"
>;
export type ContainerStore = Pick<
  deploykit.ContainerService,
  "findContainers" | "createContainer" | "updateContainerStatus" | "deleteContainer"
>;

export interface PassContext {
  projects: ProjectReader;
  services: ServiceStore;
  deployments: DeploymentStore;
  containers: ContainerStore;
  runtime: deploykit.ContainerRuntime;
  provisioner: deploykit.Provisioner;
  bus: Pick<deploykit.EventBus, "publish">;
  /** Stamped on (and required of) every Docker object the reconciler touches. */
  instanceID: string;
  logger: deploykit.Logger;
  stableWindowMs: number;
  now: () => number;
  ledger: Ledger;
  snapshot: DockerSnapshot;
  /** Test builds only: called at each named step of a pass so the fault suite can kill the process there. */
  faultPoint?: (name: string) => void;
  /**
   * True while Docker is unreachable or has come back only moments ago: a daemon shutting down or
   * starting up fails calls in odd ways ("failed to update store …"), and none of that is a
   * deployment's fault, so no attempt is counted then.
   */
  dockerUnsettled?: () => boolean;
  /** Seconds a pre-deploy command may run (default PRE_DEPLOY_TIMEOUT_SECONDS; tests shorten it). */
  preDeployTimeoutSeconds?: number;
  /** Publishes TCP host ports; when set, containers do not bind host TCP ports themselves. */
  forwarder?: Pick<deploykit.PortForwarder, "setServiceRoutes">;
  /**
   * Called after a project network is created and before any container joins it: the host firewall
   * learns the new subnet first (workload isolation, C06).
   */
  networkCreated?: (net: deploykit.Network) => Promise<void>;
  /** The admin's default limits, read once per pass; containers of services that set none get them. */
  limitDefaults?: () => Promise<LimitDefaults>;
  /** Sends one health check request (default: node:http from this process); tests fake it. */
  probe?: Probe;
  /** The HTTPS proxy (issue 12): told which containers serve, awaited at promotion; drains old containers. */
  ingress?: deploykit.IngressRoutes;
  /** Where a container's last lines are read before it is removed, to keep them with its deployment; absent: none kept. */
  logs?: Pick<deploykit.LogStreamer, "history">;
  /** A resync's rows read for all its passes at once (prefetch.ts); a pass takes its own, once. */
  prefetch?: { take(serviceID: string): { deps: deploykit.Deployment[]; containers: deploykit.Container[] } | undefined };
}

export type LimitDefaults = Pick<deploykit.Settings, "default_memory_mb" | "default_cpus" | "default_pids_limit">;

export interface PassResult {
  /** Something is in flight (starting, promoted, failing): look again after the fast tick. */
  again: boolean;
}

export type Desired = { dep: deploykit.Deployment; replica: number };

export type ContainerVolume = { volume: string; mount_path: string };

/** A pending deployment whose image the builder has not made yet. */
export function awaitingBuild(d: deploykit.Deployment): boolean {
  return d.status === deploykit.DEPLOYMENT_PENDING && d.build_source !== undefined && deploykit.BUILD_PHASES.includes(d.phase ?? "queued");
}

/** Whether the deployment still waits for its pre-deploy command before anything of it runs. */
export function awaitingPreDeploy(d: deploykit.Deployment): boolean {
  return (
    d.status === deploykit.DEPLOYMENT_PENDING &&
    (d.pre_deploy_command?.length ?? 0) > 0 &&
    d.pre_deploy_status !== deploykit.PRE_DEPLOY_SUCCEEDED
  );
}

/**
 * Under `never` and `on-failure` an exited container is one Docker chose not to restart: it finished
 * (exit 0) or gave up, and replacing it would be the restart the policy says not to do.
 */
export function exitedForGood(d: Pick<deploykit.Deployment, "restart_policy">, state: string): boolean {
  return (d.restart_policy ?? deploykit.RESTART_ALWAYS) !== deploykit.RESTART_ALWAYS && (state === "exited" || state === "dead");
}

/** Docker states of a container that Docker will not restart on its own. */
export const STOPPED_STATES = new Set(["exited", "dead", "created"]);
/** How long a stopped desired container is left for Docker (a restart policy after a daemon restart). */
export const STOPPED_GRACE_MS = 15_000;

/** Creates the project's network unless the snapshot shows it. */
export async function ensureProjectNetwork(ctx: PassContext, project: deploykit.Project): Promise<void> {
  const name = deploykit.projectNetworkName(project.slug);
  await ctx.snapshot.ensureNetwork(name, async () => {
    const net = await ctx.provisioner.ensureNetwork(name, {
      ...deploykit.instanceLabels(ctx.instanceID),
      [deploykit.LABEL_PROJECT_ID]: project.id,
    });
    await ctx.networkCreated?.(net);
    return net;
  });
}

/** "<what>: <error>", unless the runtime's message already says what failed ("container create failed: …"). */
export function reason(what: string, err: unknown): string {
  const msg = typeof err === "string" ? err : describe(err);
  const subject = what.split(" ")[0]!;
  return msg.startsWith(`${subject} `) ? msg : `${what}: ${msg}`;
}

/** Row status for a Docker state. */
export function rowStatus(state: string): deploykit.ContainerStatus {
  switch (state) {
    case "running":
    case "restarting":
    case "paused":
      return deploykit.CONTAINER_RUNNING;
    case "created":
      return deploykit.CONTAINER_CREATED;
    case "dead":
      return deploykit.CONTAINER_FAILED;
    default:
      return deploykit.CONTAINER_STOPPED;
  }
}

/** Resolves null for ENOTFOUND; other errors propagate. */
export async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (deploykit.errorCode(err) === deploykit.ENOTFOUND) return null;
    throw err;
  }
}

/** Every item of a paged `find…s`. */
export async function pageAll<T>(find: (page: { offset: number; limit: number }) => Promise<deploykit.PageResult<T>>): Promise<T[]> {
  const out: T[] = [];
  for (let offset = 0; ; offset += deploykit.MAX_LIMIT) {
    const page = await find({ offset, limit: deploykit.MAX_LIMIT });
    out.push(...page.items);
    if (page.items.length < deploykit.MAX_LIMIT || out.length >= page.total) return out;
  }
}

/** A short reason for the deployment record: the domain message, or the error's own text. */
export function describe(err: unknown): string {
  if (deploykit.isDeployKitError(err)) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The deployment's own limits, with the admin's defaults where it sets none (when the pass read them). */
export function applyLimits(spec: deploykit.ContainerSpec, dep: deploykit.Deployment, defaults: LimitDefaults | null): void {
  if (defaults) {
    const lim = deploykit.effectiveLimits(dep.resources, defaults);
    spec.resources = { memory_mb: lim.memory_mb, cpus: lim.cpus, cpu_shares: lim.cpu_shares };
    spec.pids_limit = lim.pids_limit;
  } else if (dep.resources) spec.resources = dep.resources;
}
