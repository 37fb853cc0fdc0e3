import * as deploykit from "../index.ts";

/**
 * Stats reads in flight at once. A one-shot read mostly waits: Docker 20.10 answers it at its stats
 * collector's next once-a-second pass, so each read takes up to ~1 s however idle dockerd is. With 8
 * in flight a tick of 300 containers took 40 s (a 10 s interval sampled every 40 s); with 64, one
 * tick is ~5 passes. The CPU per read is the same either way (docs/benchmarks.md, Metrics).
 */
export const READ_CONCURRENCY = 64;
/** Roll-ups and pruning run this often. */
export const MAINTAIN_INTERVAL_MS = 60_000;

/**
 * How Docker is asked: `poll` makes one one-shot stats call per container per interval; `stream`
 * keeps one long-lived stats stream per container (Docker pushes a read every second). docs/benchmarks.md
 * measures both; poll is the default because it costs less daemon CPU at any interval ≥ 2 s.
 */
export type CollectMode = "poll" | "stream";

export interface CollectorOptions {
  runtime: Pick<deploykit.ContainerRuntime, "listContainers">;
  stats: deploykit.ContainerStatsSource;
  store: deploykit.MetricsStore;
  /** Failed-deployment markers are recorded from its events. */
  bus?: deploykit.EventBus;
  intervalMs?: number;
  mode?: CollectMode;
  logger?: deploykit.Logger;
  now?: () => number;
}

interface Tracked {
  target: deploykit.MetricsTarget;
  /** The read the last sample was computed against. */
  prev?: deploykit.ContainerCounters;
  /** Stream mode: the newest read Docker pushed. */
  latest?: deploykit.ContainerCounters;
  stream?: { close(): void };
  /** Limits are read again after a restart (counters went backwards). */
  stale: boolean;
}

/**
 * The one metrics collector of the daemon. Every interval it lists this instance's running
 * containers once and reads each one's counters once, whatever the number of viewers: the HTTP
 * routes and the Prometheus export read the store and `latest()`, never Docker.
 */
export class Collector implements deploykit.MetricsCollector {
  readonly intervalMs: number;
  readonly mode: CollectMode;
  readonly #opts: CollectorOptions;
  readonly #log: deploykit.Logger;
  readonly #now: () => number;
  readonly #tracked = new Map<string, Tracked>();
  #latest: deploykit.MetricSample[] = [];
  #timer?: NodeJS.Timeout;
  #maintainTimer?: NodeJS.Timeout;
  #sub?: deploykit.Subscription;
  #running?: Promise<void>;
  #dockerDown = false;
  /** Ticks, failed ticks and the duration of the last one (for the daemon's own metrics). */
  readonly counts = { ticks: 0, failures: 0, last_tick_ms: 0 };

  constructor(opts: CollectorOptions) {
    this.#opts = opts;
    this.intervalMs = opts.intervalMs ?? deploykit.METRICS_INTERVAL_DEFAULT_MS;
    this.mode = opts.mode ?? "poll";
    this.#log = (opts.logger ?? deploykit.nopLogger).child({ component: "metrics" });
    this.#now = opts.now ?? Date.now;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.tick(), this.intervalMs);
    this.#timer.unref();
    this.#maintainTimer = setInterval(() => void this.maintain(), MAINTAIN_INTERVAL_MS);
    this.#maintainTimer.unref();
    this.#sub = this.#opts.bus?.subscribe((e) => this.#onEvent(e));
    void this.tick();
    void this.maintain();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    clearInterval(this.#maintainTimer);
    this.#timer = undefined;
    this.#sub?.close();
    await this.#running;
    for (const t of this.#tracked.values()) t.stream?.close();
    this.#tracked.clear();
  }

  latest(): deploykit.MetricSample[] {
    return this.#latest;
  }

  /** One interval: list, read, store. A tick still running when the next is due makes that one skip. */
  tick(): Promise<void> {
    if (this.#running) return this.#running;
    this.#running = this.#tick().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async maintain(): Promise<void> {
    try {
      await this.#opts.store.maintain();
    } catch (err) {
      this.#log.error({ err }, "metrics roll-up failed");
    }
  }

  async #tick(): Promise<void> {
    const started = performance.now();
    this.counts.ticks++;
    const ts = Math.floor(this.#now() / this.intervalMs) * this.intervalMs;
    let listed: deploykit.RunningContainer[];
    try {
      listed = await this.#opts.runtime.listContainers();
    } catch (err) {
      // Docker down: no samples, so the charts show a gap rather than stale figures.
      this.counts.failures++;
      this.#latest = [];
      if (!this.#dockerDown) this.#log.warn({ error: deploykit.errorMessage(err) }, "metrics paused: Docker unreachable");
      this.#dockerDown = true;
      return;
    }
    this.#dockerDown = false;
    const running = listed.filter((c) => c.state === "running" && c.service_id !== "");
    this.#forgetGone(new Set(running.map((c) => c.docker_id)));
    const samples: deploykit.MetricSample[] = [];
    await eachLimited(running, READ_CONCURRENCY, async (c) => {
      const s = await this.#sample(c, ts).catch((err) => {
        if (deploykit.errorCode(err) !== deploykit.ENOTFOUND) this.#log.debug({ err, container: c.docker_id }, "stats read failed");
        return null;
      });
      if (s) samples.push(s);
    });
    this.#latest = samples;
    try {
      await this.#opts.store.recordSamples(samples);
    } catch (err) {
      this.counts.failures++;
      this.#log.error({ err }, "metrics write failed");
    }
    this.counts.last_tick_ms = performance.now() - started;
  }

  async #sample(c: deploykit.RunningContainer, ts: number): Promise<deploykit.MetricSample | null> {
    let t = this.#tracked.get(c.docker_id);
    if (!t) {
      t = {
        target: {
          docker_id: c.docker_id,
          project_id: c.project_id,
          service_id: c.service_id,
          deployment_id: c.deployment_id,
          replica: c.replica_index,
          cpu_limit_cores: null,
          restarts: 0,
        },
        stale: true,
      };
      this.#tracked.set(c.docker_id, t);
      if (this.mode === "stream") this.#openStream(t);
    }
    const cur = this.mode === "stream" ? t.latest : await this.#opts.stats.readCounters(c.docker_id);
    if (!cur) return null;
    if (t.prev && cur.cpu_ns < t.prev.cpu_ns) t.stale = true;
    if (t.stale) {
      Object.assign(t.target, await this.#opts.stats.readLimits(c.docker_id));
      t.stale = false;
    }
    if (t.prev && cur.read_at === t.prev.read_at) return null;
    const s = deploykit.sampleFrom(t.target, cur, t.prev, ts);
    t.prev = cur;
    return s;
  }

  #openStream(t: Tracked): void {
    const id = t.target.docker_id;
    t.stream = this.#opts.stats.streamCounters(
      id,
      (c) => {
        t.latest = c;
      },
      () => {
        // Ended (container stopped, Docker restarted): the next tick reopens it if it still runs.
        if (this.#tracked.get(id) === t) this.#tracked.delete(id);
      },
    );
  }

  #forgetGone(running: Set<string>): void {
    for (const [id, t] of this.#tracked)
      if (!running.has(id)) {
        t.stream?.close();
        this.#tracked.delete(id);
      }
  }

  async #onEvent(e: deploykit.Event): Promise<void> {
    if (e.type !== deploykit.EVENT_DEPLOYMENT_FAILED) return;
    const p = e.payload as deploykit.DeploymentStatusPayload;
    const at = e.at ?? new Date(this.#now()).toISOString();
    await this.#opts.store
      .recordMarker(p.service_id, { deployment_id: p.deployment_id, kind: deploykit.MARKER_FAILED, at })
      .catch((err) => this.#log.error({ err }, "metrics marker write failed"));
  }
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
