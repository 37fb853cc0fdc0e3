import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as docker from "../../src/docker/index.ts";
import { randomID, rawDocker, removeLabelled, TEST_IMAGE, TEST_RUN_LABEL, waitFor } from "../../src/docker/testutil.ts";
import * as deploykit from "../../src/index.ts";
import { type CollectMode, Collector } from "../../src/metrics/index.ts";
import * as sqlite from "../../src/sqlite/index.ts";
import { mustCreateProject, mustCreateService, mustOpenDB } from "../../src/sqlite/testing.ts";

const instanceID = randomID("inst-");
const run = randomID("metrics");
const raw = rawDocker();
const client = new docker.Client({ instanceID });
const network = `dk-${run}`;
const MiB = 1024 * 1024;
/** What the test container holds in memory: a file in /dev/shm (tmpfs, charged to the container's cgroup, never reclaimable cache). */
const HELD_MIB = 40;

let project: deploykit.Project;
let service: deploykit.Service;
let db: sqlite.DB;
let store: sqlite.MetricsStore;
let holder = "";

async function runContainer(replica: number, script: string, resources?: deploykit.Resources): Promise<string> {
  return client.runtime.runContainer({
    name: randomID(`dk-${run}-`),
    image: TEST_IMAGE,
    network,
    aliases: [],
    env: {},
    ports: [],
    volumes: [],
    ...(resources ? { resources } : {}),
    labels: {
      [TEST_RUN_LABEL]: run,
      [deploykit.LABEL_PROJECT_ID]: project.id,
      [deploykit.LABEL_SERVICE_ID]: service.id,
      [deploykit.LABEL_DEPLOYMENT_ID]: "dep",
      [deploykit.LABEL_REPLICA_INDEX]: String(replica),
    },
    cmd: ["sh", "-c", `trap 'exit 0' TERM; ${script}`],
  });
}

beforeAll(async () => {
  db = mustOpenDB();
  store = new sqlite.MetricsStore(db);
  project = await mustCreateProject(db);
  service = await mustCreateService(db, project.id, { name: "mem" });
  await client.provisioner.ensureNetwork(network, { [TEST_RUN_LABEL]: run });
  holder = await runContainer(0, `dd if=/dev/zero of=/dev/shm/held bs=1M count=${HELD_MIB} 2>/dev/null; sleep 300 & wait`, {
    cpus: 0.5,
    memory_mb: 256,
  });
  // A busy replica: CPU and network traffic to its own loopback are visible in its counters.
  await runContainer(1, "yes > /dev/null & sleep 300 & wait");
  await waitFor(async () => (await raw.getContainer(holder).exec({ Cmd: ["ls", "/dev/shm/held"] })) && true, 5000);
});

afterAll(async () => {
  db?.close();
  await removeLabelled(raw, deploykit.LABEL_INSTANCE, instanceID);
  await removeLabelled(raw, TEST_RUN_LABEL, run);
});

describe.each<CollectMode>(["poll", "stream"])("Collector (%s) against real containers", (mode) => {
  it("reports a container's held memory within 10 %, its limits, and CPU of a busy replica", async () => {
    const collector = new Collector({ runtime: client.runtime, stats: client.stats, store, intervalMs: 1000, mode });
    try {
      const samples = await waitFor(
        async () => {
          await new Promise((r) => setTimeout(r, 1100));
          await collector.tick();
          const l = collector.latest();
          const mem = l.find((s) => s.replica === 0);
          const busy = l.find((s) => s.replica === 1);
          return mem && busy && mem.cpu_pct !== null && busy.cpu_pct !== null && mem.mem_bytes > HELD_MIB * MiB * 0.9 ? l : undefined;
        },
        30_000,
        "two samples with rates",
      );
      const mem = samples.find((s) => s.replica === 0) as deploykit.MetricSample;
      const busy = samples.find((s) => s.replica === 1) as deploykit.MetricSample;
      expect(mem.mem_nocache_bytes / (HELD_MIB * MiB)).toBeGreaterThan(0.9);
      expect(mem.mem_nocache_bytes / (HELD_MIB * MiB)).toBeLessThan(1.1);
      expect(mem.mem_limit_bytes).toBe(256 * MiB);
      expect(mem.cpu_limit_pct).toBe(50);
      expect(busy.cpu_limit_pct).toBeNull();
      // The spinning replica's counter advances; how much of a core it gets depends on the (shared) machine.
      expect(busy.cpu_pct).toBeGreaterThan(0);
      expect(mem).toMatchObject({ project_id: project.id, service_id: service.id, restarts: 0 });
      expect(mem.net_rx_bps).toBeGreaterThanOrEqual(0);
      expect(mem.blk_write_bps).toBeGreaterThanOrEqual(0);
    } finally {
      await collector.stop();
    }
  });
});

describe("Collector storage", () => {
  it("stores what it sampled so the 1h series shows the held memory", async () => {
    const s = await store.findSeries({ project_id: project.id, service_id: service.id, range: "1h", replica: 0 });
    const mem = s.avg.mem_nocache_bytes.filter((v): v is number => v !== null);
    expect(mem.length).toBeGreaterThan(0);
    expect(Math.abs((mem.at(-1) as number) / (HELD_MIB * MiB) - 1)).toBeLessThan(0.1);
    expect(s.replicas).toEqual([0, 1]);
  });

  it("samples nothing while Docker is unreachable (a gap), and says so once", async () => {
    const down = new docker.Client({ instanceID, socketPath: `/tmp/${run}-missing.sock` });
    const collector = new Collector({ runtime: down.runtime, stats: down.stats, store, intervalMs: 1000 });
    await collector.tick();
    expect(collector.latest()).toEqual([]);
    expect(collector.counts.failures).toBe(1);
  });
});
