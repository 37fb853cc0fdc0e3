import { describe, expect, it } from "vitest";
import * as deploykit from "./index.ts";

const target: deploykit.MetricsTarget = {
  docker_id: "abcdef0123456789",
  project_id: "p",
  service_id: "s",
  deployment_id: "d",
  replica: 1,
  cpu_limit_cores: 0.5,
  restarts: 2,
};

function counters(at: number, over: Partial<deploykit.ContainerCounters> = {}): deploykit.ContainerCounters {
  return {
    read_at: at,
    cpu_ns: 0,
    mem_bytes: 100,
    mem_limit_bytes: 1000,
    mem_inactive_file_bytes: 30,
    net_rx_bytes: 0,
    net_tx_bytes: 0,
    blk_read_bytes: 0,
    blk_write_bytes: 0,
    ...over,
  };
}

describe("sampleFrom", () => {
  it("turns two reads into rates per second and percent of a core", () => {
    const prev = counters(0);
    const cur = counters(10_000, { cpu_ns: 5e9, net_rx_bytes: 1000, net_tx_bytes: 2000, blk_read_bytes: 50, blk_write_bytes: 100 });
    expect(deploykit.sampleFrom(target, cur, prev, 10_000)).toEqual({
      ts: 10_000,
      project_id: "p",
      service_id: "s",
      replica: 1,
      container: "abcdef012345",
      cpu_pct: 50,
      cpu_limit_pct: 50,
      mem_bytes: 100,
      mem_limit_bytes: 1000,
      mem_nocache_bytes: 70,
      net_rx_bps: 100,
      net_tx_bps: 200,
      blk_read_bps: 5,
      blk_write_bps: 10,
      restarts: 2,
    });
  });

  it.each([
    ["the first read", undefined],
    ["a counter reset (restart)", counters(0, { cpu_ns: 9e9 })],
  ])("has no rates on %s", (_name, prev) => {
    const s = deploykit.sampleFrom({ ...target, cpu_limit_cores: null }, counters(10_000, { cpu_ns: 1e9 }), prev, 0);
    expect(s).toMatchObject({ cpu_pct: null, cpu_limit_pct: null, net_rx_bps: null, blk_write_bps: null, mem_bytes: 100 });
  });
});

describe("parseMetricsRange / parseReplica", () => {
  it.each([
    [undefined, "1h"],
    ["30d", "30d"],
  ])("range %s → %s", (raw, want) => expect(deploykit.parseMetricsRange(raw)).toBe(want));
  it.each(["2h", "1H", "7"])("rejects range %s with EINVALID naming the param", (raw) => {
    expect(() => deploykit.parseMetricsRange(raw)).toThrow('Query param "range" must be one of: 1h, 6h, 24h, 7d, 30d.');
  });
  it.each([
    [undefined, "all"],
    ["all", "all"],
    ["0", 0],
    ["3", 3],
  ])("replica %s → %s", (raw, want) => expect(deploykit.parseReplica(raw)).toBe(want));
  it.each(["-1", "x", "1.5", "99999"])("rejects replica %s", (raw) => {
    expect(() => deploykit.parseReplica(raw)).toThrow(/Query param "replica" must be "all" or a replica index/);
  });
});

describe("planRange", () => {
  it("keeps every range at or under ~4,300 points", () => {
    for (const r of deploykit.METRICS_RANGES) {
      const p = deploykit.planRange(r);
      expect(p.duration_ms / p.step_ms).toBeLessThanOrEqual(4320);
    }
  });
});

describe("alignSeries", () => {
  it("puts points on the grid and leaves missing buckets null (a gap, not interpolated)", () => {
    const s = deploykit.alignSeries(
      [
        { ts: 20_000, cpu_pct: 10, cpu_pct_max: 15 },
        { ts: 40_000, cpu_pct: 30 },
      ],
      5_000,
      50_000,
      10_000,
    );
    expect(s.t).toEqual([0, 10, 20, 30, 40]);
    expect(s.avg.cpu_pct).toEqual([null, null, 10, null, 30]);
    expect(s.max.cpu_pct).toEqual([null, null, 15, null, 30]);
  });
});

describe("summarize", () => {
  it("sums a service's replicas", () => {
    const a = deploykit.sampleFrom(target, counters(10_000, { cpu_ns: 1e9 }), counters(0), 10_000);
    const b = deploykit.sampleFrom({ ...target, replica: 2 }, counters(10_000, { cpu_ns: 3e9 }), counters(0), 10_000);
    expect(deploykit.summarize([a, b])).toEqual([
      { service_id: "s", replicas: 2, cpu_pct: 40, cpu_limit_pct: 100, mem_bytes: 200, mem_limit_bytes: 2000, ts: 10_000 },
    ]);
  });
});
