import { createRequire } from "node:module";
import type * as cronParserModule from "cron-parser";
import * as deploykit from "../index.ts";
import { applyLimits, describe, type LimitDefaults, orNull, pageAll } from "./pass.ts";

// cron-parser (with luxon, ≈ 1 MB) loads when a schedule is first read: most instances have none.
let parser: typeof cronParserModule.CronExpressionParser | undefined;
const cron = () => (parser ??= (createRequire(import.meta.url)("cron-parser") as typeof cronParserModule).CronExpressionParser);

export interface CronSchedulerOptions {
  projects: Pick<deploykit.ProjectService, "findProjectByID">;
  services: Pick<deploykit.ServiceService, "findServices" | "findServiceByID">;
  deployments: Pick<deploykit.DeploymentService, "findDeploymentByID">;
  runs: deploykit.ServiceRunService;
  runtime: Pick<
    deploykit.ContainerRuntime,
    "ensureImage" | "runContainer" | "inspectContainer" | "logTail" | "removeContainer" | "listContainers"
  >;
  instanceID: string;
  logger: deploykit.Logger;
  /** The clock: ticks are computed against it, so tests drive them without waiting. */
  now: () => number;
  /** Ms between checks of a running run's container (default 1000). */
  pollMs?: number;
  /** Ms between schedule checks by the timer `start` sets up (default 5000). */
  tickMs?: number;
  /** Waits `ms`; tests may make it instant. */
  sleep?: (ms: number) => Promise<void>;
  /** The admin's default limits, for run containers of services that set none. */
  limitDefaults?: () => Promise<LimitDefaults>;
}

/** The last fire time of `expr` in (after, upTo], if any. */
export function dueTick(expr: string, after: number, upTo: number): number | null {
  const it = cron().parse(expr, { tz: "UTC", currentDate: new Date(after) });
  const next = it.next().getTime();
  if (next > upTo) return null;
  // Several missed in the window (a long pause): only the latest counts, nothing is replayed.
  const prev = cron()
    .parse(expr, { tz: "UTC", currentDate: new Date(upTo + 1) })
    .prev()
    .getTime();
  return Math.max(next, prev);
}

/** The next fire time after `at` (for the UI and docs). */
export function nextTick(expr: string, at: number): number {
  return cron()
    .parse(expr, { tz: "UTC", currentDate: new Date(at) })
    .next()
    .getTime();
}

/**
 * The cron scheduler (issue 16). A cron service's serving deployment runs no long-lived container:
 * at each tick of its schedule (UTC) this starts one container from that deployment and waits for it
 * to exit, recording a run with its exit code and the last 200 lines of its log. A tick while the
 * previous run is still going is recorded as skipped. Ticks missed while the daemon was down are not
 * replayed: the scheduler starts counting from when it starts. A run past its timeout is stopped and
 * marked failed. Docker is the record of a run in progress: a restarted daemon adopts the container
 * of a run still marked running (by its run-id label), or marks the run failed when it is gone.
 */
export class CronScheduler implements deploykit.CronRunner {
  readonly #o: CronSchedulerOptions;
  readonly #log: deploykit.Logger;
  /** Per service: the time up to which its schedule has been considered. */
  readonly #considered = new Map<string, number>();
  /** Watchers of runs in progress, by run id. */
  readonly #watching = new Map<string, Promise<void>>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #ticking: Promise<void> | null = null;
  #stopped = false;
  /** Runs left by a previous daemon were looked at (Docker answered). */
  #recovered = false;
  /** Runs this scheduler started: never "recovered" as a previous daemon's. */
  readonly #mine = new Set<string>();

  constructor(opts: CronSchedulerOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ job: "cron" });
  }

  /** Adopts runs left by a previous daemon, then checks schedules every `tickMs`. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.recover();
    this.#timer = setInterval(() => {
      void this.tick().catch((err: unknown) => this.#log.warn({ err: describe(err) }, "cron tick failed"));
    }, this.#o.tickMs ?? 5000);
    this.#timer.unref?.();
  }

  /** Stops ticking. Runs in progress keep their containers; the next daemon adopts them. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Resolves once every watcher started so far has finished (tests). */
  async idle(): Promise<void> {
    while (this.#watching.size > 0) await Promise.allSettled([...this.#watching.values()]);
  }

  /** One look at every cron service's schedule; due ones get a run (or a skipped one). */
  async tick(): Promise<void> {
    if (this.#ticking) return this.#ticking;
    this.#ticking = this.#tick().finally(() => {
      this.#ticking = null;
    });
    return this.#ticking;
  }

  async #tick(): Promise<void> {
    if (!this.#recovered) await this.recover();
    const now = this.#o.now();
    const services = await pageAll((p) => this.#o.services.findServices(p));
    const seen = new Set<string>();
    for (const svc of services) {
      if (!svc.cron_schedule || !svc.active_deployment_id || svc.status === deploykit.SERVICE_STOPPED) continue;
      seen.add(svc.id);
      const from = this.#considered.get(svc.id);
      this.#considered.set(svc.id, now);
      // First sight (a daemon start, a new schedule): count from now, so nothing missed is replayed.
      if (from === undefined) continue;
      let dep: deploykit.Deployment | null;
      try {
        dep = await orNull(this.#o.deployments.findDeploymentByID(svc.active_deployment_id));
      } catch (err) {
        this.#log.warn({ service_id: svc.id, err: describe(err) }, "cron: could not read the serving deployment");
        continue;
      }
      if (!dep?.cron_schedule) continue;
      let due: number | null;
      try {
        due = dueTick(dep.cron_schedule, from, now);
      } catch (err) {
        this.#log.warn({ service_id: svc.id, err: describe(err) }, "cron: schedule does not parse");
        continue;
      }
      if (due === null) continue;
      try {
        await this.#begin(svc, dep, deploykit.TRIGGER_SCHEDULE);
      } catch (err) {
        this.#log.warn({ service_id: svc.id, err: describe(err) }, "cron: could not start a run");
      }
    }
    for (const id of this.#considered.keys()) if (!seen.has(id)) this.#considered.delete(id);
  }

  async runNow(serviceID: string): Promise<deploykit.ServiceRun> {
    const svc = await this.#o.services.findServiceByID(serviceID);
    if (!svc.active_deployment_id) throw deploykit.errorf(deploykit.EINVALID, "Nothing to run: the service has not been deployed yet.");
    const dep = await this.#o.deployments.findDeploymentByID(svc.active_deployment_id);
    if (!dep.cron_schedule) throw deploykit.errorf(deploykit.EINVALID, "Only a cron service (one with a schedule) has runs.");
    if (svc.status === deploykit.SERVICE_STOPPED) throw deploykit.errorf(deploykit.EINVALID, "The service is stopped: start it first.");
    return this.#begin(svc, dep, deploykit.TRIGGER_MANUAL);
  }

  async #begin(svc: deploykit.Service, dep: deploykit.Deployment, trigger: deploykit.RunTrigger): Promise<deploykit.ServiceRun> {
    const run = await this.#o.runs.beginRun({ service_id: svc.id, deployment_id: dep.id, trigger });
    if (run.status !== deploykit.RUN_RUNNING) {
      this.#log.info({ service_id: svc.id, run_id: run.id }, "cron: skipped a tick, the previous run is still going");
      return run;
    }
    this.#mine.add(run.id);
    let dockerID: string;
    try {
      const project = await this.#o.projects.findProjectByID(svc.project_id);
      await this.#o.runtime.ensureImage(dep.image);
      // The project network exists: the reconciler makes it before it promotes a cron deployment
      // (creating it here could race the reconciler into two networks of one name).
      const spec = this.#spec(project, svc, dep, run);
      applyLimits(spec, dep, this.#o.limitDefaults ? await this.#o.limitDefaults() : null);
      dockerID = await this.#o.runtime.runContainer(spec);
      await this.#o.runs.attachContainer(run.id, dockerID);
    } catch (err) {
      this.#log.warn({ service_id: svc.id, run_id: run.id, err: describe(err) }, "cron: run could not start");
      this.#mine.delete(run.id);
      return this.#o.runs.finishRun(run.id, { status: deploykit.RUN_FAILED, reason: `Could not start: ${describe(err)}` });
    }
    this.#log.info({ service_id: svc.id, run_id: run.id, docker_id: dockerID, trigger }, "cron: run started");
    this.#watch(run.id, dockerID, dep, Date.parse(run.started_at));
    return { ...run, docker_container_id: dockerID };
  }

  #spec(project: deploykit.Project, svc: deploykit.Service, dep: deploykit.Deployment, run: deploykit.ServiceRun): deploykit.ContainerSpec {
    const spec: deploykit.ContainerSpec = {
      name: `dk-${project.slug}-${svc.name}-run-${run.id.slice(0, 8)}`,
      image: dep.image,
      network: deploykit.projectNetworkName(project.slug),
      // Not reachable under the service's name, no published ports and no volumes: a run is a job.
      aliases: [],
      env: { ...dep.env_vars },
      ports: [],
      volumes: [],
      labels: {
        ...deploykit.instanceLabels(this.#o.instanceID),
        [deploykit.LABEL_PROJECT_ID]: project.id,
        [deploykit.LABEL_SERVICE_ID]: svc.id,
        [deploykit.LABEL_DEPLOYMENT_ID]: dep.id,
        [deploykit.LABEL_ROLE]: deploykit.ROLE_CRON,
        [deploykit.LABEL_RUN_ID]: run.id,
      },
      restart_policy: deploykit.RESTART_NEVER,
      stop_timeout: dep.stop_grace_seconds,
    };
    if (dep.start_command && dep.start_command.length > 0) spec.cmd = [...dep.start_command];
    if (dep.entrypoint && dep.entrypoint.length > 0) spec.entrypoint = [...dep.entrypoint];
    return spec;
  }

  #watch(
    runID: string,
    dockerID: string,
    dep: Pick<deploykit.Deployment, "cron_timeout_seconds" | "stop_grace_seconds">,
    startedAt: number,
  ): void {
    if (this.#watching.has(runID)) return;
    const p = this.#follow(runID, dockerID, dep, startedAt)
      .catch((err: unknown) => this.#log.warn({ run_id: runID, err: describe(err) }, "cron: lost track of a run"))
      .finally(() => {
        this.#watching.delete(runID);
        this.#mine.delete(runID);
      });
    this.#watching.set(runID, p);
  }

  async #follow(
    runID: string,
    dockerID: string,
    dep: Pick<deploykit.Deployment, "cron_timeout_seconds" | "stop_grace_seconds">,
    startedAt: number,
  ): Promise<void> {
    const sleep = this.#o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const timeoutMs = (dep.cron_timeout_seconds ?? deploykit.DEFAULT_CRON_TIMEOUT_SECONDS) * 1000;
    for (;;) {
      let insp: deploykit.ContainerInspection;
      try {
        insp = await this.#o.runtime.inspectContainer(dockerID);
      } catch (err) {
        if (deploykit.errorCode(err) === deploykit.ENOTFOUND) {
          await this.#finish(runID, { status: deploykit.RUN_FAILED, reason: "The run's container disappeared before it finished." });
          return;
        }
        // Docker unreachable: keep waiting; the run is adopted again after a restart anyway.
        if (this.#stopped) return;
        await sleep(this.#o.pollMs ?? 1000);
        continue;
      }
      if (insp.state === "exited" || insp.state === "dead") {
        const log = await this.#logs(dockerID);
        const code = insp.exit_code ?? -1;
        const result: deploykit.ServiceRunFinish =
          code === 0
            ? { status: deploykit.RUN_SUCCEEDED, exit_code: 0, log_tail: log }
            : { status: deploykit.RUN_FAILED, exit_code: code, reason: `Exited with code ${code}.`, log_tail: log };
        await this.#finish(runID, result);
        await this.#remove(dockerID, 0);
        return;
      }
      const started = insp.started_at ? Date.parse(insp.started_at) : startedAt;
      if (this.#o.now() - (Number.isFinite(started) ? started : startedAt) >= timeoutMs) {
        const log = await this.#logs(dockerID);
        // Stopped like any container of the service (its stop signal, then SIGKILL after its grace).
        await this.#remove(dockerID, dep.stop_grace_seconds);
        await this.#finish(runID, {
          status: deploykit.RUN_FAILED,
          timed_out: true,
          reason: `Timed out after ${timeoutMs / 1000} s: stopped.`,
          log_tail: log,
        });
        this.#log.warn({ run_id: runID }, "cron: run timed out and was stopped");
        return;
      }
      if (this.#stopped) return;
      await sleep(this.#o.pollMs ?? 1000);
    }
  }

  async #finish(runID: string, result: deploykit.ServiceRunFinish): Promise<void> {
    try {
      const run = await this.#o.runs.finishRun(runID, result);
      this.#log.info({ run_id: runID, status: run.status, exit_code: run.exit_code }, "cron: run finished");
    } catch (err) {
      // The service (and its runs) was deleted meanwhile.
      if (deploykit.errorCode(err) !== deploykit.ENOTFOUND) throw err;
    }
  }

  async #logs(dockerID: string): Promise<string> {
    try {
      return deploykit.lastLines(await this.#o.runtime.logTail(dockerID, deploykit.RUN_LOG_LINES));
    } catch (err) {
      this.#log.warn({ err: describe(err) }, "cron: could not read a run's log");
      return "";
    }
  }

  async #remove(dockerID: string, grace: number | undefined): Promise<void> {
    try {
      await this.#o.runtime.removeContainer(dockerID, grace);
    } catch (err) {
      this.#log.warn({ docker_id: dockerID, err: describe(err) }, "cron: could not remove a run's container");
    }
  }

  /**
   * After a daemon restart: a run still marked running is followed again when its container is
   * there, and failed when it is not; a run container no run claims is removed.
   */
  async recover(): Promise<void> {
    const running = await this.#o.runs.findRunningRuns();
    let containers: deploykit.RunningContainer[];
    try {
      containers = (await this.#o.runtime.listContainers()).filter((c) => c.labels[deploykit.LABEL_ROLE] === deploykit.ROLE_CRON);
    } catch (err) {
      this.#log.warn({ err: describe(err) }, "cron: Docker unreachable, runs in progress are adopted at a later tick");
      return;
    }
    this.#recovered = true;
    const byRun = new Map(containers.map((c) => [c.labels[deploykit.LABEL_RUN_ID] ?? "", c]));
    for (const id of this.#mine) byRun.delete(id);
    for (const run of running) {
      if (this.#mine.has(run.id)) continue;
      const c = byRun.get(run.id);
      byRun.delete(run.id);
      if (!c) {
        await this.#finish(run.id, {
          status: deploykit.RUN_FAILED,
          reason: "The daemon stopped before the run's container was started or found.",
        });
        continue;
      }
      const dep = await orNull(this.#o.deployments.findDeploymentByID(run.deployment_id));
      this.#log.info({ run_id: run.id, docker_id: c.docker_id }, "cron: adopted a run in progress");
      this.#watch(
        run.id,
        c.docker_id,
        dep ?? { cron_timeout_seconds: deploykit.DEFAULT_CRON_TIMEOUT_SECONDS, stop_grace_seconds: deploykit.DEFAULT_STOP_GRACE_SECONDS },
        Date.parse(run.started_at),
      );
    }
    for (const c of byRun.values()) await this.#remove(c.docker_id, 0);
  }
}
