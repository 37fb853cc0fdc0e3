import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as deploykit from "../index.ts";
import { contextTar, extractUpload, resolveContext } from "./context.ts";
import { basesOf, detectDockerfile, withoutCacheMounts } from "./detect.ts";
import { engineBuild, pruneBuildCache, removeImage } from "./engine.ts";
import { cloneBranchHead } from "./git.ts";
import { cloneEnv } from "./keys.ts";

export interface BuilderOptions {
  deployments: Pick<deploykit.DeploymentService, "findDeploymentByID" | "markFailed">;
  services: Pick<deploykit.ServiceService, "findServiceByID">;
  builds: deploykit.BuildService;
  settings: Pick<deploykit.SettingsService, "getSettings">;
  reconciler: deploykit.Reconciler;
  bus: deploykit.EventBus;
  /** Stamped on built images (`deploykit.instance`), like every Docker object of this instance. */
  instanceID: string;
  /** dockerd's socket: builds go to its BuildKit (`/build?version=2`). */
  socketPath: string;
  /** Where checkouts are made (removed after each build) and uploads wait (`<dir>/uploads`). */
  workDir: string;
  logger?: deploykit.Logger;
  /** Prune dockerd's build cache to build_cache_max_mb after each build (default true; it is daemon-wide, so tests on a shared daemon turn it off). */
  pruneCache?: boolean;
}

interface Job {
  dep: deploykit.Deployment;
  log: string;
  abort: AbortController;
  /** Why it was aborted: "cancelled" (a newer deploy) or a timeout message. */
  abortReason: string | null;
  listeners: Set<{ onText: (t: string) => void; onEnd: () => void }>;
  running: boolean;
}

/** Where uploads wait for their build. */
export function uploadPath(workDir: string, uploadID: string): string {
  return join(workDir, "uploads", `${uploadID}.tar.gz`);
}

/**
 * Runs builds: at most `build_concurrency` at once on the host and one per service (a newer
 * deployment of a service cancels its queued or running build). A build clones the branch head (or
 * unpacks an upload), builds with BuildKit, tags the image per deployment and hands the deployment to
 * the reconciler, which rolls it out through the readiness gate. A failed build fails the deployment
 * with the tail of its log; whatever serves keeps serving.
 */
export class Builder implements deploykit.Builder {
  readonly #o: BuilderOptions;
  readonly #log: deploykit.Logger;
  readonly #jobs = new Map<string, Job>();
  readonly #queue: Job[] = [];
  #sub: deploykit.Subscription | null = null;
  #stopped = false;
  /** Resolves when nothing is queued or running (tests). */
  #idle: (() => void)[] = [];

  constructor(o: BuilderOptions) {
    this.#o = o;
    this.#log = (o.logger ?? deploykit.nopLogger).child({ component: "builder" });
  }

  /** Follows new deployments on the bus and resumes builds a previous run left queued. */
  async start(): Promise<void> {
    this.#sub = this.#o.bus.subscribe((e) => {
      if (e.type === deploykit.EVENT_DEPLOYMENT_CREATED) this.enqueue(e.payload.deployment);
    });
    for (const dep of await this.#o.builds.findQueuedBuilds()) this.enqueue(dep);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#sub?.close();
    for (const j of this.#jobs.values()) this.#cancel(j, "the daemon is shutting down");
  }

  enqueue(dep: deploykit.Deployment): void {
    if (this.#stopped) return;
    // Any deployment of a service supersedes that service's older build, built or not.
    for (const j of this.#jobs.values())
      if (j.dep.service_id === dep.service_id && j.dep.id !== dep.id && j.dep.created_at <= dep.created_at) this.#cancel(j, "cancelled");
    if (!dep.build_source || !deploykit.BUILD_PHASES.includes(dep.phase ?? deploykit.PHASE_QUEUED)) return;
    if (dep.status !== deploykit.DEPLOYMENT_PENDING || this.#jobs.has(dep.id)) return;
    const job: Job = { dep, log: "", abort: new AbortController(), abortReason: null, listeners: new Set(), running: false };
    this.#jobs.set(dep.id, job);
    this.#queue.push(job);
    void this.#pump();
  }

  follow(deploymentID: string, onText: (text: string) => void, onEnd: () => void): { close(): void } | null {
    const job = this.#jobs.get(deploymentID);
    if (!job) return null;
    if (job.log) onText(job.log);
    const l = { onText, onEnd };
    job.listeners.add(l);
    return { close: () => job.listeners.delete(l) };
  }

  /** Resolves once no build is queued or running. */
  idle(): Promise<void> {
    if (this.#jobs.size === 0) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  #cancel(job: Job, reason: string): void {
    job.abortReason ??= reason;
    const i = this.#queue.indexOf(job);
    if (i >= 0) {
      this.#queue.splice(i, 1);
      this.#finish(job);
    } else job.abort.abort(new Error(reason));
  }

  #append(job: Job, text: string): void {
    job.log += text;
    // The live copy is bounded like the stored one.
    if (job.log.length > 2 * deploykit.BUILD_LOG_MAX_BYTES) job.log = deploykit.tailBytes(job.log, deploykit.BUILD_LOG_MAX_BYTES);
    for (const l of job.listeners) l.onText(text);
  }

  /**
   * No Dockerfile and none named: detect the app and generate one (shown at the top of the build
   * log). Written under a name of its own with O_EXCL, so a dangling link in the checkout is never followed.
   */
  async #generated(
    job: Job,
    checkout: string,
    rootDir: string,
    engine: deploykit.BuildEngine,
  ): Promise<Awaited<ReturnType<typeof resolveContext>>> {
    const settings = await this.#o.settings.getSettings();
    const root = join(checkout, deploykit.normalizeSourcePath(rootDir));
    const found = await detectDockerfile(root, basesOf(settings));
    if (!found.ok) return { ok: false, message: `no Dockerfile, and ${found.message}` };
    const dockerfile = engine === "classic" ? withoutCacheMounts(found.dockerfile) : found.dockerfile;
    this.#append(job, `no Dockerfile: detected a ${found.kind} app; generated Dockerfile:\n${dockerfile.trimEnd()}\n\n`);
    await writeFile(join(root, GENERATED_DOCKERFILE), dockerfile, { flag: "wx", mode: 0o644 });
    return resolveContext(checkout, rootDir, GENERATED_DOCKERFILE);
  }

  #finish(job: Job): void {
    this.#jobs.delete(job.dep.id);
    for (const l of job.listeners) l.onEnd();
    job.listeners.clear();
    if (this.#jobs.size === 0) for (const r of this.#idle.splice(0)) r();
  }

  async #pump(): Promise<void> {
    let limits: deploykit.BuildLimits;
    try {
      limits = { ...deploykit.DEFAULT_BUILD_LIMITS, ...(await this.#o.settings.getSettings()) };
    } catch {
      limits = deploykit.DEFAULT_BUILD_LIMITS;
    }
    const running = () => [...this.#jobs.values()].filter((j) => j.running);
    while (running().length < Math.max(1, limits.build_concurrency)) {
      const busy = new Set(running().map((j) => j.dep.service_id));
      const i = this.#queue.findIndex((j) => !busy.has(j.dep.service_id));
      if (i < 0) return;
      const [job] = this.#queue.splice(i, 1) as [Job];
      job.running = true;
      void this.#run(job, limits).finally(() => {
        this.#finish(job);
        void this.#pump();
      });
    }
  }

  async #run(job: Job, limits: deploykit.BuildLimits): Promise<void> {
    const o = this.#o;
    const dep = job.dep;
    const source = dep.build_source as deploykit.BuildSource;
    const log = this.#log.child({ deployment_id: dep.id, service_id: dep.service_id });
    let phase: deploykit.DeploymentPhase = deploykit.PHASE_CLONING;
    let dir: string | null = null;
    const engine = deploykit.buildEngineFor(limits);
    const timer = setTimeout(
      () => this.#cancel(job, `build timed out after ${limits.build_timeout_minutes} min`),
      limits.build_timeout_minutes * 60_000,
    );
    try {
      const current = await o.deployments.findDeploymentByID(dep.id);
      if (current.status !== deploykit.DEPLOYMENT_PENDING) return;
      await mkdir(o.workDir, { recursive: true, mode: 0o700 });
      dir = await mkdtemp(join(o.workDir, "build-"));
      const checkout = join(dir, "src");
      await o.builds.setPhase(dep.id, phase);
      this.#publishPhase(dep, phase);
      if (source.kind === deploykit.SOURCE_GIT) {
        const env = await cloneEnv(source.repo_url, await o.builds.findGitCredentials(dep.service_id), dir);
        const commit = await cloneBranchHead({
          url: source.repo_url,
          branch: source.branch,
          dir: checkout,
          signal: job.abort.signal,
          onLog: (t) => this.#append(job, t),
          env,
        });
        await o.builds.setCommit(dep.id, commit.sha, commit.message);
      } else {
        this.#append(job, "extracting the upload\n");
        await mkdir(checkout);
        await extractUpload(uploadPath(o.workDir, source.upload_id), checkout);
      }
      let ctx = await resolveContext(checkout, source.root_dir, source.dockerfile_path);
      if (!ctx.ok && ctx.message.startsWith("no Dockerfile at") && isDefaultDockerfile(source.dockerfile_path))
        ctx = await this.#generated(job, checkout, source.root_dir, engine);
      if (!ctx.ok) throw new Error(ctx.message);
      phase = deploykit.PHASE_BUILDING;
      await o.builds.setPhase(dep.id, phase);
      this.#publishPhase(dep, phase);
      this.#append(
        job,
        engine === "buildkit"
          ? `building ${dep.image} with BuildKit (Dockerfile ${ctx.dockerfile})\n`
          : `building ${dep.image} with the classic builder (Dockerfile ${ctx.dockerfile}): BuildKit in dockerd cannot enforce the build limits (${limitText(limits)}); no cache mounts\n`,
      );
      const started = Date.now();
      const result = await engineBuild({
        socketPath: o.socketPath,
        context: await contextTar(ctx.context, ctx.dockerfile),
        tag: dep.image,
        dockerfile: ctx.dockerfile,
        labels: {
          [deploykit.LABEL_MANAGED_BY]: deploykit.LABEL_MANAGED_BY_VALUE,
          [deploykit.LABEL_INSTANCE]: o.instanceID,
          [deploykit.LABEL_BUILD_SERVICE]: dep.service_id,
          "deploykit.build.deployment": dep.id,
        },
        engine,
        cpus: limits.build_cpus,
        memoryMb: limits.build_memory_mb,
        signal: job.abort.signal,
        onLog: (t) => this.#append(job, t),
      });
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      this.#append(job, `built ${dep.image} in ${secs} s (${result.cachedSteps}/${result.steps} steps cached)\n`);
      log.info({ seconds: Number(secs), cached_steps: result.cachedSteps, steps: result.steps }, "build finished");
      const after = await o.deployments.findDeploymentByID(dep.id);
      if (after.status !== deploykit.DEPLOYMENT_PENDING) return;
      await o.builds.setPhase(dep.id, deploykit.PHASE_STARTING);
      o.reconciler.triggerService(dep.service_id);
    } catch (err) {
      const message = deploykit.errorMessage(err) === "Internal error." && err instanceof Error ? err.message : deploykit.errorMessage(err);
      const why = job.abortReason ?? deploykit.explainBuildFailure(err instanceof Error ? err.message : message, limits);
      this.#append(job, `ERROR: ${why}\n`);
      if (job.abortReason === "cancelled") {
        log.info("build cancelled by a newer deployment");
      } else {
        log.warn({ phase, error: why }, "build failed");
        await this.#fail(dep, phase, why, job.log);
      }
    } finally {
      clearTimeout(timer);
      await o.builds.saveBuildLog(dep.id, job.log).catch(() => {});
      if (dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
      if (source.kind === deploykit.SOURCE_UPLOAD) await rm(uploadPath(o.workDir, source.upload_id), { force: true }).catch(() => {});
      await this.#prune(dep.service_id, limits).catch((err) => log.warn({ error: String(err) }, "pruning built images failed"));
    }
  }

  async #fail(dep: deploykit.Deployment, phase: deploykit.DeploymentPhase, why: string, buildLog: string): Promise<void> {
    const o = this.#o;
    try {
      const current = await o.deployments.findDeploymentByID(dep.id);
      if (current.status !== deploykit.DEPLOYMENT_PENDING) return;
      const failed = await o.deployments.markFailed(dep.id, {
        reason: `build failed while ${phase}: ${why}`,
        log_tail: deploykit.tailLines(buildLog, deploykit.BUILD_FAILURE_TAIL_LINES),
      });
      const svc = await o.services.findServiceByID(dep.service_id);
      o.bus.publish(
        deploykit.newEvent(deploykit.EVENT_DEPLOYMENT_FAILED, svc.project_id, {
          deployment_id: dep.id,
          service_id: dep.service_id,
          status: failed.status,
          failure_reason: failed.failure_reason,
        }),
      );
      o.reconciler.triggerService(dep.service_id);
    } catch (err) {
      this.#log.warn({ deployment_id: dep.id, error: String(err) }, "could not mark the build's deployment failed");
    }
  }

  #publishPhase(dep: deploykit.Deployment, phase: deploykit.DeploymentPhase): void {
    this.#log.debug({ deployment_id: dep.id, phase }, "build phase");
  }

  /**
   * Keeps the built images of the newest `images_kept` deployments (Rollback needs them) and of any
   * deployment still in flight; removes the service's older ones. An image a container uses stays
   * (the removal is not forced). The build cache is pruned to its cap.
   */
  async #prune(serviceID: string, limits: deploykit.BuildLimits): Promise<void> {
    const o = this.#o;
    const rows = await o.builds.builtImages(serviceID);
    const keep = new Set<string>();
    let counted = 0;
    for (const r of rows) {
      const live = r.status === "healthy" || r.status === "pending" || r.status === "starting";
      // Failed and cancelled deployments made no image a rollback could use: they do not count.
      const usable = r.status !== "failed" && r.status !== "cancelled";
      if (live || (usable && counted < limits.images_kept)) keep.add(r.image);
      if (usable) counted++;
    }
    for (const image of new Set(rows.map((r) => r.image))) if (!keep.has(image)) await removeImage(o.socketPath, image);
    if (o.pruneCache !== false && limits.build_cache_max_mb > 0)
      await pruneBuildCache(o.socketPath, limits.build_cache_max_mb * 1024 * 1024);
  }
}

/** The name a generated Dockerfile gets in the build context. */
const GENERATED_DOCKERFILE = ".deploykit.Dockerfile";

/** Whether the service names no Dockerfile of its own (then one may be generated). */
function isDefaultDockerfile(path: string | null | undefined): boolean {
  const p = deploykit.normalizeSourcePath(path ?? "");
  return p === "" || p === deploykit.DEFAULT_DOCKERFILE;
}

/** "1.5 CPUs, 512 MiB of memory": the limits a build runs under, for its log. */
function limitText(limits: deploykit.BuildLimits): string {
  const parts: string[] = [];
  if (limits.build_cpus > 0) parts.push(`${limits.build_cpus} CPU${limits.build_cpus === 1 ? "" : "s"}`);
  if (limits.build_memory_mb > 0) parts.push(`${limits.build_memory_mb} MiB of memory`);
  return parts.join(", ");
}
