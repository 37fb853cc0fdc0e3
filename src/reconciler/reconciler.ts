import * as deploykit from "../index.ts";
import { DockerHealth, type ReconcilerStatus } from "./docker-health.ts";
import { describe, type PassContext, reconcileService } from "./pass.ts";
import { allServiceIDs, ResyncPrefetch, touchedService, yieldToLoop } from "./prefetch.ts";
import { WorkQueue } from "./queue.ts";
import { Ledger } from "./readiness.ts";
import { DockerSnapshot } from "./snapshot.ts";
import { sweep } from "./sweep.ts";

export const DEFAULT_INTERVAL_MS = 30_000;
export const DEFAULT_WORKERS = 4;
export const DEFAULT_STABLE_WINDOW_MS = 10_000;
export const DEFAULT_FAST_TICK_MS = 2_000;
/** How long a Docker list is reused by passes outside a resync. */
export const SNAPSHOT_TTL_MS = 1_000;
export const SWEEP_KEY = "sweep";
/** Parallel container inspections when a resync starts (they are cheap for dockerd). */
export const INSPECT_CONCURRENCY = 16;

/** The stores, Docker, bus and hooks as a pass sees them, plus the loop's own tuning. */
export interface ReconcilerOptions
  extends Pick<
    PassContext,
    | "projects"
    | "services"
    | "deployments"
    | "containers"
    | "runtime"
    | "provisioner"
    | "bus"
    | "instanceID"
    | "faultPoint"
    | "forwarder"
    | "limitDefaults"
    | "networkCreated"
    | "preDeployTimeoutSeconds"
    | "probe"
    | "ingress"
    | "logs"
  > {
  logger?: deploykit.Logger;
  /**
   * Where committed changes are announced (issue 11): a deployment created, a service updated or
   * deleted gets a pass over exactly that service, whoever made the change (route, CLI, schedule).
   */
  events?: Pick<deploykit.EventBus, "subscribe">;
  /** Full resync period (default 30 s). */
  intervalMs?: number;
  /** Concurrent service passes (default 4). */
  workers?: number;
  /** How long every replica must run unrestarted before a deployment is promoted (default 10 s). */
  stableWindowMs?: number;
  /** Re-pass delay for services with something in flight (default 2 s). */
  fastTickMs?: number;
  /** Retry backoff of a failing pass: base (default 1 s), doubling up to max (default 30 s). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  now?: () => number;
  /** Called after every service pass with its duration and outcome (the daemon's /metrics). */
  onPass?: (ms: number, ok: boolean) => void;
}

/**
 * Reconciler makes Docker match the database (original §7, PRODUCT §4.9–4.10). Triggers only
 * enqueue work; service passes run on `workers` workers from a keyed queue (one pass per service at
 * a time), the sweep on its own worker. A resync lists Docker once and shares that snapshot across
 * every service pass it enqueues.
 */
export class Reconciler implements deploykit.Reconciler {
  readonly #ctx: PassContext;
  readonly #queue: WorkQueue<string>;
  readonly #sweepQueue: WorkQueue<string>;
  readonly #intervalMs: number;
  readonly #workerCount: number;
  readonly #fastTickMs: number;
  readonly #log: deploykit.Logger;
  readonly #locks = new Map<string, Promise<unknown>>();
  #workers: Promise<void>[] = [];
  #timer?: ReturnType<typeof setInterval>;
  readonly #events?: Pick<deploykit.EventBus, "subscribe">;
  #subscription?: deploykit.Subscription;
  #resyncTimer?: ReturnType<typeof setTimeout>;
  #resyncScheduled = false;
  #resyncRunning?: Promise<void>;
  #resyncFailures = 0;
  /** Ids of the current resync not yet passed over; the snapshot stays pinned until it is empty. */
  #resyncLeft = new Set<string>();
  /** Count of finished passes, and the count when each service's pass last finished (for the prefetch). */
  #passesDone = 0;
  readonly #passEnded = new Map<string, number>();
  #started = false;
  #stopped = false;
  readonly #health: DockerHealth;
  readonly #onPass: (ms: number, ok: boolean) => void;

  constructor(opts: ReconcilerOptions) {
    const now = opts.now ?? Date.now;
    this.#log = (opts.logger ?? deploykit.nopLogger).child({ component: "reconciler" });
    this.#intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.#workerCount = Math.max(1, opts.workers ?? DEFAULT_WORKERS);
    this.#fastTickMs = opts.fastTickMs ?? DEFAULT_FAST_TICK_MS;
    if (opts.events) this.#events = opts.events;
    this.#onPass = opts.onPass ?? (() => {});
    const backoff = { backoffBaseMs: opts.backoffBaseMs, backoffMaxMs: opts.backoffMaxMs };
    this.#queue = new WorkQueue<string>(backoff);
    this.#sweepQueue = new WorkQueue<string>(backoff);
    this.#health = new DockerHealth(this.#log, now, () => this.trigger());
    const snapshot = new DockerSnapshot({
      runtime: opts.runtime,
      provisioner: opts.provisioner,
      ttlMs: Math.min(SNAPSHOT_TTL_MS, this.#fastTickMs / 2),
      now,
      observe: (err) => this.#health.observe(err),
    });
    this.#ctx = {
      projects: opts.projects,
      services: opts.services,
      deployments: opts.deployments,
      containers: opts.containers,
      runtime: opts.runtime,
      provisioner: opts.provisioner,
      bus: opts.bus,
      instanceID: opts.instanceID,
      logger: this.#log,
      stableWindowMs: opts.stableWindowMs ?? DEFAULT_STABLE_WINDOW_MS,
      now,
      ledger: new Ledger(opts.stableWindowMs ?? DEFAULT_STABLE_WINDOW_MS),
      snapshot,
    };
    if (opts.faultPoint) this.#ctx.faultPoint = opts.faultPoint;
    this.#ctx.dockerUnsettled = () => this.#health.unsettled;
    if (opts.forwarder) this.#ctx.forwarder = opts.forwarder;
    if (opts.limitDefaults) this.#ctx.limitDefaults = opts.limitDefaults;
    if (opts.networkCreated) this.#ctx.networkCreated = opts.networkCreated;
    if (opts.preDeployTimeoutSeconds !== undefined) this.#ctx.preDeployTimeoutSeconds = opts.preDeployTimeoutSeconds;
    if (opts.probe) this.#ctx.probe = opts.probe;
    if (opts.ingress) this.#ctx.ingress = opts.ingress;
    if (opts.logs) this.#ctx.logs = opts.logs;
  }

  /** Service passes waiting to run (the daemon's /metrics). */
  get queueDepth(): number {
    return this.#queue.length;
  }

  /** Starts the workers and the resync ticker, and schedules a first resync. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    for (let i = 0; i < this.#workerCount; i++) this.#workers.push(this.#serviceWorker());
    this.#workers.push(this.#sweepWorker());
    this.#timer = setInterval(() => this.trigger(), this.#intervalMs);
    this.#timer.unref?.();
    this.#subscription = this.#events?.subscribe((e) => this.react(e), { bufferSize: 4096 });
    this.trigger();
  }

  /**
   * The services a committed change touched get their pass; nothing else does (a Deploy's latency
   * must not grow with the whole instance). A dropped event is caught by the periodic resync.
   */
  react(e: deploykit.Event): void {
    const touched = touchedService(e);
    if (!touched) return;
    this.#prefetch()?.drop(touched.id);
    if (touched.pass) this.triggerService(touched.id);
  }

  #prefetch(): ResyncPrefetch | undefined {
    return this.#ctx.prefetch as ResyncPrefetch | undefined;
  }

  /**
   * Reads the rows of every listed service at once and installs them for this resync's passes,
   * minus those of services whose pass ended since the read began (their rows may be newer).
   */
  async #loadPrefetch(ids: string[]): Promise<void> {
    const since = this.#passesDone;
    const pf = await ResyncPrefetch.load(this.#ctx);
    pf.cover(ids);
    for (const [id, at] of this.#passEnded) if (at >= since) pf.drop(id);
    this.#ctx.prefetch = pf;
  }

  #passEnd(id: string): void {
    this.#prefetch()?.drop(id);
    this.#passEnded.set(id, this.#passesDone++);
    if (this.#passEnded.size > 100_000) this.#passEnded.clear();
  }

  /** Stops taking work and waits for the passes in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#subscription?.close();
    if (this.#timer) clearInterval(this.#timer);
    if (this.#resyncTimer) clearTimeout(this.#resyncTimer);
    this.#queue.shutdown();
    this.#sweepQueue.shutdown();
    await this.#resyncRunning;
    await Promise.all(this.#workers);
    await Promise.allSettled([...this.#locks.values()]);
    this.#workers = [];
  }

  /** Schedules a full resync; triggers coalesce until it has started. Never blocks. */
  trigger(): void {
    if (this.#stopped || !this.#started || this.#resyncScheduled) return;
    this.#resyncScheduled = true;
    setImmediate(() => {
      this.#resyncScheduled = false;
      this.#resyncRunning = this.#resync().finally(() => {
        this.#resyncRunning = undefined;
      });
    });
  }

  /** Schedules one service's pass. Never blocks. */
  triggerService(serviceID: string): void {
    if (this.#stopped) return;
    this.#prefetch()?.drop(serviceID); // the asker may just have written rows a resync read earlier
    this.#queue.add(serviceID);
  }

  status(): ReconcilerStatus {
    return this.#health.status();
  }

  /**
   * Passes over every service (concurrently, `workers` at a time, on one fresh Docker snapshot),
   * then the sweep and the passes of the orphans it found. For tests, benchmarks and tools; rejects
   * with the first error after doing everything it could.
   */
  async reconcileOnce(): Promise<void> {
    const ctx = this.#ctx;
    ctx.snapshot.invalidate();
    ctx.snapshot.pin();
    const errors: unknown[] = [];
    // Inspections run alongside the passes' database reads; a pass that needs one first waits for it.
    const prefetching = ctx.snapshot.prefetchInspections(INSPECT_CONCURRENCY);
    try {
      const ids = await allServiceIDs(ctx);
      await this.#loadPrefetch(ids);
      const run = async (id: string) => {
        try {
          await this.#locked(id, () => reconcileService(ctx, id));
        } catch (err) {
          errors.push(err);
          this.#health.noteError(id, err);
        } finally {
          this.#passEnd(id);
        }
      };
      let next = 0;
      const worker = async () => {
        while (next < ids.length) {
          await run(ids[next++] as string);
          await yieldToLoop();
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.#workerCount, ids.length) }, worker));
      const swept = await this.#locked(SWEEP_KEY, () => sweep(ctx));
      if (swept.error !== undefined) {
        errors.push(swept.error);
        this.#health.noteError(SWEEP_KEY, swept.error);
      }
      for (const id of swept.orphans) await run(id);
      this.#health.passFinished();
    } finally {
      ctx.prefetch = undefined;
      await prefetching;
      ctx.snapshot.unpin();
    }
    if (errors.length > 0) throw errors[0];
  }

  async #resync(): Promise<void> {
    if (this.#stopped) return;
    const ctx = this.#ctx;
    let ids: string[];
    try {
      ids = await allServiceIDs(ctx);
      await this.#loadPrefetch(ids);
      this.#resyncFailures = 0;
    } catch (err) {
      this.#resyncFailures++;
      const delay = Math.min(30_000, 1_000 * 2 ** Math.min(this.#resyncFailures - 1, 5));
      this.#log.error({ err: describe(err), retry_in_ms: delay }, "resync: could not list services");
      this.#resyncTimer = setTimeout(() => this.trigger(), delay);
      this.#resyncTimer.unref?.();
      return;
    }
    if (this.#stopped) return;
    ctx.snapshot.invalidate();
    if (this.#resyncLeft.size === 0 && ids.length > 0) ctx.snapshot.pin();
    for (const id of ids) this.#resyncLeft.add(id);
    void ctx.snapshot.prefetchInspections(INSPECT_CONCURRENCY);
    this.#sweepQueue.add(SWEEP_KEY);
    for (const id of ids) this.#queue.add(id);
  }

  async #serviceWorker(): Promise<void> {
    for (;;) {
      const id = await this.#queue.get();
      if (id === undefined) return;
      const started = performance.now();
      try {
        const res = await this.#locked(id, () => reconcileService(this.#ctx, id));
        this.#onPass(performance.now() - started, true);
        this.#queue.forget(id);
        this.#health.passFinished();
        if (res.again) this.#queue.addAfter(id, this.#fastTickMs);
      } catch (err) {
        this.#onPass(performance.now() - started, false);
        this.#queue.addRateLimited(id);
        this.#health.noteError(id, err);
      } finally {
        this.#passEnd(id);
        if (this.#resyncLeft.delete(id) && this.#resyncLeft.size === 0) {
          this.#ctx.snapshot.unpin();
          this.#ctx.prefetch = undefined;
        }
        this.#queue.done(id);
      }
      // A pass over a service in sync reads only cached Docker lists: its awaits settle as
      // microtasks, so without this the workers would chain every pass of a resync into one long
      // task and hold requests, canvas moves and log lines behind it (issue 19).
      await yieldToLoop();
    }
  }

  async #sweepWorker(): Promise<void> {
    for (;;) {
      const key = await this.#sweepQueue.get();
      if (key === undefined) return;
      try {
        const res = await this.#locked(key, () => sweep(this.#ctx));
        for (const id of res.orphans) this.#queue.add(id);
        if (res.error !== undefined) {
          this.#sweepQueue.addRateLimited(key);
          this.#health.noteError(key, res.error);
        } else {
          this.#sweepQueue.forget(key);
          if (res.again) this.#sweepQueue.addAfter(key, this.#fastTickMs);
        }
      } catch (err) {
        this.#sweepQueue.addRateLimited(key);
        this.#health.noteError(key, err);
      } finally {
        this.#sweepQueue.done(key);
      }
    }
  }

  /** Runs `fn` after any other run for `key` (reconcileOnce can overlap the workers). */
  async #locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.#locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    }
  }
}
