import * as deploykit from "../index.ts";
import { driftReason } from "./drift.ts";
import { BAD_OBSERVATIONS_TO_FAIL, FAILURE_LOG_LINES, Ledger, type ReplicaObservation } from "./readiness.ts";
import { restartStale } from "./restart.ts";
import type { DockerSnapshot } from "./snapshot.ts";

/** The slices of the domain services the reconciler uses. */
export type ProjectReader = Pick<deploykit.ProjectService, "findProjectByID" | "findProjects">;
export type ServiceStore = Pick<deploykit.ServiceService, "findServiceByID" | "findServices" | "updateServiceStatus">;
export type DeploymentStore = Pick<
  deploykit.DeploymentService,
  "findDeployments" | "markStarting" | "markHealthy" | "markFailed" | "recordAttempt"
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
  /** Publishes TCP host ports; when set, containers do not bind host TCP ports themselves. */
  forwarder?: Pick<deploykit.PortForwarder, "setServiceRoutes">;
  /** The HTTPS proxy (issue 12): told which containers serve, awaited at promotion; drains old containers. */
  ingress?: deploykit.IngressRoutes;
}

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
    if (this.service) {
      const id = this.id;
      this.deps = await pageAll((p) =>
        ctx.deployments.findDeployments({ service_id: id, status: [...deploykit.IN_FLIGHT_STATUSES], ...p }),
      );
    }
    const rows = await pageAll((p) => ctx.containers.findContainers({ service_id: this.id, ...p }));

    let actual: deploykit.RunningContainer[] | null = null;
    try {
      actual = (await ctx.snapshot.containers()).filter((c) => c.service_id === this.id);
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
      if (live) await this.createMissing(desired);
      if (live && this.deps.length > 0) await this.gate();
      else ctx.ledger.clear(this.id);
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
    if (this.deps.some((d) => d.status === deploykit.DEPLOYMENT_PENDING || d.status === deploykit.DEPLOYMENT_STARTING)) this.again = true;
    if (this.errors.length > 0) throw this.errors[0];
    return { again: this.again };
  }

  /** Desired replicas of every in-flight deployment, minus those whose image is not available. */
  async desired(): Promise<Map<string, Desired>> {
    const desired = new Map<string, Desired>();
    const images = new Map<string, string | null>();
    for (const dep of [...this.deps]) {
      if (dep.status === deploykit.DEPLOYMENT_PENDING || dep.status === deploykit.DEPLOYMENT_STARTING) {
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
        !(STOPPED_STATES.has(c.state) && (await this.replaceStopped(c))) &&
        !(await this.drifted(c, want, rowsByDocker.has(c.docker_id)))
      ) {
        this.byKey.set(key, c);
        continue;
      }
      try {
        if (this.stopFirst() && desired.size > 0 && !desired.has(key))
          this.log.info(
            { container: c.name, grace_seconds: this.graceSeconds() },
            "stopping the old container first because this service has a volume",
          );
        // A container the proxy routed to until lately finishes its requests first (drain_seconds).
        if (this.ctx.ingress && !want && !this.stopFirst() && desired.size > 0) await this.ctx.ingress.drained(this.id);
        await this.ctx.runtime.removeContainer(c.docker_id, this.graceSeconds());
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
      others = (await this.ctx.runtime.listContainers()).filter((c) => c.service_id === this.id);
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
      aliases: [service.name],
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
    if (dep.resources) spec.resources = dep.resources;
    spec.stop_timeout = dep.stop_grace_seconds ?? deploykit.DEFAULT_STOP_GRACE_SECONDS;
    if (dep.start_command && dep.start_command.length > 0) spec.cmd = [...dep.start_command];
    if (dep.entrypoint && dep.entrypoint.length > 0) spec.entrypoint = [...dep.entrypoint];
    return spec;
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
      const name = deploykit.volumeName(project.slug, service.name, vol.name);
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
        // Stopped by someone else, waiting to be replaced (see teardown): neither ready nor bad.
        if (STOPPED_STATES.has(insp.state)) {
          this.again = true;
          continue;
        }
        seen.push({ o: ctx.ledger.observe(this.id, dep, r, c.docker_id, insp, now), c });
      }
      if (dep.status === deploykit.DEPLOYMENT_STARTING) {
        const failing = seen.find((s) => s.o.bad >= BAD_OBSERVATIONS_TO_FAIL);
        if (failing) {
          await this.failCrashLoop(dep, failing.o, failing.c);
          for (let r = 0; r < n; r++) keep.delete(Ledger.key(dep.id, r));
          continue;
        }
        if (seen.length === n && seen.every((s) => Ledger.ready(s.o, now, ctx.stableWindowMs))) {
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
    for (let r = 0; r < want; r++) {
      const key = Ledger.key(active.id, r);
      const c = this.byKey.get(key);
      if (c && c.state !== "exited" && c.state !== "dead") present++;
      if (entries.get(key)?.crash_looping) looping++;
    }
    let next: deploykit.ServiceStatus;
    if (looping > 0) next = looping >= want ? deploykit.SERVICE_FAILED : deploykit.SERVICE_DEGRADED;
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

/** Docker states of a container that Docker will not restart on its own. */
const STOPPED_STATES = new Set(["exited", "dead", "created"]);
/** How long a stopped desired container is left for Docker (a restart policy after a daemon restart). */
export const STOPPED_GRACE_MS = 15_000;

/** Creates the project's network unless the snapshot shows it. */
export async function ensureProjectNetwork(ctx: PassContext, project: deploykit.Project): Promise<void> {
  const name = deploykit.projectNetworkName(project.slug);
  await ctx.snapshot.ensureNetwork(name, () =>
    ctx.provisioner.ensureNetwork(name, { ...deploykit.instanceLabels(ctx.instanceID), [deploykit.LABEL_PROJECT_ID]: project.id }),
  );
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
