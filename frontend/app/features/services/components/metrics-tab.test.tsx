import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { MetricsSeries } from "../../../../../src/metrics.ts";
import { MetricsCharts, MetricsToolbar } from "./metrics-tab.tsx";

const F = [
  "cpu_pct",
  "cpu_limit_pct",
  "mem_bytes",
  "mem_limit_bytes",
  "mem_nocache_bytes",
  "net_rx_bps",
  "net_tx_bps",
  "blk_read_bps",
  "blk_write_bps",
  "restarts",
] as const;

function series(values: (number | null)[]): MetricsSeries {
  return {
    range: "1h",
    replica: "all",
    step_seconds: 10,
    replicas: [0, 1],
    t: values.map((_, i) => i * 10),
    avg: Object.fromEntries(F.map((f) => [f, values])) as MetricsSeries["avg"],
    max: { cpu_pct: values, mem_bytes: values, mem_nocache_bytes: values },
    markers: [
      { deployment_id: "dep-0001-abcdef", kind: "created", at: "2026-01-01T00:00:00.000Z" },
      { deployment_id: "dep-0001-abcdef", kind: "failed", at: "2026-01-01T00:01:00.000Z" },
    ],
  };
}

describe("MetricsCharts", () => {
  it("renders the four charts with their newest figures and a clickable entry per deployment marker", () => {
    const html = renderToStaticMarkup(<MetricsCharts series={series([1, null, 42 * 1024 * 1024])} onOpenDeployment={() => {}} />);
    for (const id of ["cpu", "memory", "network", "disk"]) expect(html).toContain(`data-testid="metrics-chart-${id}"`);
    expect(html).toContain("Used (no cache) 42 MB");
    expect(html.match(/data-testid="metrics-marker"/g)).toHaveLength(2);
    expect(html).toContain('data-kind="failed"');
    expect(html).toContain("dep-0001");
    expect(html).not.toContain("No samples in this range");
  });

  it("says so when the range holds no sample at all (the service did not run)", () => {
    const html = renderToStaticMarkup(<MetricsCharts series={series([null, null])} onOpenDeployment={() => {}} />);
    expect(html).toContain("No samples in this range");
  });
});

describe("MetricsToolbar", () => {
  it("offers every range and the replicas seen, the chosen ones marked", () => {
    const html = renderToStaticMarkup(<MetricsToolbar range="7d" onRange={() => {}} replica={1} onReplica={() => {}} replicas={[0, 1]} />);
    for (const r of ["1h", "6h", "24h", "7d", "30d"]) expect(html).toContain(`data-testid="metrics-range-${r}"`);
    expect(html).toMatch(/aria-pressed="true"[^>]*data-testid="metrics-range-7d"/);
    expect(html).toContain("All replicas (summed)");
    expect(html).toContain('<option value="1" selected="">Replica 1</option>');
  });
});
