import { afterEach, describe, expect, it, vi } from "vitest";
import { type Harness, KEY_TOKEN, MEMBER_TOKEN, type Overrides, startServer } from "../../test/http/harness.ts";
import * as deploykit from "../index.ts";
import * as mock from "../mock/index.ts";
import { Prometheus } from "./prometheus.ts";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const SERVICE = { id: "s1", project_id: "p1", name: "web" } as deploykit.Service;
const PROJECT = { id: "p1", name: "Shop" } as deploykit.Project;

function sample(over: Partial<deploykit.MetricSample> = {}): deploykit.MetricSample {
  return {
    ts: 1000,
    project_id: "p1",
    service_id: "s1",
    replica: 0,
    container: "c0",
    cpu_pct: 12.5,
    cpu_limit_pct: 50,
    mem_bytes: 2048,
    mem_limit_bytes: 4096,
    mem_nocache_bytes: 1024,
    net_rx_bps: 1,
    net_tx_bps: 2,
    blk_read_bps: 3,
    blk_write_bps: 4,
    restarts: 1,
    ...over,
  };
}

function collector(samples: deploykit.MetricSample[]): deploykit.MetricsCollector {
  return { intervalMs: 10_000, latest: () => samples, counts: { ticks: 1, failures: 0, last_tick_ms: 5 } };
}

const SERIES: deploykit.MetricsSeries = {
  range: "1h",
  replica: "all",
  step_seconds: 10,
  replicas: [0],
  ...deploykit.alignSeries([{ ts: 0, cpu_pct: 1 }], 0, 10_000, 10_000),
  markers: [{ deployment_id: "d1", kind: "created", at: "2026-01-01T00:00:00.000Z" }],
};

async function start(o: Overrides = {}) {
  const findSeries = vi.fn(async () => SERIES);
  h = await startServer({
    services: mock.ServiceService({
      findServiceByID: async (id) => (id === "s1" ? SERVICE : Promise.reject(deploykit.errorf(deploykit.ENOTFOUND, "Service not found."))),
    }),
    projects: mock.ProjectService({
      findProjectByID: async (id) => (id === "p1" ? PROJECT : Promise.reject(deploykit.errorf(deploykit.ENOTFOUND, "Project not found."))),
    }),
    metrics: {
      store: mock.MetricsStore({ findSeries }),
      collector: collector([sample(), sample({ replica: 1, container: "c1", project_id: "p2", service_id: "s9" })]),
    },
    ...o,
  });
  return { findSeries };
}

describe("GET /api/projects/{pid}/services/{sid}/metrics", () => {
  it("passes range, replica and the collector interval to the store", async () => {
    const { findSeries } = await start();
    expect(await h.client(MEMBER_TOKEN).serviceMetrics("p1", "s1", { range: "7d", replica: "2" })).toEqual(SERIES);
    expect(findSeries).toHaveBeenCalledWith({ project_id: "p1", service_id: "s1", range: "7d", replica: 2 }, 10_000);
    await h.client().serviceMetrics("p1", "s1");
    expect(findSeries).toHaveBeenLastCalledWith({ project_id: "p1", service_id: "s1", range: "1h", replica: "all" }, 10_000);
  });

  it.each([
    [{ range: "2h" }, 'Query param "range" must be one of: 1h, 6h, 24h, 7d, 30d.'],
    [{ replica: "x" }, 'Query param "replica" must be "all" or a replica index (0 to 1000).'],
    [{ replica: "-1" }, 'Query param "replica" must be "all" or a replica index (0 to 1000).'],
  ])("answers 400 EINVALID for %j", async (q, message) => {
    await start();
    const res = await fetch(`${h.url}/api/projects/p1/services/s1/metrics?${new URLSearchParams(q)}`, {
      headers: { Authorization: `Bearer ${MEMBER_TOKEN}` },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid", message });
  });

  it("is 404 for a service of another project and 401 without credentials", async () => {
    await start();
    await expect(h.client().serviceMetrics("p2", "s1")).rejects.toMatchObject({ code: deploykit.ENOTFOUND });
    await expect(h.client(null).serviceMetrics("p1", "s1")).rejects.toMatchObject({ code: deploykit.EUNAUTHORIZED });
  });

  it("has no metrics routes when the daemon collects no metrics", async () => {
    await start({ metrics: undefined });
    await expect(h.client().serviceMetrics("p1", "s1")).rejects.toMatchObject({ code: deploykit.ENOTFOUND });
  });
});

describe("GET /api/projects/{pid}/metrics/summary", () => {
  it("sums the project's newest samples per service, without other projects'", async () => {
    await start();
    expect(await h.client(MEMBER_TOKEN).projectMetricsSummary("p1")).toEqual({
      interval_seconds: 10,
      data: [{ service_id: "s1", replicas: 1, cpu_pct: 12.5, cpu_limit_pct: 50, mem_bytes: 2048, mem_limit_bytes: 4096, ts: 1000 }],
    });
    await expect(h.client().projectMetricsSummary("nope")).rejects.toMatchObject({ code: deploykit.ENOTFOUND });
  });
});

describe("GET /metrics (Prometheus)", () => {
  function prom(samples: deploykit.MetricSample[]) {
    return new Prometheus({
      projects: mock.ProjectService({ findProjectByID: async () => PROJECT }),
      services: mock.ServiceService({ findServiceByID: async () => SERVICE }),
      deployments: mock.DeploymentService({ findDeployments: async (f) => ({ items: [], total: f.status?.[0] === "healthy" ? 3 : 0 }) }),
      collector: collector(samples),
      busDropped: () => 7,
      queueDepth: () => 2,
    });
  }

  it("exports service and daemon metrics to an API key", async () => {
    const p = prom([sample(), sample({ container: "new", cpu_pct: 7.5 })]);
    await start({ prometheus: p });
    await h.client().health();
    const res = await fetch(`${h.url}/metrics`, { headers: { Authorization: `Bearer ${KEY_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    // Two containers of one replica (a rollout) add up under one label set.
    expect(text).toContain('deploykit_service_cpu_percent{project="Shop",service="web",project_id="p1",service_id="s1",replica="0"} 20');
    expect(text).toContain(
      'deploykit_service_memory_limit_bytes{project="Shop",service="web",project_id="p1",service_id="s1",replica="0"} 8192',
    );
    expect(text).toContain('deploykit_deployments{status="healthy"} 3');
    expect(text).toContain("deploykit_event_bus_dropped_total 7");
    expect(text).toContain("deploykit_reconcile_queue_depth 2");
    expect(text).toContain("deploykit_websocket_clients 0");
    expect(text).toContain("deploykit_sse_viewers 0");
    expect(text).toMatch(/deploykit_http_request_duration_seconds_count\{method="GET",route="\/api\/health",status="200"\} 1/);
    expect(text).toContain("deploykit_process_resident_memory_bytes");
    expect(text).toContain("deploykit_nodejs_eventloop_lag_p99_seconds");
    p.observePass(120, false);
    const again = await (await fetch(`${h.url}/metrics`, { headers: { Authorization: `Bearer ${KEY_TOKEN}` } })).text();
    expect(again).toContain("deploykit_reconcile_failures_total 1");
    expect(again).toContain("deploykit_reconcile_pass_duration_seconds_count 1");
  });

  it("refuses sessions (403) and anonymous callers (401)", async () => {
    await start({ prometheus: prom([]) });
    expect((await fetch(`${h.url}/metrics`, { headers: { Authorization: `Bearer ${MEMBER_TOKEN}` } })).status).toBe(403);
    expect((await fetch(`${h.url}/metrics`)).status).toBe(401);
  });

  it("answers 404 when disabled (-metrics-endpoint=false)", async () => {
    await start();
    const res = await fetch(`${h.url}/metrics`, { headers: { Authorization: `Bearer ${KEY_TOKEN}` } });
    expect(res.status).toBe(404);
    expect((await res.json()).error).toBe("not_found");
  });
});
