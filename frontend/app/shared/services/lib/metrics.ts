import type { DeploymentMarker, MetricsRange, MetricsSeries } from "../../../../../src/metrics.ts";

/** The ranges the API takes (the SPA imports only types from the domain; the type checks this list). */
export const RANGES = ["1h", "6h", "24h", "7d", "30d"] as const satisfies readonly MetricsRange[];

/** One chart: uPlot's columnar data (x first) and what each y series is. */
export interface ChartSpec {
  id: "cpu" | "memory" | "network" | "disk";
  title: string;
  unit: "pct" | "bytes" | "bps";
  series: { label: string; color: string; dash?: number[] }[];
  data: [number[], ...(number | null)[][]];
}

const nulls = (n: number) => new Array<number | null>(n).fill(null);

/**
 * The four charts of the Metrics tab from the API's aligned series. The memory chart draws the limit
 * as a dashed line; a limit equal to the host's memory (no limit set) is still drawn, it is the ceiling.
 */
export function chartSpecs(s: MetricsSeries): ChartSpec[] {
  const n = s.t.length;
  const a = s.avg;
  return [
    {
      id: "cpu",
      title: "CPU",
      unit: "pct",
      series: [
        { label: "CPU (% of a core)", color: "#38bdf8" },
        { label: "Limit", color: "#f87171", dash: [6, 4] },
      ],
      data: [s.t, a.cpu_pct ?? nulls(n), a.cpu_limit_pct ?? nulls(n)],
    },
    {
      id: "memory",
      title: "Memory",
      unit: "bytes",
      series: [
        { label: "Used (no cache)", color: "#a78bfa" },
        { label: "Used (with cache)", color: "#64748b" },
        { label: "Limit", color: "#f87171", dash: [6, 4] },
      ],
      data: [s.t, a.mem_nocache_bytes ?? nulls(n), a.mem_bytes ?? nulls(n), a.mem_limit_bytes ?? nulls(n)],
    },
    {
      id: "network",
      title: "Network",
      unit: "bps",
      series: [
        { label: "Received", color: "#34d399" },
        { label: "Sent", color: "#fbbf24" },
      ],
      data: [s.t, a.net_rx_bps ?? nulls(n), a.net_tx_bps ?? nulls(n)],
    },
    {
      id: "disk",
      title: "Disk",
      unit: "bps",
      series: [
        { label: "Read", color: "#60a5fa" },
        { label: "Written", color: "#f472b6" },
      ],
      data: [s.t, a.blk_read_bps ?? nulls(n), a.blk_write_bps ?? nulls(n)],
    },
  ];
}

/** Formats a chart value for its unit. */
export function formatValue(unit: ChartSpec["unit"], v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  if (unit === "pct") return `${v >= 10 ? Math.round(v) : v.toFixed(1)}%`;
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let x = Math.abs(v);
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  const s = `${x >= 10 || i === 0 ? Math.round(x) : x.toFixed(1)} ${units[i]}`;
  return unit === "bps" ? `${s}/s` : s;
}

export const MARKER_COLOR: Record<DeploymentMarker["kind"], string> = { created: "#94a3b8", serving: "#34d399", failed: "#f87171" };

/** Markers as unix seconds, for drawing; the nearest one within `tolerance` seconds of a click opens its deployment. */
export function markerAt(markers: readonly DeploymentMarker[], x: number, tolerance: number): DeploymentMarker | null {
  let best: DeploymentMarker | null = null;
  let bestD = tolerance;
  for (const m of markers) {
    const d = Math.abs(Date.parse(m.at) / 1000 - x);
    if (d <= bestD) {
      best = m;
      bestD = d;
    }
  }
  return best;
}

/** The newest non-null value of a series (the figure shown next to a chart's title). */
export function lastValue(values: readonly (number | null)[] | undefined): number | null {
  if (!values) return null;
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null && values[i] !== undefined) return values[i] as number;
  return null;
}
