import * as deploykit from "../index.ts";
import { Ledger } from "./readiness.ts";

/** The slices of the domain services the reconciler uses. */
export type ProjectReader = Pick<deploykit.ProjectService, "findProjectByID" | "findProjects">;

import {
  type Desired,
  describe,
  ensureProjectNetwork,
  type LimitDefaults,
  orNull,
  type PassContext,
  STOPPED_GRACE_MS,
} from "./pass-context.ts";

/**
 * The state of one service pass and the steps every stage shares (failing or retrying a deployment,
 * events, the network). The stages live beside it (pass-rollout, pass-oneoff, pass-gate,
 * pass-aliases) as functions of the pass; pass.ts runs them in order.
 */
export class PassBase {
  readonly ctx: PassContext;
  readonly id: string;
  readonly log: deploykit.Logger;
  readonly errors: unknown[] = [];
  again = false;
  service: deploykit.Service | null = null;
  project: deploykit.Project | null = null;
  deps: deploykit.Deployment[] = [];
  /** Kept containers by "deployment/replica". */
  readonly byKey = new Map<string, deploykit.RunningContainer>();
  /** Last status this pass knows the service to have (for old_status in events). */
  status: deploykit.ServiceStatus | null = null;
  /** A deployment was promoted this pass (the service row changed). */
  promoted = false;
  /** The admin's default limits as read at the start of this pass (none: only the deployment's own). */
  limitDefaults: LimitDefaults | null = null;
  /** Images this pass confirmed present (deployments whose image could be pulled). */
  readonly imageReady = new Set<string>();
  /** Replicas that exited for good under a `never`/`on-failure` policy: "deployment/replica" → exit code. */
  readonly finished = new Map<string, number>();

  constructor(ctx: PassContext, serviceID: string) {
    this.ctx = ctx;
    this.id = serviceID;
    this.log = ctx.logger.child({ service_id: serviceID });
  }

  /**
   * How long superseded containers run on after the service name and the proxy's route left them
   * (the service's drain_seconds, as applied now: it needs no new deployment).
   */
  drainMs(): number {
    return (this.service?.drain_seconds ?? deploykit.DEFAULT_DRAIN_SECONDS) * 1000;
  }

  /**
   * A service with a volume is rolled out stop-first: a volume is mounted by at most one container,
   * ever, so at most one deployment is desired at a time. That is the newest one that can start (its
   * image is there) or, when there is none or it failed, the serving one again on the same volume.
   */
  stopFirst(): boolean {
    return this.deps.some((d) => deploykit.rolloutStrategy(d) === deploykit.ROLLOUT_STOP_FIRST);
  }

  oneDeployment(desired: Map<string, Desired>): Map<string, Desired> {
    const candidates = [...new Set([...desired.values()].map((d) => d.dep))];
    const rolling = candidates
      .filter((d) => d.status === deploykit.DEPLOYMENT_PENDING || d.status === deploykit.DEPLOYMENT_STARTING)
      .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0))[0];
    const target =
      rolling ??
      candidates.find((d) => d.id === this.service?.active_deployment_id) ??
      candidates.find((d) => d.status === deploykit.DEPLOYMENT_HEALTHY);
    return target ? new Map([[Ledger.key(target.id, 0), { dep: target, replica: 0 }]]) : new Map();
  }

  /** Seconds a container of this service gets to stop: the service's setting, else the container's own. */
  graceSeconds(): number | undefined {
    return this.service?.stop_grace_seconds;
  }

  async dockerAtFault(err: unknown): Promise<boolean> {
    if (this.ctx.dockerUnsettled?.()) return true;
    if (deploykit.errorCode(err) !== deploykit.EUNAVAILABLE) return false;
    try {
      await this.ctx.runtime.ping();
      return false;
    } catch {
      return true;
    }
  }

  /** Counts a failed pull/create; at MAX_ATTEMPTS the deployment fails. */
  async attempt(dep: deploykit.Deployment, reason: string): Promise<void> {
    const count = await this.ctx.deployments.recordAttempt(dep.id, reason);
    if (count < deploykit.MAX_ATTEMPTS) {
      this.log.warn({ deployment_id: dep.id, attempt: count, reason }, "deployment attempt failed");
      return;
    }
    await this.markFailed(dep, { reason }, count);
  }

  async markFailed(dep: deploykit.Deployment, failure: deploykit.DeploymentFailure, attempts: number): Promise<void> {
    const failed = await this.ctx.deployments.markFailed(dep.id, failure);
    this.log.warn({ deployment_id: dep.id, reason: failure.reason }, "deployment failed");
    this.deps = this.deps.filter((d) => d.id !== dep.id);
    this.again = true;
    this.publishDeployment(deploykit.EVENT_DEPLOYMENT_FAILED, failed, { failure_reason: failure.reason, attempt_count: attempts });
    // markFailed may have failed the service; report it.
    const svc = await orNull(this.ctx.services.findServiceByID(this.id));
    if (svc && this.status !== null && svc.status !== this.status) {
      this.publishStatus(this.status, svc.status);
      this.status = svc.status;
    }
  }

  async deleteRow(row: deploykit.Container): Promise<void> {
    try {
      await this.ctx.containers.deleteContainer(row.id);
    } catch (err) {
      this.errors.push(err);
      return;
    }
    this.publishDeleted(this.project?.id ?? this.service?.project_id, row.id);
  }

  publishDeleted(projectID: string | undefined, containerID: string): void {
    if (!projectID) return;
    this.ctx.bus.publish(
      deploykit.newEvent(deploykit.EVENT_CONTAINER_DELETED, projectID, { service_id: this.id, container_id: containerID }),
    );
  }

  publishDeployment(
    type: typeof deploykit.EVENT_DEPLOYMENT_STARTING | typeof deploykit.EVENT_DEPLOYMENT_HEALTHY | typeof deploykit.EVENT_DEPLOYMENT_FAILED,
    dep: deploykit.Deployment,
    extra: { failure_reason?: string; attempt_count?: number } = {},
  ): void {
    const projectID = this.project?.id ?? this.service?.project_id;
    if (!projectID) return;
    this.ctx.bus.publish(deploykit.newEvent(type, projectID, { deployment_id: dep.id, service_id: this.id, status: dep.status, ...extra }));
  }

  publishStatus(old: deploykit.ServiceStatus, next: deploykit.ServiceStatus): void {
    const projectID = this.project?.id ?? this.service?.project_id;
    if (!projectID) return;
    this.ctx.bus.publish(
      deploykit.newEvent(deploykit.EVENT_SERVICE_STATUS_CHANGED, projectID, { service_id: this.id, old_status: old, new_status: next }),
    );
  }

  replaceDep(dep: deploykit.Deployment): void {
    this.deps = this.deps.map((d) => (d.id === dep.id ? dep : d));
  }
  async ensureNetwork(project: deploykit.Project): Promise<void> {
    await ensureProjectNetwork(this.ctx, project);
  }

  /**
   * Keeps the stopped container's last lines with its deployment before it goes (issue 15). Best
   * effort: a log that cannot be read must not keep a container from being removed.
   */
  async keepLogs(c: deploykit.RunningContainer): Promise<void> {
    const logs = this.ctx.logs;
    if (!logs || !c.deployment_id) return;
    try {
      const lines: deploykit.LogLine[] = [];
      await logs.history(c.docker_id, { tail: deploykit.KEPT_LOG_LINES }, (l) => {
        lines.push({ ...l, replica: c.replica_index });
        return undefined;
      });
      if (lines.length > 0) await this.ctx.deployments.keepDeploymentLogs(c.deployment_id, lines);
    } catch (err) {
      if (deploykit.errorCode(err) !== deploykit.ENOTFOUND)
        this.log.warn({ err: describe(err), container: c.name }, "could not keep the logs of a removed container");
    }
  }

  /** Whether a stopped desired container is to be replaced now (see teardown). */
  async replaceStopped(c: deploykit.RunningContainer): Promise<boolean> {
    if (this.ctx.dockerUnsettled?.()) return false;
    let finished = Number.NaN;
    try {
      const insp = await this.ctx.snapshot.inspect(c.docker_id);
      if (insp.finished_at) finished = Date.parse(insp.finished_at);
    } catch {
      // Gone or unreadable: the replacement path copes with both.
    }
    if (Number.isFinite(finished) && this.ctx.now() - finished < STOPPED_GRACE_MS) {
      this.again = true;
      return false;
    }
    return true;
  }
}
