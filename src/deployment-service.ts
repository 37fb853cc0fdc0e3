import {
  DEPLOYMENT_FAILED,
  DEPLOYMENT_PENDING,
  DEPLOYMENT_STARTING,
  type Deployment,
  type DeploymentCreate,
  type DeploymentFailure,
  type DeploymentFilter,
  type PreDeployResult,
} from "./deployment.ts";
import type { LogLine } from "./logs.ts";
import type { PageResult } from "./pagination.ts";
import type { Service } from "./service.ts";

// Its own file: a rollback answers with the service too, and deployment.ts (what a deployment is)
// must not import service.ts, which already imports it.

/**
 * DeploymentService stores deployments and moves them through their lifecycle. The reconciler is
 * the only caller of the `mark…` methods.
 */
export interface DeploymentService {
  /** Throws ENOTFOUND "Deployment not found.". */
  findDeploymentByID(id: string): Promise<Deployment>;
  /** Newest first. */
  findDeployments(filter: DeploymentFilter): Promise<PageResult<Deployment>>;
  /**
   * Inserts a pending deployment; cancels older pending/starting ones of the service; sets the service
   * `deploying` when it has no active deployment. `input.env_vars` is used as given (already resolved).
   * Throws EINVALID (fields), ENOTFOUND "Service not found.".
   */
  createDeployment(serviceID: string, input: DeploymentCreate): Promise<Deployment>;
  /** pending → starting (started_at set once); no-op otherwise. Throws ENOTFOUND. */
  markStarting(id: string): Promise<Deployment>;
  /** Every replica of a starting deployment runs: the readiness gate is judging it (phase health_check). Throws ENOTFOUND. */
  markHealthCheck(id: string): Promise<Deployment>;
  /**
   * Promotes in one transaction: healthy, previous active → superseded, service.active_deployment_id.
   * No-op when already healthy. Returns the previously active deployment id. Throws ENOTFOUND.
   */
  markHealthy(id: string, baselineRestartCount: number): Promise<{ deployment: Deployment; previous_active_id: string | null }>;
  /** Marks failed (log tail truncated to 10 KB); the service becomes failed when nothing healthy is left. Throws ENOTFOUND. */
  markFailed(id: string, failure: DeploymentFailure): Promise<Deployment>;
  /** Records the pre-deploy command's progress (the log truncated to 10 KB). Throws ENOTFOUND. */
  setPreDeploy(id: string, result: PreDeployResult): Promise<Deployment>;
  /** Increments the attempt counter and returns the new count. Throws ENOTFOUND. */
  recordAttempt(id: string, reason: string): Promise<number>;
  /**
   * Makes an earlier deployment serve again by creating a new pending deployment with its snapshot,
   * so the reconciler switches over without downtime. Throws ENOTFOUND, EINVALID
   * "Deployment does not belong to this service.".
   */
  rollback(serviceID: string, deploymentID: string): Promise<{ service: Service; deployment: Deployment }>;
  /**
   * Keeps a removed container's last lines with its deployment, merged in time order with what its
   * other replicas left, at most KEPT_LOG_LINES lines and KEPT_LOG_MAX_CHARS characters (the newest
   * win). Called by the reconciler at teardown. Throws ENOTFOUND "Deployment not found.".
   */
  keepDeploymentLogs(id: string, lines: LogLine[]): Promise<void>;
  /** The lines kept at teardown, oldest first; empty when none were. Throws ENOTFOUND "Deployment not found.". */
  findDeploymentLogs(id: string): Promise<LogLine[]>;
}

/**
 * What a rollback without a named deployment goes back to (`deploykit rollback`), from the service's
 * deployments newest first: the newest deployment that once served (healthy_at, not failed) other than
 * the one serving now, so it undoes the last rollout. While a rollout is still in flight (a pending or
 * starting deployment, as right after a Deploy or Redeploy) the one serving now is that target: the
 * rollout is what is undone (rolling back cancels it), not the deployment before. Null: nothing to go
 * back to.
 */
export function defaultRollbackTarget<T extends Pick<Deployment, "id" | "status" | "healthy_at">>(
  newestFirst: readonly T[],
  activeID: string | null,
): T | null {
  const rollingOut = newestFirst.some((d) => d.status === DEPLOYMENT_PENDING || d.status === DEPLOYMENT_STARTING);
  return newestFirst.find((d) => (rollingOut || d.id !== activeID) && d.healthy_at !== undefined && d.status !== DEPLOYMENT_FAILED) ?? null;
}
