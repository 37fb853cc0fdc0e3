import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import * as deploykit from "../index.ts";

const DEPLOYMENT_STATUSES: deploykit.DeploymentStatus[] = [
  deploykit.DEPLOYMENT_PENDING,
  deploykit.DEPLOYMENT_STARTING,
  deploykit.DEPLOYMENT_HEALTHY,
  deploykit.DEPLOYMENT_FAILED,
  deploykit.DEPLOYMENT_SUPERSEDED,
  deploykit.DEPLOYMENT_CANCELLED,
];

/** Service names change rarely; a scrape looks them up at most this often. */
const NAME_TTL_MS = 60_000;

export interface PrometheusOptions {
  projects: Pick<deploykit.ProjectService, "findProjectByID">;
  services: Pick<deploykit.ServiceService, "findServiceByID">;
  deployments: Pick<deploykit.DeploymentService, "findDeployments">;
  collector?: deploykit.MetricsCollector;
  /** Events the bus dropped (full subscriber buffers). */
  busDropped?: () => number;
  /** Service passes waiting in the reconciler's queue. */
  queueDepth?: () => number;
  now?: () => number;
}

type Labels = "project" | "service" | "project_id" | "service_id" | "replica";
const SERVICE_LABELS: Labels[] = ["project", "service", "project_id", "service_id", "replica"];

/** What each sample field is exported as. */
const SERVICE_GAUGES: [deploykit.MetricField, string, string][] = [
  ["cpu_pct", "deploykit_service_cpu_percent", "CPU use in percent of one core, over the last collector interval."],
  ["cpu_limit_pct", "deploykit_service_cpu_limit_percent", "CPU limit in percent of one core (absent without a limit)."],
  ["mem_bytes", "deploykit_service_memory_bytes", "Memory use including page cache."],
  ["mem_nocache_bytes", "deploykit_service_memory_working_set_bytes", "Memory use without reclaimable page cache."],
  ["mem_limit_bytes", "deploykit_service_memory_limit_bytes", "Memory limit (the host's memory without a limit)."],
  ["net_rx_bps", "deploykit_service_network_receive_bytes_per_second", "Network bytes received per second."],
  ["net_tx_bps", "deploykit_service_network_transmit_bytes_per_second", "Network bytes sent per second."],
  ["blk_read_bps", "deploykit_service_block_read_bytes_per_second", "Block device bytes read per second."],
  ["blk_write_bps", "deploykit_service_block_write_bytes_per_second", "Block device bytes written per second."],
  ["restarts", "deploykit_service_restarts", "Docker restart count of the replica's container."],
];

/**
 * The daemon's Prometheus registry (prom-client): service metrics from the collector's latest
 * samples, and the daemon's own (HTTP, WebSocket and SSE clients, reconciler, deployments, bus,
 * process). Built by main before the reconciler and the server, which both feed it.
 */
export class Prometheus {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<"method" | "route" | "status">;
  readonly #passDuration: Histogram;
  readonly #passFailures: Counter;
  readonly #opts: PrometheusOptions;
  readonly #names = new Map<string, { name: string; at: number }>();
  #wsClients: () => number = () => 0;
  #sseViewers: () => number = () => 0;

  constructor(opts: PrometheusOptions) {
    this.#opts = opts;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "deploykit_" });
    this.httpDuration = new Histogram({
      name: "deploykit_http_request_duration_seconds",
      help: "HTTP request duration by route pattern.",
      labelNames: ["method", "route", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#passDuration = new Histogram({
      name: "deploykit_reconcile_pass_duration_seconds",
      help: "Duration of one service's reconcile pass.",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#passFailures = new Counter({
      name: "deploykit_reconcile_failures_total",
      help: "Reconcile passes that failed (retried with backoff).",
      registers,
    });
    const self = this;
    new Gauge({
      name: "deploykit_websocket_clients",
      help: "Open canvas WebSocket clients.",
      registers,
      collect() {
        this.set(self.#wsClients());
      },
    });
    new Gauge({
      name: "deploykit_sse_viewers",
      help: "Open log (SSE) viewers.",
      registers,
      collect() {
        this.set(self.#sseViewers());
      },
    });
    new Gauge({
      name: "deploykit_reconcile_queue_depth",
      help: "Service passes waiting to run.",
      registers,
      collect() {
        this.set(opts.queueDepth?.() ?? 0);
      },
    });
    new Counter({
      name: "deploykit_event_bus_dropped_total",
      help: "Events dropped because a subscriber's buffer was full.",
      registers,
      collect() {
        this.reset();
        this.inc(opts.busDropped?.() ?? 0);
      },
    });
    new Gauge({
      name: "deploykit_deployments",
      help: "Deployments by status.",
      labelNames: ["status"],
      registers,
      async collect() {
        for (const status of DEPLOYMENT_STATUSES) {
          const r = await opts.deployments.findDeployments({ status: [status], limit: 1 });
          this.set({ status }, r.total);
        }
      },
    });
    const mc = opts.collector;
    new Gauge({
      name: "deploykit_metrics_collector_tick_seconds",
      help: "Duration of the metrics collector's last interval (list, read every container, store).",
      registers,
      collect() {
        this.set((mc?.counts.last_tick_ms ?? 0) / 1000);
      },
    });
    new Counter({
      name: "deploykit_metrics_collector_failures_total",
      help: "Collector intervals that could not list Docker or write samples.",
      registers,
      collect() {
        this.reset();
        this.inc(mc?.counts.failures ?? 0);
      },
    });
    for (const [, name, help] of SERVICE_GAUGES) new Gauge({ name, help, labelNames: SERVICE_LABELS, registers, collect: () => undefined });
  }

  /** The server's live counts, bound once it exists. */
  attach(live: { wsClients: () => number; sseViewers: () => number }): void {
    this.#wsClients = live.wsClients;
    this.#sseViewers = live.sseViewers;
  }

  observePass(ms: number, ok: boolean): void {
    this.#passDuration.observe(ms / 1000);
    if (!ok) this.#passFailures.inc();
  }

  /** The text exposition; service gauges are rebuilt from the collector's newest samples. */
  async render(): Promise<string> {
    await this.#serviceGauges();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async #serviceGauges(): Promise<void> {
    const samples = this.#opts.collector?.latest() ?? [];
    // Two containers share a replica during a rollout: their figures add up under one label set.
    const sums = new Map<string, { labels: Record<Labels, string>; s: Partial<Record<deploykit.MetricField, number>> }>();
    for (const s of samples) {
      const key = `${s.service_id}/${s.replica}`;
      let e = sums.get(key);
      if (!e) {
        const labels = {
          project: await this.#name("p", s.project_id),
          service: await this.#name("s", s.service_id),
          project_id: s.project_id,
          service_id: s.service_id,
          replica: String(s.replica),
        };
        e = { labels, s: {} };
        sums.set(key, e);
      }
      for (const [f] of SERVICE_GAUGES) {
        const v = s[f];
        if (v !== null) e.s[f] = f === "restarts" ? Math.max(e.s[f] ?? 0, v) : (e.s[f] ?? 0) + v;
      }
    }
    for (const [field, name] of SERVICE_GAUGES) {
      const g = this.registry.getSingleMetric(name) as Gauge<Labels>;
      g.reset();
      for (const { labels, s } of sums.values()) {
        const v = s[field];
        if (v !== undefined) g.set(labels, v);
      }
    }
  }

  async #name(kind: "p" | "s", id: string): Promise<string> {
    const now = (this.#opts.now ?? Date.now)();
    const key = `${kind}:${id}`;
    const hit = this.#names.get(key);
    if (hit && now - hit.at < NAME_TTL_MS) return hit.name;
    let name = hit?.name ?? "";
    try {
      name = kind === "p" ? (await this.#opts.projects.findProjectByID(id)).name : (await this.#opts.services.findServiceByID(id)).name;
    } catch {
      // Deleted since the sample: its id still identifies it.
    }
    if (this.#names.size > 10_000) this.#names.clear();
    this.#names.set(key, { name, at: now });
    return name;
  }
}
