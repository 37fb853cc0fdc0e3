// Container start cost of the Docker adapter (PRODUCT.md §5: deploy ≤ 1.3 × plain `docker run`; the
// reconciler bench measures the full deploy path). Times ContainerRuntime.runContainer (create with
// DeployKit's full option set, then start; it returns once Docker reports the container started)
// against a plain dockerode createContainer+start of the same image, command and network with no
// extra options. Runs alternate A/B so drift hits both sides; medians and their ratio are reported.
//   node bench/docker-run.ts [runs=10]
import * as docker from "../src/docker/index.ts";
import { randomID, rawDocker, removeLabelled, TEST_IMAGE, TEST_RUN_LABEL } from "../src/docker/testutil.ts";
import * as deploykit from "../src/index.ts";

const RUNS = Number(process.argv[2] ?? 10);
const CMD = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"];
const instanceID = randomID("bench-");
const run = randomID("run");
const raw = rawDocker();
const client = new docker.Client({ instanceID });
const labels = { [TEST_RUN_LABEL]: run };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function assertRunning(id: string): Promise<void> {
  const info = await raw.getContainer(id).inspect();
  if (!info.State.Running) throw new Error(`container ${id} is ${info.State.Status}, not running`);
}

try {
  const net = `dk-${run}`;
  await client.provisioner.ensureNetwork(net, labels);
  const adapter: number[] = [];
  const plain: number[] = [];
  // One warm-up of each so the first-use costs (image layer cache, network setup) hit neither side.
  for (let i = -1; i < RUNS; i++) {
    let t = performance.now();
    const a = await client.runtime.runContainer({
      name: `dk-${run}-a${i + 1}`,
      image: TEST_IMAGE,
      network: net,
      aliases: ["web"],
      env: { PORT: "8080" },
      ports: [{ container_port: 8080 }],
      volumes: [],
      labels: { ...labels, [deploykit.LABEL_SERVICE_ID]: "s" },
      resources: { memory_mb: 64 },
      cmd: CMD,
    });
    const ta = performance.now() - t;
    await assertRunning(a);

    t = performance.now();
    const c = await raw.createContainer({
      name: `dk-${run}-p${i + 1}`,
      Image: TEST_IMAGE,
      Cmd: CMD,
      Labels: labels,
      HostConfig: { NetworkMode: net },
    });
    await c.start();
    const tp = performance.now() - t;
    await assertRunning(c.id);

    if (i >= 0) {
      adapter.push(ta);
      plain.push(tp);
    }
    await Promise.all([raw.getContainer(a).remove({ force: true }), c.remove({ force: true })]);
  }
  const ma = median(adapter);
  const mp = median(plain);
  const results = {
    runs: RUNS,
    run_container_median_ms: Math.round(ma * 10) / 10,
    plain_create_start_median_ms: Math.round(mp * 10) / 10,
    ratio: Math.round((ma / mp) * 100) / 100,
    run_container_ms: adapter.map((x) => Math.round(x)),
    plain_ms: plain.map((x) => Math.round(x)),
  };
  console.log(JSON.stringify(results, null, 2));
  console.log(
    `runContainer median ${results.run_container_median_ms} ms vs plain create+start ${results.plain_create_start_median_ms} ms: ratio ${results.ratio}`,
  );
  if (results.ratio > 1.3) {
    console.error("FAIL: runContainer is more than 1.3 × a plain create+start");
    process.exitCode = 1;
  }
} finally {
  await removeLabelled(raw, deploykit.LABEL_INSTANCE, instanceID);
  await removeLabelled(raw, TEST_RUN_LABEL, run);
}
