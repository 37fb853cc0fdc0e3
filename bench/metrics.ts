/**
 * Metrics (issue 15): the collector's cost with many running containers, in both Docker modes, and
 * the metrics API over 30 days at the 10-minute tier.
 *   node bench/metrics.ts [containers=100] [seconds=60] [intervalMs=10000] [modes=poll,stream]
 * Part 1 starts `containers` idle busybox containers labelled as one instance's services (one replica
 * each), then runs the real Collector (real Docker client, a file
 * SQLite database with the daemon's pragmas) for `seconds` in `poll` mode (one one-shot stats call
 * per container per interval) and in `stream` mode (one long-lived stats stream per container).
 * It reports this process's CPU time as % of one core (user+sys over wall time: the machine is
 * shared, so CPU time, not wall time, is the fair measure), RSS growth, and the database bytes per
 * raw sample, projected to a day and to the steady state of all tiers.
 * Part 2 seeds 30 days of the 10-minute tier (2 replicas) and times GET …/metrics?range=30d through
 * the real HTTP server (200 requests, p50/p99).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as docker from "../src/docker/index.ts";
import { randomID, rawDocker, removeLabelled, TEST_IMAGE, TEST_RUN_LABEL } from "../src/docker/testutil.ts";
import * as deploykit from "../src/index.ts";
import { type CollectMode, Collector } from "../src/metrics/index.ts";
import * as mock from "../src/mock/index.ts";
import * as sqlite from "../src/sqlite/index.ts";
import { startServer } from "../test/http/harness.ts";
import { seedMonth } from "./_metrics-seed.ts";

const N = Number(process.argv[2] ?? 100);
const SECONDS = Number(process.argv[3] ?? 60);
const INTERVAL = Number(process.argv[4] ?? 10_000);
const MODES = (process.argv[5] ?? "poll,stream").split(",") as CollectMode[];
const instanceID = randomID("bench-");
const run = randomID("metricsbench");
const raw = rawDocker();
const client = new docker.Client({ instanceID });
const network = `dk-${run}`;
const dir = mkdtempSync(join(tmpdir(), "dk-metrics-bench-"));
const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startContainers(): Promise<void> {
  await client.provisioner.ensureNetwork(network, { [TEST_RUN_LABEL]: run });
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < N) {
      const i = next++;
      // dockerd answers slowly on a loaded machine: a create that timed out is tried again under a new name.
      for (let attempt = 0; ; attempt++) {
        try {
          await startOne(i, attempt);
          break;
        } catch (err) {
          if (attempt >= 3) throw err;
        }
      }
    }
  };
  const startOne = (i: number, attempt: number) =>
    client.runtime.runContainer({
      name: `dk-${run}-${i}-${attempt}`,
      image: TEST_IMAGE,
      network,
      aliases: [],
      env: {},
      ports: [],
      volumes: [],
      labels: {
        [TEST_RUN_LABEL]: run,
        [deploykit.LABEL_PROJECT_ID]: "p-bench",
        [deploykit.LABEL_SERVICE_ID]: `s-${i}`,
        [deploykit.LABEL_DEPLOYMENT_ID]: "d-bench",
        [deploykit.LABEL_REPLICA_INDEX]: "0",
      },
      cmd: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
    });
  await Promise.all(Array.from({ length: 4 }, worker));
  console.log(`started ${N} containers in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

async function measure(mode: CollectMode) {
  const path = join(dir, `${mode}.db`);
  const db = new sqlite.DB(path);
  db.open();
  const store = new sqlite.MetricsStore(db);
  const collector = new Collector({ runtime: client.runtime, stats: client.stats, store, intervalMs: INTERVAL, mode });
  // Warm-up: first sighting inspects every container (limits) and, in stream mode, opens the streams.
  await collector.tick();
  await sleep(2000);
  await collector.tick();
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const rows0 = rawRows(db);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const ticks: number[] = [];
  collector.start();
  const end = Date.now() + SECONDS * 1000;
  while (Date.now() < end) {
    await sleep(1000);
    if (collector.counts.last_tick_ms > 0 && ticks.at(-1) !== collector.counts.last_tick_ms) ticks.push(collector.counts.last_tick_ms);
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  await collector.stop();
  const rss1 = process.memoryUsage().rss;
  const rows = rawRows(db) - rows0;
  db.close();
  const pct = ((cpu.user + cpu.system) / 1000 / wall) * 100;
  return { mode, pct, rssGrowth: rss1 - rss0, rows, ticks };
}

/** The same wait without a collector: Node's own idle cost, subtracted from both modes. */
async function baseline(): Promise<number> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = Date.now() + SECONDS * 1000;
  while (Date.now() < end) await sleep(1000);
  const cpu = process.cpuUsage(cpu0);
  return ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100;
}

/** Database bytes per stored sample: 300 containers × 200 intervals through the store, then a checkpoint. */
async function bytesPerSample(): Promise<number> {
  const path = join(dir, "size.db");
  const db = new sqlite.DB(path);
  db.open();
  const store = new sqlite.MetricsStore(db);
  const before = statSync(path).size;
  for (let t = 0; t < 200; t++) {
    const samples: deploykit.MetricSample[] = [];
    for (let i = 0; i < 300; i++)
      samples.push({
        ts: 1_780_000_000_000 + t * INTERVAL,
        project_id: "0f3c2a8e-5d1b-4c7a-9e2f-1a2b3c4d5e6f",
        service_id: `5b7e9c1d-2f4a-4b6c-8d0e-${String(i).padStart(12, "0")}`,
        replica: 0,
        container: randomID("c").slice(0, 12),
        cpu_pct: Math.random() * 30,
        cpu_limit_pct: 100,
        mem_bytes: 1e8 + Math.random() * 1e6,
        mem_limit_bytes: 536_870_912,
        mem_nocache_bytes: 9e7 + Math.random() * 1e6,
        net_rx_bps: Math.random() * 1e4,
        net_tx_bps: Math.random() * 1e4,
        blk_read_bps: 0,
        blk_write_bps: Math.random() * 1e3,
        restarts: 0,
      });
    await store.recordSamples(samples);
  }
  db.close();
  return (statSync(path).size - before) / 60_000;
}

function rawRows(db: sqlite.DB): number {
  return db.read((tx) => tx.get<{ n: number }>("SELECT COUNT(*) AS n FROM metric_points WHERE tier = 0")?.n ?? 0);
}

async function apiP99(): Promise<{ p50: number; p99: number; cpuPerRequest: number; points: number; bytes: number }> {
  const db = new sqlite.DB(join(dir, "api.db"));
  db.open();
  const now = Date.now();
  // 30 days of 10-minute buckets for 2 replicas of the measured service, plus 49 other services.
  db.write((tx) =>
    seedMonth(
      tx,
      "p1",
      Array.from({ length: 50 }, (_, i) => `s${i}`),
      now,
      () => ({ cpu: Math.random() * 50, cpuMax: 60, mem: 2e8 + Math.random() * 1e7, netRx: 1000, netTx: 2000, blkWrite: 20 }),
    ),
  );
  const store = new sqlite.MetricsStore(db);
  const h = await startServer({
    services: mock.ServiceService({ findServiceByID: async (id) => ({ id, project_id: "p1" }) as deploykit.Service }),
    metrics: { store, collector: { intervalMs: 10_000, latest: () => [], counts: { ticks: 0, failures: 0, last_tick_ms: 0 } } },
  });
  const c = h.client();
  const times: number[] = [];
  let series: deploykit.MetricsSeries | null = null;
  let cpu0 = process.cpuUsage();
  for (let i = 0; i < 220; i++) {
    if (i === 20) cpu0 = process.cpuUsage();
    const t = performance.now();
    series = await c.serviceMetrics("p1", "s7", { range: "30d", replica: "all" });
    if (i >= 20) times.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuPerRequest = (cpu.user + cpu.system) / 1000 / 200;
  await h.close();
  db.close();
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))] as number;
  return { p50: q(0.5), p99: q(0.99), cpuPerRequest, points: series?.t.length ?? 0, bytes: JSON.stringify(series).length };
}

try {
  const api = await apiP99();
  console.log(
    `metrics API, 30d at the 10-minute tier: wall p50 ${api.p50.toFixed(1)} ms, p99 ${api.p99.toFixed(1)} ms; ` +
      `CPU ${api.cpuPerRequest.toFixed(1)} ms per request (server and client in this process) (${api.points} points, ${(api.bytes / 1024).toFixed(0)} KB JSON)`,
  );
  const bps = await bytesPerSample();
  const perDay = (86_400_000 / INTERVAL) * 300;
  console.log(
    `storage: ${bps.toFixed(0)} B per stored row; at 300 containers ${perDay} raw rows/day ≈ ${mb(perDay * bps)} MB/day inserted; ` +
      `steady state (6 h raw + 7 d of 1-min + 30 d of 10-min rows, then flat: pruning frees what is added) ≈ ` +
      `${mb((perDay / 4 + 300 * 10_080 + 300 * 4_320) * bps)} MB`,
  );
  await startContainers();
  const base = await baseline();
  console.log(`baseline (no collector): ${base.toFixed(2)} % of one core`);
  for (const mode of MODES) {
    const r = await measure(mode);
    const ticks = r.ticks.map((t) => t.toFixed(0)).join(", ");
    const net = Math.max(0, r.pct - base);
    console.log(
      `${mode}: ${N} containers, ${SECONDS} s at ${INTERVAL / 1000} s: CPU ${r.pct.toFixed(2)} % of one core, ${net.toFixed(2)} % over baseline ` +
        `(≈ ${((net * 300) / N).toFixed(2)} % at 300, linear), RSS growth ${mb(r.rssGrowth)} MB, ${r.rows} samples; tick ms: ${ticks}`,
    );
  }
} finally {
  await removeLabelled(raw, TEST_RUN_LABEL, run);
  await removeLabelled(raw, deploykit.LABEL_INSTANCE, instanceID);
  rmSync(dir, { recursive: true, force: true });
}
