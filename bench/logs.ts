// Log streaming benchmark (PRODUCT.md §5: one chatty container to one viewer ≥ 20,000 lines/s;
// 50 viewers share one Docker stream). A busybox container prints lines as fast as it can; we count
// lines delivered through docker.LogStreamer over fixed windows. Baseline, in the same run: a raw
// dockerode follow stream whose bytes are only scanned for newlines (what Docker itself delivers),
// read in the SAME window as a LogStreamer viewer so both see the same daemon conditions; the
// budget figure comes from windows with the viewer alone. 3 rounds each, medians reported.
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

/** Opens a raw follow stream counting newlines in the multiplexed bytes (Docker's own delivery rate). */
async function rawCounter(id: string): Promise<{ count: () => number; reset: () => void; close: () => void }> {
  const s = (await raw
    .getContainer(id)
    .logs({ follow: true, stdout: true, stderr: true, timestamps: true, tail: 0 })) as unknown as Readable;
  let n = 0;
  s.on("data", (b: Buffer) => {
    for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  });
  return { count: () => n, reset: () => (n = 0), close: () => s.destroy() };
}

/** One raw stream and one LogStreamer viewer read in the same window: [raw lines/s, viewer lines/s]. */
async function sideBySide(id: string): Promise<[number, number]> {
  const r = await rawCounter(id);
  let m = 0;
  const sub = await client.logs.follow(
    id,
    { tail: 0 },
    () => {
      m++;
    },
    () => {},
  );
  r.reset();
  m = 0;
  const start = performance.now();
  await sleep(SECONDS * 1000);
  const secs = (performance.now() - start) / 1000;
  const out: [number, number] = [r.count() / secs, m / secs];
  r.close();
  sub.close();
  return out;
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
  const pairedRates: number[] = [];
  const oneRates: number[] = [];
  const oneCPU: number[] = [];
  for (let round = 0; round < 3; round++) {
    const one = await viewers(id, 1);
    oneRates.push(one.rates[0]!);
    oneCPU.push(one.cpuPct);
    const [b, v] = await sideBySide(id);
    baseRates.push(b);
    pairedRates.push(v);
  }
  const oneRate = median(oneRates);
  const ratios = baseRates.map((b, i) => pairedRates[i]! / b);
  const many = await viewers(id, VIEWERS);
  const results = {
    seconds: SECONDS,
    one_viewer_lines_per_s: Math.round(oneRate),
    one_viewer_process_cpu_pct: Math.round(median(oneCPU)),
    side_by_side_viewer_vs_raw_docker: Math.round(median(ratios) * 100) / 100,
    rounds: {
      one_viewer_alone: oneRates.map(Math.round),
      side_by_side_raw_docker: baseRates.map(Math.round),
      side_by_side_viewer: pairedRates.map(Math.round),
    },
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
    `one viewer: ${fmt(oneRate)} lines/s (side by side with a raw Docker stream: ${results.side_by_side_viewer_vs_raw_docker} × its rate); ` +
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
