import { describe, expect, it } from "vitest";
import type { MetricsSeries } from "../../../../../src/metrics.ts";
import { chartSpecs, formatValue, lastValue, markerAt } from "./metrics.ts";

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

function series(): MetricsSeries {
  const col = (v: number) => [v, null, v + 1];
  return {
    range: "1h",
    replica: "all",
    step_seconds: 10,
    replicas: [0],
    t: [0, 10, 20],
    avg: Object.fromEntries(F.map((f, i) => [f, col(i)])) as MetricsSeries["avg"],
    max: { cpu_pct: col(0), mem_bytes: col(2), mem_nocache_bytes: col(4) },
    markers: [
      { deployment_id: "d1", kind: "created", at: "1970-01-01T00:00:05.000Z" },
      { deployment_id: "d1", kind: "serving", at: "1970-01-01T00:00:15.000Z" },
    ],
  };
}

describe("chartSpecs", () => {
  it("makes four aligned charts, gaps kept as nulls, the memory limit as a dashed line", () => {
    const specs = chartSpecs(series());
    expect(specs.map((s) => s.id)).toEqual(["cpu", "memory", "network", "disk"]);
    for (const s of specs) {
      expect(s.data.length).toBe(s.series.length + 1);
      for (const col of s.data) expect(col).toHaveLength(3);
    }
    const mem = specs[1];
    expect(mem?.data[1]).toEqual([4, null, 5]);
    expect(mem?.data[3]).toEqual([3, null, 4]);
    expect(mem?.series[2]).toMatchObject({ label: "Limit", dash: [6, 4] });
  });
});

describe("formatValue", () => {
  it.each([
    ["pct", 5.25, "5.3%"],
    ["pct", 150, "150%"],
    ["bytes", 40 * 1024 * 1024, "40 MB"],
    ["bps", 1536, "1.5 KB/s"],
    ["bytes", null, "—"],
  ] as const)("%s %s → %s", (unit, v, want) => expect(formatValue(unit, v)).toBe(want));
});

describe("markerAt / lastValue", () => {
  it("finds the nearest marker within the tolerance", () => {
    const m = series().markers;
    expect(markerAt(m, 6, 3)?.kind).toBe("created");
    expect(markerAt(m, 14, 3)?.kind).toBe("serving");
    expect(markerAt(m, 10, 3)).toBeNull();
  });
  it("takes the newest value that is not a gap", () => {
    expect(lastValue([1, 2, null])).toBe(2);
    expect(lastValue([null])).toBeNull();
  });
});
