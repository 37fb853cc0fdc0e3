import * as deploykit from "../index.ts";
import { driftReason } from "./drift.ts";
import { describeProbe, healthFailureReason, httpProbe, PROBE_REQUEST_TIMEOUT_MS, type Probe, probeURL } from "./healthcheck.ts";
import {
  aliasesWithout,
  BAD_OBSERVATIONS_TO_FAIL,
  FAILURE_LOG_LINES,
  Ledger,
  type ReplicaObservation,
  serviceAliases,
} from "./readiness.ts";
import { restartStale } from "./restart.ts";
import type { DockerSnapshot } from "./snapshot.ts";

/** The slices of the domain services the reconciler uses. */
export type ProjectReader = Pick<deploykit.ProjectService, "findProjectByID" | "findProjects">;
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

type Desired = { dep: deploykit.Deployment; replica: number };

/**
 * One level-triggered pass over a service: tear down what is not desired, create what is missing,
 * keep container rows true to Docker, run the readiness gate, then derive the service status.
 * Stages that depend on a Docker list that failed are skipped; the first error is thrown at the end
 * so the caller retries with backoff.
 */
export async function reconcileService(ctx: PassContext, serviceID: string): Promise<PassResult> {
  const pass = new ServicePass(ctx, serviceID);
  return pass.run();
}

class ServicePass {
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

  async run(): Promise<PassResult> {
    const { ctx } = this;
    this.service = await orNull(ctx.services.findServiceByID(this.id));
    this.project = this.service ? await orNull(ctx.projects.findProjectByID(this.service.project_id)) : null;
    this.status = this.service?.status ?? null;
    if (this.service && ctx.limitDefaults) this.limitDefaults = await ctx.limitDefaults();
    const pre = ctx.prefetch?.take(this.id);
    if (this.service) {
      const id = this.id;
      this.deps = pre
        ? [...pre.deps]
        : await pageAll((p) => ctx.deployments.findDeployments({ service_id: id, status: [...deploykit.IN_FLIGHT_STATUSES], ...p }));
      await this.holdForProviders();
    }
    const rows = pre ? [...pre.containers] : await pageAll((p) => ctx.containers.findContainers({ service_id: this.id, ...p }));

    let actual: deploykit.RunningContainer[] | null = null;
    try {
      const mine = await ctx.snapshot.containersOf(this.id);
      // One-off containers (pre-deploy, cron runs) have their own owners while the service exists;
      // a deleted service's go with the rest.
      actual = this.service ? mine.filter((c) => !c.labels[deploykit.LABEL_ROLE]) : mine;
    } catch (err) {
      // Unknown is not empty: without the list nothing is torn down, created or judged.
      this.errors.push(err);
    }

    const live = this.service !== null && this.project !== null && this.service.status !== deploykit.SERVICE_STOPPED;
    let desired: Map<string, Desired> | null = new Map();
    if (actual && live) {
      try {
        desired = await this.desired();
      } catch (err) {
        if (deploykit.errorCode(err) !== deploykit.EUNAVAILABLE) throw err;
        this.errors.push(err);
        desired = null;
      }
    }
    if (actual && desired) {
      await this.teardown(actual, desired, rows);
      if (live) await this.preDeploy();
      if (live) await this.promoteCron();
      if (live) await this.createMissing(desired);
      if (live && this.deps.length > 0) await this.gate();
      else ctx.ledger.clear(this.id);
      if (live) await this.ensureAliases();
      if (live && this.service) await this.restart(this.service);
      if (live) await this.updateStatus();
      if (ctx.forwarder || ctx.ingress) await this.publishRoutes(live);
    }
    if (this.service === null) {
      ctx.forwarder?.setServiceRoutes(this.id, []);
      await ctx.ingress?.setServiceUpstreams(this.id, []);
      ctx.ledger.clear(this.id);
      await this.removeVolumes();
    }
    if (
      this.deps.some((d) => (d.status === deploykit.DEPLOYMENT_PENDING && !awaitingBuild(d)) || d.status === deploykit.DEPLOYMENT_STARTING)
    )
      this.again = true;
    if (this.errors.length > 0) throw this.errors[0];
    return { again: this.again };
  }

  /**
   * Deploy order follows references: a pending deployment whose providers' deployments (made by the
   * same Deploy) are not serving yet is left out of this pass, so nothing of it starts; the serving
   * deployment keeps running meanwhile. The pass runs again soon.
   */
  async holdForProviders(): Promise<void> {
    const held = new Set<string>();
    for (const dep of this.deps) {
      if (dep.status !== deploykit.DEPLOYMENT_PENDING || !dep.wait_for) continue;
      const providers = await Promise.all(dep.wait_for.map((id) => orNull(this.ctx.deployments.findDeploymentByID(id))));
      if (deploykit.waitsForProviders(providers)) held.add(dep.id);
    }
    if (held.size === 0) return;
    this.deps = this.deps.filter((d) => !held.has(d.id));
    this.again = true;
  }

  /** Desired replicas of every in-flight deployment, minus those whose image is not available. */
  async desired(): Promise<Map<string, Desired>> {
    const desired = new Map<string, Desired>();
    const images = new Map<string, string | null>();
    for (const dep of [...this.deps]) {
      if (dep.status === deploykit.DEPLOYMENT_PENDING || dep.status === deploykit.DEPLOYMENT_STARTING) {
        // Its image is still being built (src/build): the builder moves it on, the serving one stays.
        if (awaitingBuild(dep)) continue;
        if (!images.has(dep.image)) {
          try {
            await this.ctx.runtime.ensureImage(dep.image);
            images.set(dep.image, null);
          } catch (err) {
            // Docker being down is not the image's fault: no attempt is counted and nothing is torn down.
            if (await this.dockerAtFault(err)) throw err;
            images.set(dep.image, describe(err));
          }
        }
        const failure = images.get(dep.image);
        if (failure) {
          await this.attempt(dep, reason("image pull failed", failure));
          this.again = true;
          continue;
        }
        this.imageReady.add(dep.id);
        // Nothing of a deployment runs before its pre-deploy command succeeded: the serving one stays.
        if (awaitingPreDeploy(dep)) continue;
      }
      for (let r = 0; r < deploykit.deploymentReplicas(dep); r++) desired.set(Ledger.key(dep.id, r), { dep, replica: r });
    }
    return this.stopFirst() ? this.oneDeployment(desired) : desired;
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

  /**
   * How long superseded containers run on after the service name and the proxy's route left them
   * (the service's drain_seconds, as applied now: it needs no new deployment).
   */
  drainMs(): number {
    return (this.service?.drain_seconds ?? deploykit.DEFAULT_DRAIN_SECONDS) * 1000;
  }

  /** Seconds a container of this service gets to stop: the service's setting, else the container's own. */
  graceSeconds(): number | undefined {
    return this.service?.stop_grace_seconds;
  }

  async teardown(actual: deploykit.RunningContainer[], desired: Map<string, Desired>, rows: deploykit.Container[]): Promise<void> {
    const rowsByDocker = new Map<string, deploykit.Container[]>();
    for (const row of rows) {
      const list = rowsByDocker.get(row.docker_container_id) ?? [];
      list.push(row);
      rowsByDocker.set(row.docker_container_id, list);
    }
    // A container DeployKit recorded is kept in preference to one it did not create (C04), a running duplicate to a stopped one.
    const recorded = (c: deploykit.RunningContainer) => Number(rowsByDocker.has(c.docker_id));
    const ordered = [...actual].sort((a, b) => recorded(b) - recorded(a) || Number(b.state === "running") - Number(a.state === "running"));
    for (const c of ordered) {
      const key = Ledger.key(c.deployment_id, c.replica_index);
      // Under the unless-stopped policy a container that exits by itself is restarted by Docker (and
      // the gate counts the restarts); one left exited or never started was stopped by someone else
      // (a dockerd shutdown, `docker stop`, a crash between create and start). That is not the
      // deployment's fault: it is replaced — once Docker is settled and the container has stayed
      // stopped past a grace period, so a restarting dockerd gets to restart its own containers and
      // nothing is removed while it shuts down.
      const want = desired.get(key);
      if (
        want &&
        !this.byKey.has(key) &&
        !(STOPPED_STATES.has(c.state) && !exitedForGood(want.dep, c.state) && (await this.replaceStopped(c))) &&
        !(await this.drifted(c, want, rowsByDocker.has(c.docker_id)))
      ) {
        this.byKey.set(key, c);
        continue;
      }
      // Superseded and just unnamed (withdrawAliases), or just out of the proxy's routes: left
      // running for the drain (drain_seconds), rows kept; the pass looks again after the fast tick.
      const unnamedAt = this.ctx.ledger.withdrawn.get(c.docker_id);
      const draining =
        !want &&
        c.state === "running" &&
        ((unnamedAt !== undefined && this.ctx.now() - unnamedAt < this.drainMs()) ||
          (this.ctx.ingress !== undefined &&
            !this.stopFirst() &&
            desired.size > 0 &&
            this.ctx.ingress.drainLeftMs(this.id, this.drainMs() / 1000) > 0));
      if (draining) {
        rowsByDocker.delete(c.docker_id);
        this.again = true;
        continue;
      }
      this.ctx.ledger.withdrawn.delete(c.docker_id);
      try {
        if (this.stopFirst() && desired.size > 0 && !desired.has(key))
          this.log.info(
            { container: c.name, grace_seconds: this.graceSeconds() },
            "stopping the old container first because this service has a volume",
          );
        // Its last lines are kept once it has stopped, so what it printed while shutting down is in them.
        await this.ctx.runtime.removeContainer(c.docker_id, this.graceSeconds(), this.ctx.logs ? () => this.keepLogs(c) : undefined);
        this.ctx.faultPoint?.("reconcile:after-container-remove");
        this.ctx.snapshot.removeContainer(c.docker_id);
        this.log.info({ container: c.name, docker_id: c.docker_id }, "removed container");
      } catch (err) {
        this.errors.push(err);
        continue;
      }
      const cRows = rowsByDocker.get(c.docker_id) ?? [];
      rowsByDocker.delete(c.docker_id);
      for (const row of cRows) await this.deleteRow(row);
      if (cRows.length === 0) this.publishDeleted(c.project_id, c.docker_id);
    }
    // Rows follow Docker: adopted containers get one, state changes are copied, vanished ones go.
    for (const c of this.byKey.values()) {
      const want = rowStatus(c.state);
      const cRows = rowsByDocker.get(c.docker_id);
      rowsByDocker.delete(c.docker_id);
      try {
        if (!cRows) {
          await this.ctx.containers.createContainer({
            service_id: this.id,
            deployment_id: c.deployment_id,
            docker_container_id: c.docker_id,
            replica_index: c.replica_index,
            status: want,
          });
        } else {
          for (const row of cRows) if (row.status !== want) await this.ctx.containers.updateContainerStatus(row.id, want);
        }
      } catch (err) {
        if (deploykit.errorCode(err) !== deploykit.ENOTFOUND) this.errors.push(err);
      }
    }
    for (const list of rowsByDocker.values()) for (const row of list) await this.deleteRow(row);
  }

  /** Out-of-band drift and forged containers are replaced, not kept (src/reconciler/drift.ts). */
  async drifted(c: deploykit.RunningContainer, want: Desired, recorded: boolean): Promise<boolean> {
    const network = deploykit.projectNetworkName(this.project?.slug ?? "");
    const why = await driftReason(this.ctx.runtime, c, { image: want.dep.image, env: want.dep.env_vars, network }, recorded);
    if (why !== null)
      this.log.warn({ container: c.name, docker_id: c.docker_id, reason: why }, "replacing a container that drifted from its deployment");
    return why !== null;
  }

  async createMissing(desired: Map<string, Desired>): Promise<void> {
    const missing = [...desired.entries()].filter(([k]) => !this.byKey.has(k));
    if (missing.length === 0) return;
    const project = this.project!;
    const service = this.service!;
    if (this.stopFirst() && !(await this.volumeFree())) return;
    try {
      await this.ensureNetwork(project);
      this.ctx.faultPoint?.("reconcile:after-network");
    } catch (err) {
      this.errors.push(err);
      return;
    }
    const byDep = new Map<string, { dep: deploykit.Deployment; replicas: number[] }>();
    for (const [, d] of missing) {
      const entry = byDep.get(d.dep.id) ?? { dep: d.dep, replicas: [] };
      entry.replicas.push(d.replica);
      byDep.set(d.dep.id, entry);
    }
    for (let { dep, replicas } of byDep.values()) {
      let volumes: ContainerVolume[];
      try {
        volumes = await this.ensureVolumes(project, service, dep);
      } catch (err) {
        this.errors.push(err);
        continue;
      }
      if (dep.status === deploykit.DEPLOYMENT_PENDING) {
        dep = await this.ctx.deployments.markStarting(dep.id);
        this.ctx.faultPoint?.("reconcile:after-mark-starting");
        this.replaceDep(dep);
        this.publishDeployment(deploykit.EVENT_DEPLOYMENT_STARTING, dep);
      }
      for (const replica of replicas) {
        const spec = this.spec(project, service, dep, replica, volumes);
        let dockerID: string;
        try {
          dockerID = await this.ctx.runtime.runContainer(spec);
          this.ctx.faultPoint?.("reconcile:after-container-start");
        } catch (err) {
          // A live deployment is never failed because one of its replicas could not be replaced (a
          // dockerd shutting down answers such creates with odd 500s): the pass fails and is retried
          // with backoff, and the service shows degraded meanwhile.
          if (dep.status === deploykit.DEPLOYMENT_HEALTHY || (await this.dockerAtFault(err))) this.errors.push(err);
          else await this.attempt(dep, reason("container start failed", err));
          this.again = true;
          break;
        }
        const rc: deploykit.RunningContainer = {
          docker_id: dockerID,
          name: spec.name,
          project_id: project.id,
          service_id: service.id,
          deployment_id: dep.id,
          replica_index: replica,
          state: "running",
          labels: spec.labels,
        };
        this.ctx.snapshot.addContainer(rc);
        this.byKey.set(Ledger.key(dep.id, replica), rc);
        this.again = true;
        this.log.info({ container: spec.name, deployment_id: dep.id }, "created container");
        try {
          const row = await this.ctx.containers.createContainer({
            service_id: service.id,
            deployment_id: dep.id,
            docker_container_id: dockerID,
            replica_index: replica,
            status: deploykit.CONTAINER_RUNNING,
          });
          this.ctx.faultPoint?.("reconcile:after-container-row");
          this.ctx.bus.publish(
            deploykit.newEvent(deploykit.EVENT_CONTAINER_CREATED, project.id, {
              service_id: service.id,
              container_id: row.id,
              status: row.status,
            }),
          );
        } catch (err) {
          this.errors.push(err);
        }
      }
    }
  }

  /**
   * Stop-first's guard: asks Docker afresh (not the cached snapshot) whether any container of this
   * service still exists, in any state. One that does, or a list that fails, stops the pass for this
   * service with the reason; it is retried with backoff rather than raced.
   */
  async volumeFree(): Promise<boolean> {
    let others: deploykit.RunningContainer[];
    try {
      others = (await this.ctx.runtime.listContainers()).filter((c) => c.service_id === this.id && !c.labels[deploykit.LABEL_ROLE]);
    } catch (err) {
      this.errors.push(new Error(`not starting a container: could not confirm the volume is free (${describe(err)})`));
      return false;
    }
    this.ctx.faultPoint?.("reconcile:volume-free");
    if (others.length === 0) return true;
    const names = others.map((c) => `${c.name} (${c.state})`).join(", ");
    this.log.warn({ containers: names }, "not starting a container while another container of this volume service exists");
    this.errors.push(new Error(`waiting for ${names} to be removed: this service has a volume, which one container mounts at a time`));
    this.again = true;
    return false;
  }

  spec(
    project: deploykit.Project,
    service: deploykit.Service,
    dep: deploykit.Deployment,
    replica: number,
    volumes: ContainerVolume[],
  ): deploykit.ContainerSpec {
    const spec: deploykit.ContainerSpec = {
      name: deploykit.containerName(project.slug, service.name, replica, dep.id),
      image: dep.image,
      network: deploykit.projectNetworkName(project.slug),
      // The service name is attached at promotion (attachAliases), not here: see ContainerSpec.aliases.
      // Stop-first is the exception: the old container is already gone, so the name has nowhere
      // else to point, and withholding it would only lengthen the outage by the readiness wait.
      aliases: this.stopFirst() ? serviceAliases(service, this.ctx.ingress !== undefined) : [],
      env: { ...dep.env_vars },
      // With the forwarder, TCP host ports are published by the daemon, not bound by the container.
      ports: (dep.ports ?? []).map((p) =>
        this.ctx.forwarder && p.protocol !== "udp" ? { container_port: p.container_port, protocol: "tcp" as const } : p,
      ),
      volumes,
      labels: {
        ...deploykit.instanceLabels(this.ctx.instanceID),
        [deploykit.LABEL_PROJECT_ID]: project.id,
        [deploykit.LABEL_SERVICE_ID]: service.id,
        [deploykit.LABEL_DEPLOYMENT_ID]: dep.id,
        [deploykit.LABEL_REPLICA_INDEX]: String(replica),
      },
    };
    applyLimits(spec, dep, this.limitDefaults);
    spec.stop_timeout = dep.stop_grace_seconds ?? deploykit.DEFAULT_STOP_GRACE_SECONDS;
    if (dep.start_command && dep.start_command.length > 0) spec.cmd = [...dep.start_command];
    if (dep.entrypoint && dep.entrypoint.length > 0) spec.entrypoint = [...dep.entrypoint];
    spec.restart_policy = dep.restart_policy ?? deploykit.RESTART_ALWAYS;
    spec.restart_max_retries = dep.restart_max_retries ?? deploykit.DEFAULT_RESTART_MAX_RETRIES;
    return spec;
  }

  /**
   * The pre-deploy step (issue 16), level-triggered and crash-safe: Docker is the record. The newest
   * pending deployment with a pre-deploy command gets one labelled one-off container; a pass finds it
   * again (after a daemon restart too) rather than starting a second. Its exit decides: 0 lets the
   * rollout begin, anything else (or the timeout) fails the deployment while the old one serves on.
   * The outcome is stored before the container is removed, so a crash in between never reruns it.
   */
  async preDeploy(): Promise<void> {
    const { ctx } = this;
    const waiting = this.deps.filter((d) => awaitingPreDeploy(d) && this.imageReady.has(d.id));
    let list: deploykit.RunningContainer[];
    try {
      if (waiting.length === 0) {
        // Cheap path: only the snapshot, for leftovers of finished or cancelled deployments.
        list = (await ctx.snapshot.containersOf(this.id)).filter((c) => c.labels[deploykit.LABEL_ROLE] === deploykit.ROLE_PRE_DEPLOY);
      } else {
        // Fresh from Docker: a cached list must never make the pass start a second one.
        list = (await ctx.runtime.listContainers()).filter(
          (c) => c.service_id === this.id && c.labels[deploykit.LABEL_ROLE] === deploykit.ROLE_PRE_DEPLOY,
        );
      }
    } catch (err) {
      this.errors.push(err);
      return;
    }
    for (const c of list) {
      if (waiting.some((d) => d.id === c.deployment_id)) continue;
      await this.removeOneOff(c, "removed the container of a pre-deploy command that is no longer needed");
    }
    for (const dep of waiting) {
      this.again = true;
      const c = list.find((x) => x.deployment_id === dep.id);
      try {
        if (!c) await this.startPreDeploy(dep);
        else await this.watchPreDeploy(dep, c);
      } catch (err) {
        this.errors.push(err);
      }
    }
  }

  async startPreDeploy(dep: deploykit.Deployment): Promise<void> {
    const project = this.project!;
    const service = this.service!;
    if (dep.pre_deploy_status === deploykit.PRE_DEPLOY_RUNNING) {
      // Its container vanished (removed by hand, or Docker lost it): it may have half run, so it is
      // not started again behind the user's back.
      await this.markFailed(dep, { reason: "pre-deploy command: its container disappeared before it finished" }, dep.attempt_count);
      return;
    }
    await this.ensureNetwork(project);
    const spec: deploykit.ContainerSpec = {
      name: `dk-${project.slug}-${service.name}-predeploy-${dep.id.slice(0, 8)}`,
      image: dep.image,
      network: deploykit.projectNetworkName(project.slug),
      // No alias, ports or volumes: nothing routes to it and it never shares a volume (Railway's rule).
      aliases: [],
      env: { ...dep.env_vars },
      ports: [],
      volumes: [],
      labels: {
        ...deploykit.instanceLabels(this.ctx.instanceID),
        [deploykit.LABEL_PROJECT_ID]: project.id,
        [deploykit.LABEL_SERVICE_ID]: service.id,
        [deploykit.LABEL_DEPLOYMENT_ID]: dep.id,
        [deploykit.LABEL_ROLE]: deploykit.ROLE_PRE_DEPLOY,
      },
      cmd: [...(dep.pre_deploy_command ?? [])],
      restart_policy: deploykit.RESTART_NEVER,
      stop_timeout: 10,
    };
    applyLimits(spec, dep, this.limitDefaults);
    if (dep.entrypoint && dep.entrypoint.length > 0) spec.entrypoint = [...dep.entrypoint];
    let dockerID: string;
    try {
      dockerID = await this.ctx.runtime.runContainer(spec);
    } catch (err) {
      if (await this.dockerAtFault(err)) throw err;
      await this.attempt(dep, reason("pre-deploy container start failed", err));
      return;
    }
    this.ctx.faultPoint?.("reconcile:after-pre-deploy-start");
    this.log.info({ container: spec.name, docker_id: dockerID, deployment_id: dep.id }, "started the pre-deploy command");
    this.replaceDep(await this.ctx.deployments.setPreDeploy(dep.id, { status: deploykit.PRE_DEPLOY_RUNNING }));
  }

  async watchPreDeploy(dep: deploykit.Deployment, c: deploykit.RunningContainer): Promise<void> {
    const { ctx } = this;
    let insp: deploykit.ContainerInspection;
    try {
      insp = await ctx.runtime.inspectContainer(c.docker_id);
    } catch (err) {
      if (deploykit.errorCode(err) === deploykit.ENOTFOUND) return;
      throw err;
    }
    if (insp.state === "created") {
      // Created but never started (a crash in between): it never ran, so it is made afresh.
      await this.removeOneOff(c, "removed a pre-deploy container that never started");
      return;
    }
    if (insp.state !== "exited" && insp.state !== "dead") {
      if (dep.pre_deploy_status !== deploykit.PRE_DEPLOY_RUNNING)
        this.replaceDep(await ctx.deployments.setPreDeploy(dep.id, { status: deploykit.PRE_DEPLOY_RUNNING }));
      const started = insp.started_at ? Date.parse(insp.started_at) : Number.NaN;
      const limitMs = (this.ctx.preDeployTimeoutSeconds ?? deploykit.PRE_DEPLOY_TIMEOUT_SECONDS) * 1000;
      if (!Number.isFinite(started) || ctx.now() - started < limitMs) return;
      const log = await this.oneOffLog(c);
      const secs = limitMs / 1000;
      await ctx.deployments.setPreDeploy(dep.id, { status: deploykit.PRE_DEPLOY_FAILED, log });
      await this.markFailed(dep, { reason: `pre-deploy command timed out after ${secs} s`, log_tail: log }, dep.attempt_count);
      await this.removeOneOff(c, "stopped a pre-deploy command at its timeout");
      return;
    }
    const log = await this.oneOffLog(c);
    const code = insp.exit_code ?? -1;
    if (code === 0) {
      this.replaceDep(await ctx.deployments.setPreDeploy(dep.id, { status: deploykit.PRE_DEPLOY_SUCCEEDED, exit_code: 0, log }));
      this.log.info({ deployment_id: dep.id }, "pre-deploy command succeeded");
    } else {
      await ctx.deployments.setPreDeploy(dep.id, { status: deploykit.PRE_DEPLOY_FAILED, exit_code: code, log });
      await this.markFailed(
        dep,
        { reason: `pre-deploy command exited with code ${code}`, exit_code: code, log_tail: log },
        dep.attempt_count,
      );
    }
    ctx.faultPoint?.("reconcile:after-pre-deploy-result");
    await this.removeOneOff(c, "removed the finished pre-deploy container");
  }

  async oneOffLog(c: deploykit.RunningContainer): Promise<string> {
    try {
      return deploykit.truncateLogTail(await this.ctx.runtime.logTail(c.docker_id, 1000));
    } catch (err) {
      this.log.warn({ err: describe(err) }, "could not read the log of a one-off container");
      return "";
    }
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

  async removeOneOff(c: deploykit.RunningContainer, what: string): Promise<void> {
    try {
      await this.ctx.runtime.removeContainer(c.docker_id, 0);
      this.ctx.snapshot.removeContainer(c.docker_id);
      this.log.info({ container: c.name, docker_id: c.docker_id }, what);
    } catch (err) {
      this.errors.push(err);
    }
  }

  /**
   * A cron deployment runs no long-lived container: once its image is there and its pre-deploy
   * command (if any) succeeded it becomes the serving deployment at once, and the scheduler runs it
   * at each tick.
   */
  async promoteCron(): Promise<void> {
    const { ctx } = this;
    const ready = this.deps.filter(
      (d) =>
        d.cron_schedule &&
        (d.status === deploykit.DEPLOYMENT_PENDING || d.status === deploykit.DEPLOYMENT_STARTING) &&
        this.imageReady.has(d.id) &&
        !awaitingPreDeploy(d),
    );
    // Only the newest: older ones in flight were cancelled when it was created.
    const dep = ready.at(-1);
    if (!dep) return;
    try {
      // The scheduler's runs join the project network; it exists before anything runs.
      await this.ensureNetwork(this.project!);
      if (dep.status === deploykit.DEPLOYMENT_PENDING) {
        const started = await ctx.deployments.markStarting(dep.id);
        this.replaceDep(started);
        this.publishDeployment(deploykit.EVENT_DEPLOYMENT_STARTING, started);
      }
      const { deployment } = await ctx.deployments.markHealthy(dep.id, 0);
      this.replaceDep(deployment);
      this.promoted = true;
      this.publishDeployment(deploykit.EVENT_DEPLOYMENT_HEALTHY, deployment);
      this.log.info({ deployment_id: dep.id }, "cron deployment serving");
      this.deps = this.deps.filter((d) => d.id === deployment.id || d.status !== deploykit.DEPLOYMENT_HEALTHY);
      this.again = true;
    } catch (err) {
      this.errors.push(err);
    }
  }

  /**
   * Routes the service's published TCP ports to the containers that serve now: the active
   * deployment's running replicas, or before the first promotion the newest starting one's. Switching
   * at promotion, before the old containers are torn down, is what keeps a public port answering.
   */
  async publishRoutes(live: boolean): Promise<void> {
    const { ctx } = this;
    // updateStatus ran before this whenever the service is live, so a promotion is already read back.
    const svc = this.service;
    const withdraw = async () => {
      ctx.forwarder?.setServiceRoutes(this.id, []);
      await ctx.ingress?.setServiceUpstreams(this.id, []);
    };
    if (!live || !svc || !this.project) return withdraw();
    const active = this.deps.find((d) => d.id === svc.active_deployment_id && d.status !== deploykit.DEPLOYMENT_FAILED);
    const starting = this.deps.filter((d) => d.status === deploykit.DEPLOYMENT_STARTING).at(-1);
    // Stop-first removed the active deployment's container before the new one started: route to that.
    const activeLive = active && [...this.byKey.values()].some((c) => c.deployment_id === active.id && !STOPPED_STATES.has(c.state));
    const serving = active && (activeLive || !starting || !this.stopFirst()) ? active : starting;
    if (!serving) return withdraw();
    const published = (serving.ports ?? []).filter((p) => (p.host_port ?? 0) > 0 && p.protocol !== "udp");
    if (published.length === 0 && !ctx.ingress) return withdraw();
    const network = deploykit.projectNetworkName(this.project.slug);
    const hosts: string[] = [];
    for (let r = 0; r < deploykit.deploymentReplicas(serving); r++) {
      const c = this.byKey.get(Ledger.key(serving.id, r));
      if (!c || c.state === "exited" || c.state === "dead") continue;
      let ip = c.ip_addresses?.[network];
      if (!ip) ip = (await ctx.snapshot.inspect(c.docker_id).catch(() => null))?.ip_addresses?.[network];
      if (ip) hosts.push(ip);
    }
    ctx.forwarder?.setServiceRoutes(
      this.id,
      published.map((p) => ({ host_port: p.host_port as number, targets: hosts.map((host) => ({ host, port: p.container_port })) })),
    );
    // The proxy's routes switch (and the reload is awaited) before the next pass stops the old containers.
    await ctx.ingress?.setServiceUpstreams(this.id, hosts);
  }

  async ensureNetwork(project: deploykit.Project): Promise<void> {
    await ensureProjectNetwork(this.ctx, project);
  }

  /**
   * The Docker volume of each of the deployment's volumes. A volume is found by its labels first, so
   * a renamed service keeps mounting the volume created under its old name.
   */
  async ensureVolumes(project: deploykit.Project, service: deploykit.Service, dep: deploykit.Deployment): Promise<ContainerVolume[]> {
    if (!dep.volumes || dep.volumes.length === 0) return [];
    const existing = await this.ctx.snapshot.volumes();
    const out: ContainerVolume[] = [];
    for (const vol of dep.volumes) {
      const found = existing.find(
        (v) => v.labels[deploykit.LABEL_SERVICE_ID] === service.id && v.labels[deploykit.LABEL_VOLUME_NAME] === vol.name,
      );
      if (found) {
        out.push({ volume: found.name, mount_path: vol.mount_path });
        continue;
      }
      const name = deploykit.volumeName(project.slug, service.id, vol.name);
      const labels = {
        ...deploykit.instanceLabels(this.ctx.instanceID),
        [deploykit.LABEL_PROJECT_ID]: project.id,
        [deploykit.LABEL_SERVICE_ID]: service.id,
        [deploykit.LABEL_VOLUME_NAME]: vol.name,
      };
      await this.ctx.runtime.ensureVolume(name, labels);
      this.ctx.snapshot.addVolume({ name, labels });
      out.push({ volume: name, mount_path: vol.mount_path });
    }
    return out;
  }

  /** The Restart action's step (see restart.ts); a failure is retried with backoff like any other. */
  async restart(service: deploykit.Service): Promise<void> {
    try {
      const { ctx } = this;
      const busy = await restartStale({
        service,
        deps: this.deps,
        byKey: this.byKey,
        runtime: ctx.runtime,
        network: deploykit.projectNetworkName(this.project?.slug ?? ""),
        proxy: ctx.ingress !== undefined,
        snapshot: ctx.snapshot,
        ledger: ctx.ledger,
        now: ctx.now(),
        stableWindowMs: ctx.stableWindowMs,
        logger: this.log,
      });
      if (busy) this.again = true;
    } catch (err) {
      this.errors.push(err);
    }
  }

  /** Readiness gate (original §7.2 step 4): promote, fail, or flag a live crash-loop. */
  async gate(): Promise<void> {
    const { ctx } = this;
    const keep = new Set<string>();
    const now = ctx.now();
    for (const dep of [...this.deps]) {
      if (dep.status !== deploykit.DEPLOYMENT_STARTING && dep.status !== deploykit.DEPLOYMENT_HEALTHY) continue;
      // A cron deployment has no replica to judge: promoteCron decides it.
      if (dep.cron_schedule) continue;
      const n = deploykit.deploymentReplicas(dep);
      const seen: { o: ReplicaObservation; c: deploykit.RunningContainer }[] = [];
      for (let r = 0; r < n; r++) {
        const key = Ledger.key(dep.id, r);
        const c = this.byKey.get(key);
        if (!c) continue;
        let insp: deploykit.ContainerInspection;
        try {
          insp = await ctx.snapshot.inspect(c.docker_id);
        } catch (err) {
          if (deploykit.errorCode(err) === deploykit.ENOTFOUND) {
            // Removed behind our back: forget it so the next pass recreates it.
            ctx.snapshot.removeContainer(c.docker_id);
            this.byKey.delete(key);
            this.again = true;
          } else this.errors.push(err);
          continue;
        }
        keep.add(key);
        // Exited for good under never/on-failure: finished, neither restarting nor a crash loop.
        if (exitedForGood(dep, insp.state)) {
          this.finished.set(key, insp.exit_code ?? -1);
          continue;
        }
        // Stopped by someone else, waiting to be replaced (see teardown): neither ready nor bad.
        if (STOPPED_STATES.has(insp.state)) {
          this.again = true;
          continue;
        }
        seen.push({ o: ctx.ledger.observe(this.id, dep, r, c.docker_id, insp, now), c });
      }
      if (dep.status === deploykit.DEPLOYMENT_STARTING) {
        // No restart is coming for a replica that exited non-zero under never/on-failure: that fails
        // the rollout at once. One that exited 0 did its job (a one-shot) and counts as ready.
        let done = 0;
        let gaveUp: { r: number; code: number } | null = null;
        for (let r = 0; r < n; r++) {
          const code = this.finished.get(Ledger.key(dep.id, r));
          if (code === undefined) continue;
          if (code === 0) done++;
          else gaveUp ??= { r, code };
        }
        if (gaveUp) {
          const c = this.byKey.get(Ledger.key(dep.id, gaveUp.r))!;
          const o = { reason: `container exited with code ${gaveUp.code} (restart policy ${dep.restart_policy})`, exit_code: gaveUp.code };
          await this.failCrashLoop(dep, o as ReplicaObservation, c);
          for (let r = 0; r < n; r++) keep.delete(Ledger.key(dep.id, r));
          continue;
        }
        const failing = seen.find((s) => s.o.bad >= BAD_OBSERVATIONS_TO_FAIL);
        if (failing) {
          await this.failCrashLoop(dep, failing.o, failing.c);
          for (let r = 0; r < n; r++) keep.delete(Ledger.key(dep.id, r));
          continue;
        }
        // Replicas that exited 0 under never/on-failure (one-shots) are done; the others must be ready.
        if (seen.length + done !== n) continue;
        if (dep.phase === deploykit.PHASE_STARTING) this.replaceDep(await ctx.deployments.markHealthCheck(dep.id));
        let ready: boolean;
        if (dep.healthcheck_path) {
          const verdict = await this.healthCheck(dep, dep.healthcheck_path, seen, now);
          if (verdict === "failed") {
            for (let r = 0; r < n; r++) keep.delete(Ledger.key(dep.id, r));
            continue;
          }
          ready = verdict === "ready";
        } else ready = seen.every((s) => Ledger.ready(s.o, now, ctx.stableWindowMs));
        // Ready containers answer to the service's name before the deployment is promoted, so the
        // name moves to them before the old containers get their stop signal (next pass).
        if (ready && !(await this.attachAliases(seen.map((s) => s.c)))) {
          this.again = true;
          continue;
        }
        if (ready) {
          const baseline = Math.max(0, ...seen.map((s) => s.o.max_restart_count));
          ctx.faultPoint?.("reconcile:before-promote");
          const { deployment } = await ctx.deployments.markHealthy(dep.id, baseline);
          ctx.faultPoint?.("reconcile:after-promote");
          this.replaceDep(deployment);
          this.promoted = true;
          this.publishDeployment(deploykit.EVENT_DEPLOYMENT_HEALTHY, deployment);
          this.log.info({ deployment_id: dep.id }, "deployment healthy");
          // The superseded deployment leaves the in-flight set: its containers go next pass.
          this.deps = this.deps.filter((d) => d.id === deployment.id || d.status !== deploykit.DEPLOYMENT_HEALTHY);
          await this.withdrawAliases(deployment.id);
          this.again = true;
        }
        continue;
      }
      for (const { o } of seen) {
        if (o.bad >= BAD_OBSERVATIONS_TO_FAIL) {
          o.crash_looping = true;
          o.bad = 0;
          this.log.warn({ deployment_id: dep.id, reason: o.reason }, "healthy deployment is crash-looping");
        } else if (Ledger.ready(o, now, ctx.stableWindowMs)) o.crash_looping = false;
        if (o.bad > 0 || o.crash_looping) this.again = true;
      }
    }
    ctx.ledger.retain(this.id, keep);
  }

  /**
   * The HTTP health check of a starting deployment (issue 12): replaces the stable window. Each
   * running replica is probed until one answer is 2xx/3xx; the deployment fails when a replica has
   * not answered so within the timeout, with the last status or error in the reason.
   */
  async healthCheck(
    dep: deploykit.Deployment,
    path: string,
    seen: { o: ReplicaObservation; c: deploykit.RunningContainer }[],
    now: number,
  ): Promise<"ready" | "waiting" | "failed"> {
    const { ctx } = this;
    this.again = true;
    // The first TCP container port (a UDP one cannot answer HTTP).
    const port = dep.ports?.find((p) => p.protocol !== "udp")?.container_port;
    if (port === undefined) {
      await this.markFailed(
        dep,
        { reason: `health check failed: the path ${path} is set but the service has no TCP container port to probe` },
        dep.attempt_count,
      );
      return "failed";
    }
    const timeoutMs = (dep.healthcheck_timeout_seconds ?? deploykit.DEFAULT_HEALTHCHECK_TIMEOUT_SECONDS) * 1000;
    const network = deploykit.projectNetworkName(this.project?.slug ?? "");
    const probe = ctx.probe ?? httpProbe;
    await Promise.all(
      seen.map(async ({ o }) => {
        if (o.bad > 0 || o.running_since === undefined) return;
        if (!o.health) o.health = { since: now, ok: false, probes: 0 };
        const h = o.health;
        // A restart since the last healthy answer has to answer again.
        if (h.ok && h.started !== o.running_since) h.ok = false;
        if (h.ok) return;
        const ip = o.inspection?.ip_addresses?.[network];
        if (!ip) {
          h.last = `the container has no address on the network ${network}`;
          return;
        }
        const r = await probe(probeURL(ip, port, path), PROBE_REQUEST_TIMEOUT_MS);
        h.probes++;
        if (r.ok) {
          h.ok = true;
          h.started = o.running_since;
          this.log.info({ deployment_id: dep.id, path, status: r.status }, "health check passed");
        } else h.last = describeProbe(r);
      }),
    );
    if (seen.every((s) => s.o.bad === 0 && s.o.running_since !== undefined && s.o.health?.ok)) return "ready";
    const late = seen.find((s) => s.o.health && !s.o.health.ok && ctx.now() - s.o.health.since >= timeoutMs);
    if (!late) return "waiting";
    const reason = healthFailureReason(path, port, timeoutMs / 1000, late.o.health);
    let logTail = "";
    try {
      logTail = await ctx.runtime.logTail(late.c.docker_id, FAILURE_LOG_LINES);
    } catch (err) {
      this.log.warn({ err: describe(err) }, "could not read the log tail of a failed container");
    }
    await this.markFailed(dep, { reason, log_tail: logTail }, dep.attempt_count);
    return "failed";
  }

  /**
   * Gives each container the service's name on the project network unless it already has it.
   * False (with the error recorded) when Docker refused: the caller does not promote then.
   */
  async attachAliases(containers: deploykit.RunningContainer[]): Promise<boolean> {
    const { ctx } = this;
    const svc = this.service;
    if (!svc || !this.project) return false;
    const network = deploykit.projectNetworkName(this.project.slug);
    const names = serviceAliases(svc, ctx.ingress !== undefined);
    for (const c of containers) {
      try {
        const insp = await ctx.snapshot.inspect(c.docker_id);
        const have = insp.aliases?.[network] ?? [];
        if (names.every((n) => have.includes(n))) continue;
        // Names it already answers to stay (after a rename, clients not yet redeployed still use the
        // old one); Docker adds the short container id by itself.
        const keep = aliasesWithout(have, names, c.docker_id);
        await ctx.runtime.setNetworkAliases(c.docker_id, network, [...keep, ...names]);
        ctx.faultPoint?.("reconcile:after-alias");
        // The address may change with the new endpoint: later stages (routes) read it afresh.
        ctx.snapshot.forgetInspection(c.docker_id);
        const fresh = await ctx.snapshot.inspect(c.docker_id);
        if (fresh.ip_addresses) c.ip_addresses = { ...fresh.ip_addresses };
        this.log.info({ container: c.name, network, alias: svc.name }, "container answers to the service name");
      } catch (err) {
        if (deploykit.errorCode(err) === deploykit.ENOTFOUND) this.again = true;
        else this.errors.push(err);
        return false;
      }
    }
    return true;
  }

  /**
   * At promotion the superseded containers stop answering to the service name, one pass before
   * they get their stop signal: a client that resolves the name meanwhile reaches a new container,
   * not one that is shutting down. Best effort: they are removed next pass either way.
   */
  async withdrawAliases(promotedID: string): Promise<void> {
    const { ctx } = this;
    const svc = this.service;
    if (!svc || !this.project) return;
    const network = deploykit.projectNetworkName(this.project.slug);
    const names = serviceAliases(svc, ctx.ingress !== undefined);
    for (const c of this.byKey.values()) {
      if (c.deployment_id === promotedID || c.state !== "running") continue;
      try {
        const have = (await ctx.snapshot.inspect(c.docker_id)).aliases?.[network] ?? [];
        if (!names.some((n) => have.includes(n))) continue;
        const keep = aliasesWithout(have, names, c.docker_id);
        await ctx.runtime.setNetworkAliases(c.docker_id, network, keep);
        ctx.ledger.withdrawn.set(c.docker_id, ctx.now());
        ctx.snapshot.forgetInspection(c.docker_id);
        this.log.info({ container: c.name, network, alias: svc.name }, "superseded container no longer answers to the service name");
      } catch (err) {
        this.log.warn({ container: c.name, err: describe(err) }, "could not withdraw the service name from a superseded container");
      }
    }
  }

  /**
   * The serving deployment's running containers carry the service name (after a daemon restart, a
   * promotion whose alias step was cut short, or a rename). Only containers of a healthy
   * deployment: a starting one gets the name when it passes the gate.
   */
  async ensureAliases(): Promise<void> {
    const { ctx } = this;
    const healthy = new Set(this.deps.filter((d) => d.status === deploykit.DEPLOYMENT_HEALTHY).map((d) => d.id));
    const entries = ctx.ledger.forService(this.id);
    const serving = [...this.byKey.values()].filter((c) => {
      if (!healthy.has(c.deployment_id) || c.state !== "running") return false;
      const unnamed = ctx.ledger.restarting.get(c.docker_id);
      if (unnamed === undefined) return true;
      // Taken out for Restart: named again only once restarted and back through the stable window.
      if (unnamed !== Number.POSITIVE_INFINITY) return false;
      const o = entries.get(Ledger.key(c.deployment_id, c.replica_index));
      if (!o || o.docker_id !== c.docker_id || !Ledger.ready(o, ctx.now(), ctx.stableWindowMs)) {
        this.again = true;
        return false;
      }
      ctx.ledger.restarting.delete(c.docker_id);
      return true;
    });
    if (serving.length > 0) await this.attachAliases(serving);
  }

  async failCrashLoop(dep: deploykit.Deployment, o: ReplicaObservation, c: deploykit.RunningContainer): Promise<void> {
    let logTail = "";
    try {
      logTail = await this.ctx.runtime.logTail(c.docker_id, FAILURE_LOG_LINES);
    } catch (err) {
      this.log.warn({ err: describe(err) }, "could not read the log tail of a failed container");
    }
    const failure: deploykit.DeploymentFailure = { reason: o.reason ?? "container failed runtime checks", log_tail: logTail };
    if (o.exit_code !== undefined) failure.exit_code = o.exit_code;
    await this.markFailed(dep, failure, dep.attempt_count);
  }

  /**
   * Whether a failed pull/create is Docker's trouble rather than the deployment's. EUNAVAILABLE
   * means the daemon or something behind it (a registry) did not answer; a ping tells them apart.
   * Anything failing around an outage is the outage's.
   */
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

  /** Service status from the active deployment's replicas and the gate's crash-loop verdicts. */
  async updateStatus(): Promise<void> {
    // Only a promotion moves active_deployment_id; otherwise the service read at the start will do.
    const fresh = this.promoted ? await orNull(this.ctx.services.findServiceByID(this.id)) : null;
    // Later stages of the pass (publishRoutes) read the promoted row from here.
    if (fresh) this.service = fresh;
    const svc = fresh ?? this.service;
    if (!svc) return;
    if (fresh && this.status !== null && fresh.status !== this.status) this.publishStatus(this.status, fresh.status);
    const current = fresh ? fresh.status : (this.status ?? svc.status);
    this.status = current;
    if (current === deploykit.SERVICE_STOPPED) return;
    const active = this.deps.find((d) => d.id === svc.active_deployment_id);
    if (!active) return;
    const want = deploykit.deploymentReplicas(active);
    const entries = this.ctx.ledger.forService(this.id);
    let present = 0;
    let looping = 0;
    let finishedOK = 0;
    let finishedBad = 0;
    for (let r = 0; r < want; r++) {
      const key = Ledger.key(active.id, r);
      const c = this.byKey.get(key);
      if (c && c.state !== "exited" && c.state !== "dead") present++;
      if (entries.get(key)?.crash_looping) looping++;
      const code = this.finished.get(key);
      if (code === 0) finishedOK++;
      else if (code !== undefined) finishedBad++;
    }
    let next: deploykit.ServiceStatus;
    // Under never/on-failure: every replica ended with 0 is a finished one-shot (stopped: Start runs it
    // again); one that gave up with an error fails the service, or degrades it while others run.
    if (finishedBad > 0) next = present > 0 ? deploykit.SERVICE_DEGRADED : deploykit.SERVICE_FAILED;
    else if (finishedOK === want && want > 0) next = deploykit.SERVICE_STOPPED;
    else if (finishedOK > 0 && present + finishedOK === want) next = deploykit.SERVICE_RUNNING;
    else if (looping > 0) next = looping >= want ? deploykit.SERVICE_FAILED : deploykit.SERVICE_DEGRADED;
    else if (present === want) next = deploykit.SERVICE_RUNNING;
    else if (present > 0) next = deploykit.SERVICE_DEGRADED;
    else next = deploykit.SERVICE_DEPLOYING;
    if (next === current) return;
    const old = await this.ctx.services.updateServiceStatus(this.id, next);
    this.status = next;
    if (old !== next) this.publishStatus(old, next);
  }

  async removeVolumes(): Promise<void> {
    let volumes: deploykit.Volume[];
    try {
      volumes = await this.ctx.snapshot.volumes();
    } catch (err) {
      this.errors.push(err);
      return;
    }
    for (const v of volumes) {
      if (v.labels[deploykit.LABEL_SERVICE_ID] !== this.id) continue;
      try {
        await this.ctx.runtime.removeVolume(v.name);
        this.ctx.snapshot.removeVolume(v.name);
        this.log.info({ volume: v.name }, "removed volume of a deleted service");
      } catch (err) {
        // Usually still mounted by a container that failed to go: retried with backoff.
        this.errors.push(err);
      }
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
}

type ContainerVolume = { volume: string; mount_path: string };

/** Whether the deployment still waits for its pre-deploy command before anything of it runs. */
/** A pending deployment whose image the builder has not made yet. */
export function awaitingBuild(d: deploykit.Deployment): boolean {
  return d.status === deploykit.DEPLOYMENT_PENDING && d.build_source !== undefined && deploykit.BUILD_PHASES.includes(d.phase ?? "queued");
}

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
const STOPPED_STATES = new Set(["exited", "dead", "created"]);
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
function reason(what: string, err: unknown): string {
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
