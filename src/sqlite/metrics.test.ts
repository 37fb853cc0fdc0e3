import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { DeploymentService } from "./deployment.ts";
import { MetricsStore } from "./metrics.ts";
import { FakeClock, mustCreateDeployment, mustCreateProject, mustCreateService, mustOpenDB } from "./testing.ts";

const T0 = "2026-01-01T00:00:00.000Z";
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

async function setup() {
  const clock = new FakeClock(T0);
  const db = mustOpenDB({ now: clock.now });
  const p = await mustCreateProject(db);
  const s = await mustCreateService(db, p.id, { name: "web" });
  return { db, clock, p, s, store: new MetricsStore(db) };
}

function sample(s: deploykit.Service, ts: number, over: Partial<deploykit.MetricSample> = {}): deploykit.MetricSample {
  return {
    ts,
    project_id: s.project_id,
    service_id: s.id,
    replica: 0,
    container: "c0",
    cpu_pct: 10,
    cpu_limit_pct: 100,
    mem_bytes: 1000,
    mem_limit_bytes: 4000,
    mem_nocache_bytes: 800,
    net_rx_bps: 1,
    net_tx_bps: 2,
    blk_read_bps: 3,
    blk_write_bps: 4,
    restarts: 0,
    ...over,
  };
}

/** Feeds one sample per 10 s from `from` for `ms`, advancing the clock with it. */
async function feed(
  env: Awaited<ReturnType<typeof setup>>,
  ms: number,
  over: (ts: number) => Partial<deploykit.MetricSample> = () => ({}),
) {
  const end = env.clock.now().getTime() + ms;
  for (let t = env.clock.now().getTime(); t < end; t += 10_000) {
    await env.store.recordSamples([sample(env.s, t, over(t))]);
    env.clock.advance(10_000);
  }
}

const t0 = Date.parse(T0);

describe("MetricsStore.findSeries", () => {
  it("returns raw samples on the grid, replicas summed, with nulls where nothing was sampled", async () => {
    const env = await setup();
    await feed(env, 5 * MIN);
    await env.store.recordSamples([sample(env.s, t0, { replica: 1, container: "c1", cpu_pct: 5 })]);
    env.clock.advance(10 * MIN); // the daemon was down: a gap
    await feed(env, MIN);
    const all = await env.store.findSeries({ project_id: env.p.id, service_id: env.s.id, range: "1h", replica: "all" });
    expect(all.step_seconds).toBe(10);
    expect(all.t).toHaveLength(360);
    expect(all.replicas).toEqual([0, 1]);
    const at = (ms: number) => all.t.indexOf(ms / 1000);
    expect(all.avg.cpu_pct[at(t0)]).toBe(15);
    expect(all.avg.cpu_pct[at(t0 + 10_000)]).toBe(10);
    expect(all.avg.cpu_pct[at(t0 + 7 * MIN)]).toBeNull();
    expect(all.avg.mem_limit_bytes[at(t0 + 15 * MIN)]).toBe(4000);
    const one = await env.store.findSeries({ project_id: env.p.id, service_id: env.s.id, range: "1h", replica: 1 });
    expect(one.avg.cpu_pct.filter((v) => v !== null)).toEqual([5]);
  });

  it("sums the two containers a replica has during a rollout", async () => {
    const env = await setup();
    await env.store.recordSamples([sample(env.s, t0), sample(env.s, t0, { container: "new" })]);
    env.clock.advance(MIN);
    const s = await env.store.findSeries({ project_id: env.p.id, service_id: env.s.id, range: "1h", replica: 0 });
    expect(s.avg.mem_bytes.find((v) => v !== null)).toBe(2000);
  });

  it("returns the deployment markers of the range: created, serving, failed", async () => {
    const env = await setup();
    const d = await mustCreateDeployment(env.db, env.s.id);
    env.clock.advance(MIN);
    const deployments = new DeploymentService(env.db);
    await deployments.markStarting(d.id);
    await deployments.markHealthy(d.id, 0);
    const failed = new Date(t0 + 2 * MIN).toISOString();
    await env.store.recordMarker(env.s.id, { deployment_id: "d2", kind: deploykit.MARKER_FAILED, at: failed });
    env.clock.advance(5 * MIN);
    const s = await env.store.findSeries({ project_id: env.p.id, service_id: env.s.id, range: "1h", replica: "all" });
    expect(s.markers).toEqual([
      { deployment_id: d.id, kind: "created", at: T0 },
      { deployment_id: d.id, kind: "serving", at: new Date(t0 + MIN).toISOString() },
      { deployment_id: "d2", kind: "failed", at: failed },
    ]);
  });
});

describe("MetricsStore.maintain (downsampling and pruning, fake clock)", () => {
  it("folds finished minutes into averages and maxima, then 10-minute buckets", async () => {
    const env = await setup();
    // cpu 0,10,20,30,40,50 within each minute: average 25, maximum 50.
    await feed(env, 20 * MIN, (ts) => ({ cpu_pct: (((ts - t0) / 10_000) % 6) * 10 }));
    const r = await env.store.maintain();
    expect(r.rolled).toBeGreaterThan(0);
    const rows = env.db.read((tx) =>
      tx.all<{ tier: number; ts: number; cpu_pct: number; cpu_pct_max: number }>(
        "SELECT tier, ts, cpu_pct, cpu_pct_max FROM metric_points WHERE tier > 0 ORDER BY tier, ts",
      ),
    );
    const minutes = rows.filter((x) => x.tier === deploykit.TIER_1M);
    // Now is t0+20m; the grace keeps the last, maybe unfinished minute out.
    expect(minutes).toHaveLength(19);
    expect(minutes[0]).toEqual({ tier: 60_000, ts: t0, cpu_pct: 25, cpu_pct_max: 50 });
    const tens = rows.filter((x) => x.tier === deploykit.TIER_10M);
    expect(tens).toEqual([{ tier: 600_000, ts: t0, cpu_pct: 25, cpu_pct_max: 50 }]);
    // A second run adds only what finished since.
    env.clock.advance(MIN);
    await env.store.maintain();
    const again = env.db.read((tx) => tx.get<{ n: number }>("SELECT COUNT(*) AS n FROM metric_points WHERE tier = 60000"));
    expect(again?.n).toBe(20);
  });

  it("serves 24h from the minute tier and 30d from the 10-minute tier, keeping gaps", async () => {
    const env = await setup();
    await feed(env, 30 * MIN);
    env.clock.advance(2 * HOUR); // down for two hours
    await feed(env, 30 * MIN);
    env.clock.advance(MIN);
    await env.store.maintain();
    const day = await env.store.findSeries({ project_id: env.p.id, service_id: env.s.id, range: "24h", replica: "all" });
    expect(day.step_seconds).toBe(60);
    const filled = day.avg.mem_bytes.filter((v) => v !== null).length;
    expect(filled).toBe(60);
    const month = await env.store.findSeries({ project_id: env.p.id, service_id: env.s.id, range: "30d", replica: "all" });
    expect(month.t.length).toBeGreaterThanOrEqual(4320); // plus the bucket now is in
    // 00:00–00:30 and 02:30–02:50; the bucket of 02:50 is not finished plus grace at 03:01.
    expect(month.avg.mem_bytes.filter((v) => v !== null)).toEqual([1000, 1000, 1000, 1000, 1000]);
  });

  it("deletes each tier past its retention, so the table stays bounded", async () => {
    const env = await setup();
    await feed(env, 20 * MIN);
    await env.store.recordMarker(env.s.id, { deployment_id: "d", kind: "failed", at: T0 });
    await env.store.maintain();
    const count = (tier: number) =>
      env.db.read((tx) => tx.get<{ n: number }>("SELECT COUNT(*) AS n FROM metric_points WHERE tier = ?", tier)?.n);
    expect(count(0)).toBe(120);
    env.clock.advance(6 * HOUR);
    await env.store.maintain();
    expect(count(0)).toBe(0);
    expect(count(60_000)).toBe(20);
    env.clock.advance(7 * DAY);
    await env.store.maintain();
    expect(count(60_000)).toBe(0);
    expect(count(600_000)).toBe(2);
    env.clock.advance(30 * DAY);
    const r = await env.store.maintain();
    expect(count(600_000)).toBe(0);
    expect(r.pruned).toBe(3);
  });
});
