// Log search benchmark (issue 15): what one server-side search costs over a container whose json-file
// log holds 300,000 lines — more than the 200,000-line scan cap, so every search reads its maximum.
// Wall time, this process's CPU (main thread and the regex worker), lines scanned; 3 rounds, medians.
// A catastrophic pattern's cost is the 5 s budget: test/logs/search.test.ts measures that one.
//   node bench/log-search.ts [rounds=3]
import * as docker from "../src/docker/index.ts";
import { randomID, rawDocker, removeLabelled, TEST_IMAGE, TEST_RUN_LABEL, waitFor } from "../src/docker/testutil.ts";
import type * as deploykit from "../src/index.ts";

const ROUNDS = Number(process.argv[2] ?? 3);
const LINES = 300_000;
const instanceID = randomID("bench-");
const run = randomID("run");
const raw = rawDocker();
const client = new docker.Client({ instanceID });
const labels = { [TEST_RUN_LABEL]: run };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const network = `dk-${run}`;
await client.provisioner.ensureNetwork(network, labels);
try {
  const id = await client.runtime.runContainer({
    name: randomID(`dk-${run}-`),
    image: TEST_IMAGE,
    network,
    aliases: [],
    env: {},
    ports: [],
    volumes: [],
    labels,
    cmd: [
      "sh",
      "-c",
      `seq 1 ${LINES} | sed 's/^/GET \\/api\\/items 200 request number /'; echo done; trap 'exit 0' TERM; sleep 600 & wait`,
    ],
  });
  await waitFor(async () => (await client.runtime.logTail(id, 1)).includes("done"), 120_000, "lines written");
  const targets = [{ docker_container_id: id, replica: 0 }];
  const cases: [string, () => deploykit.LogQuery][] = [
    ["text, no window (the newest lines)", () => ({ q: "number 12345", regex: false, limit: 500 })],
    ["regex, no window", () => ({ q: "number 1234\\d\\d$", regex: true, limit: 500 })],
    ["text, since 1h (the window from its start)", () => ({ q: "number 299999", regex: false, limit: 500, since: Date.now() - 3_600_000 })],
    ["no filter, limit 5000", () => ({ regex: false, limit: 5000 })],
  ];
  console.log(`| search | wall (median) | CPU of this process | scanned | matches | truncated |`);
  console.log(`| --- | --- | --- | --- | --- | --- |`);
  for (const [name, query] of cases) {
    const wall: number[] = [];
    const cpu: number[] = [];
    let last: deploykit.LogSearchResult | undefined;
    for (let i = 0; i < ROUNDS; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      last = await client.logs.search(targets, query());
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    console.log(
      `| ${name} | ${median(wall).toFixed(0)} ms | ${median(cpu).toFixed(0)} ms | ${last?.scanned} | ${last?.lines.length} | ${last?.truncated} |`,
    );
  }
} finally {
  await removeLabelled(raw, TEST_RUN_LABEL, run);
}
