import * as deploykit from "../index.ts";
import { Ledger } from "./readiness.ts";
import { restartStale } from "./restart.ts";

/** The slices of the domain services the reconciler uses. */
export type ProjectReader = Pick<deploykit.ProjectService, "findProjectByID" | "findProjects">;

import { ensureAliases } from "./pass-aliases.ts";
import { PassBase } from "./pass-base.ts";
import {
  awaitingBuild,
  awaitingPreDeploy,
  type Desired,
  describe,
  orNull,
  type PassContext,
  type PassResult,
  pageAll,
  reason,
  STOPPED_STATES,
} from "./pass-context.ts";
import { gate } from "./pass-gate.ts";
import { preDeploy, promoteCron } from "./pass-oneoff.ts";
import { createMissing, teardown } from "./pass-rollout.ts";

export {
  applyLimits,
  awaitingBuild,
  awaitingPreDeploy,
  type ContainerStore,
  type ContainerVolume,
  type DeploymentStore,
  type Desired,
  describe,
  ensureProjectNetwork,
  exitedForGood,
  type LimitDefaults,
  orNull,
  type PassContext,
  type PassResult,
  pageAll,
  reason,
  rowStatus,
  type ServiceStore,
  STOPPED_GRACE_MS,
  STOPPED_STATES,
} from "./pass-context.ts";

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
class ServicePass extends PassBase {
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
      await teardown(this, actual, desired, rows);
      if (live) await preDeploy(this);
      if (live) await promoteCron(this);
      if (live) await createMissing(this, desired);
      if (live && this.deps.length > 0) await gate(this);
      else ctx.ledger.clear(this.id);
      if (live) await ensureAliases(this);
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
}
