// Log streaming benchmark (PRODUCT.md §5: one chatty container to one viewer ≥ 20,000 lines/s;
// 50 viewers share one Docker stream). A busybox container prints lines as fast as it can; we count
// lines delivered through docker.LogStreamer over a fixed window, against a baseline in the same run:
// a raw dockerode follow stream whose bytes are only counted for newlines (Docker's own ceiling).
// Baseline and LogStreamer windows alternate (3 rounds each, medians reported) because the rate Docker
// sustains drifts with log rotation and with the other load on the machine.
//   node bench/logs.ts [seconds=5]
import type { Readable } from "node:stream";
import * as docker from "../src/docker/index.ts";
import { randomID, rawDocker, removeLabelled, TEST_IMAGE, TEST_RUN_LABEL } from "../src/docker/testutil.ts";
import * as deploykit from "../src/index.ts";

const SECONDS = Number(process.argv[2] ?? 5);
const VIEWERS = 50;
const LINE = "some log line of moderate length 0123456789";
const instanceID = randomID("bench-");
const run = randomID("run");
const raw = rawDocker();
const client = new docker.Client({ instanceID });
const labels = { [TEST_RUN_LABEL]: run };

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Lines/s Docker itself delivers on a follow stream (newlines counted in the raw multiplexed bytes). */
async function baseline(id: string): Promise<number> {
  const s = (await raw
    .getContainer(id)
    .logs({ follow: true, stdout: true, stderr: true, timestamps: true, tail: 0 })) as unknown as Readable;
  let n = 0;
  s.on("data", (b: Buffer) => {
    for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  });
  const start = performance.now();
  await sleep(SECONDS * 1000);
  const rate = n / ((performance.now() - start) / 1000);
  s.destroy();
  return rate;
}

async function viewers(id: string, count: number): Promise<{ rates: number[]; opened: number; open: number; cpuPct: number }> {
  const before = client.logs.streamsOpened;
  const counts = new Array(count).fill(0) as number[];
  const subs: deploykit.LogSubscription[] = [];
  let lastLine = "";
  for (let v = 0; v < count; v++) {
    subs.push(
      await client.logs.follow(
        id,
        { tail: 0 },
        (l) => {
          counts[v]!++;
          lastLine = l.line;
        },
        (err) => {
          if (err) console.error("stream ended:", err.message);
        },
      ),
    );
  }
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  counts.fill(0);
  await sleep(SECONDS * 1000);
  const secs = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuPct = ((cpu.user + cpu.system) / 1e6 / secs) * 100;
  const rates = counts.map((c) => c / secs);
  const open = client.logs.openStreams;
  const opened = client.logs.streamsOpened - before;
  for (const s of subs) s.close();
  if (lastLine !== LINE) throw new Error(`unexpected line content: ${JSON.stringify(lastLine)}`);
  return { rates, opened, open, cpuPct };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

try {
  const net = `dk-${run}`;
  await client.provisioner.ensureNetwork(net, labels);
  const id = await client.runtime.runContainer({
    name: `dk-${run}-chatty`,
    image: TEST_IMAGE,
    network: net,
    aliases: [],
    env: {},
    ports: [],
    volumes: [],
    labels,
    cmd: ["yes", LINE],
  });
  await sleep(1000);
  const baseRates: number[] = [];
  const oneRates: number[] = [];
  const oneCPU: number[] = [];
  for (let round = 0; round < 3; round++) {
    baseRates.push(await baseline(id));
    const one = await viewers(id, 1);
    oneRates.push(one.rates[0]!);
    oneCPU.push(one.cpuPct);
  }
  const base = median(baseRates);
  const oneRate = median(oneRates);
  const many = await viewers(id, VIEWERS);
  const results = {
    seconds: SECONDS,
    baseline_raw_docker_lines_per_s: Math.round(base),
    one_viewer_lines_per_s: Math.round(oneRate),
    one_viewer_vs_baseline: Math.round((oneRate / base) * 100) / 100,
    one_viewer_process_cpu_pct: Math.round(median(oneCPU)),
    rounds: { baseline: baseRates.map(Math.round), one_viewer: oneRates.map(Math.round) },
    viewers: VIEWERS,
    docker_streams_opened_for_viewers: many.opened,
    docker_streams_open_during: many.open,
    per_viewer_lines_per_s_median: Math.round(median(many.rates)),
    per_viewer_lines_per_s_min: Math.round(Math.min(...many.rates)),
    total_lines_per_s_delivered: Math.round(many.rates.reduce((a, b) => a + b, 0)),
    many_viewers_process_cpu_pct: Math.round(many.cpuPct),
  };
  console.log(JSON.stringify(results, null, 2));
  console.log(
    `one viewer: ${fmt(oneRate)} lines/s (raw Docker stream ${fmt(base)} lines/s, ratio ${results.one_viewer_vs_baseline}); ` +
      `${VIEWERS} viewers on ${many.open} Docker stream(s): median ${fmt(results.per_viewer_lines_per_s_median)} lines/s each`,
  );
  let failed = false;
  if (oneRate < 20_000) {
    console.error(`FAIL: one viewer got ${fmt(oneRate)} lines/s, budget ≥ 20,000`);
    failed = true;
  }
  if (many.opened !== 1 || many.open !== 1) {
    console.error(`FAIL: ${VIEWERS} viewers used ${many.opened} Docker streams, budget 1`);
    failed = true;
  }
  if (client.logs.openStreams !== 0) {
    console.error("FAIL: a Docker log stream is still open after every viewer left");
    failed = true;
  }
  process.exitCode = failed ? 1 : 0;
} finally {
  await removeLabelled(raw, deploykit.LABEL_INSTANCE, instanceID);
  await removeLabelled(raw, TEST_RUN_LABEL, run);
}
