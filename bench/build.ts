// Builds from source (issue 13), through a real deploykitd on the host's dockerd.
//
// (a) A one-line change in a Node app with dependencies (express; no Dockerfile, so DeployKit
//     generates one), against a plain BuildKit build (`POST /build?version=2`, what DeployKit's
//     builder calls; the Debian docker CLI here has no buildx) of the same generated Dockerfile on the
//     same files, with a one-line change of its own so neither side finds its COPY cached. DeployKit's
//     side is read from the deployment's phases: the building phase (context, BuildKit, the build
//     log) is the plain build's counterpart and carries the budget (≤ 1.2×); the time from
//     `POST …/redeploy` until the image is built adds the queue and the clone. A/B order alternates
//     per run; medians. The first build of each side is a warm-up (it runs `npm install`, which
//     reaches the registry through the host's CA, as in test/builds/generated-dockerfiles.test.ts).
// (b) API latency while a build runs: `GET /api/projects` and `GET /api/system/status` from two
//     sequential clients, during a build that keeps both cores busy and writes its log lines as
//     fast as a shell loop can, and during an idle window of 12 s just before it; p50/p99 per path,
//     per round and pooled, and the ratio of the pooled p99s.
//   node bench/build.ts [runs=5] [rounds=3]     (BENCH_ONLY=a or b: one part)
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import * as tar from "tar";
import { basesOf, detectDockerfile } from "../src/build/detect.ts";
import { GitServer } from "../test/builds/gitserver.ts";
import { Daemon, freePort } from "../test/harness/daemon.ts";
import { HOST_SOCKET, TEST_IMAGE } from "../test/harness/dockerd.ts";
import { NODE_IMAGE } from "../test/harness/images.ts";
import { percentile, waitFor } from "../test/harness/wait.ts";
import { median } from "./_stats.ts";

const RUNS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 3);
const ONLY = process.env.BENCH_ONLY ?? "";
const NONCE = `${process.pid}-${Date.now()}`;
const PREFIX = `dk-bench-build-${process.pid}`;
const docker = new Docker({ socketPath: HOST_SOCKET });
const made: string[] = [];

const r2 = (x: number) => Math.round(x * 100) / 100;

const PACKAGE = JSON.stringify({
  name: "bench-app",
  private: true,
  dependencies: { express: "4.21.2" },
  scripts: { start: "node server.js" },
});
const server = (line: string) =>
  `const express = require("express");\nconst app = express();\napp.get("/", (q, r) => r.send(${JSON.stringify(line)}));\napp.listen(process.env.PORT);\n`;

interface Phase {
  name: string;
  started_at: string;
  ended_at: string | null;
}
interface Dep {
  id: string;
  phase: string;
  phases: Phase[];
  failure_reason?: string | null;
}
const span = (d: Dep, name: string) => {
  const p = d.phases.find((x) => x.name === name);
  return p?.ended_at ? (Date.parse(p.ended_at) - Date.parse(p.started_at)) / 1000 : Number.NaN;
};

/** The Node test image plus the host's CA bundle: containers reach the npm registry through an egress only the host trusts. */
function nodeBase(): string {
  const dir = mkdtempSync(join(tmpdir(), "dk-bench-base-"));
  try {
    copyFileSync("/etc/ssl/certs/ca-certificates.crt", join(dir, "host-ca.crt"));
    writeFileSync(
      join(dir, "Dockerfile"),
      `FROM ${NODE_IMAGE}\nCOPY host-ca.crt /etc/ssl/certs/host-ca.crt\nENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca.crt\n`,
    );
    const tag = `${PREFIX}/node-base:1`;
    execFileSync("docker", ["build", "-q", "-t", tag, dir], { stdio: ["ignore", "ignore", "inherit"] });
    made.push(tag);
    return tag;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A plain BuildKit build of `dir` through the Engine API; seconds from the request to the built image. */
async function plainBuild(dir: string, dockerfile: string, tag: string): Promise<number> {
  const t0 = performance.now();
  const context = tar.c({ cwd: dir, portable: true }, readdirSync(dir));
  const stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, { t: tag, dockerfile, version: "2" });
  const events = await new Promise<{ error?: string }[]>((resolve, reject) =>
    docker.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))),
  );
  const failed = events.find((e) => e.error);
  if (failed) throw new Error(`plain build failed: ${failed.error}`);
  made.push(tag);
  return (performance.now() - t0) / 1000;
}

const git = new GitServer();
await git.start();
const d = await Daemon.start({ args: ["-stable-window", "1s"], env: { DEPLOYKIT_TEST_KEEP_BUILD_CACHE: "1" } });
const plainDir = mkdtempSync(join(tmpdir(), "dk-bench-plain-"));
try {
  const project = await d.must("POST", "/api/projects", 201, { body: { name: "Bench builds" } });
  const at = (sid: string) => `/api/projects/${project.id}/services/${sid}`;
  const settle = (sid: string, id: string) =>
    waitFor(
      async () => {
        const dep = (await d.must("GET", `${at(sid)}/deployments/${id}`, 200)) as Dep;
        if (dep.phase === "failed" || dep.phase === "cancelled") throw new Error(`build ${id} ${dep.phase}: ${dep.failure_reason}`);
        return dep.phase === "serving" ? dep : null;
      },
      { timeoutMs: 900_000, intervalMs: 100, what: `deployment ${id} serving` },
    );

  // ---- (a) one-line change: DeployKit vs plain BuildKit
  let ratio = 0;
  if (ONLY !== "b") {
    await d.must("PATCH", "/api/settings", 200, { body: { build_base_node: nodeBase(), build_base_static: TEST_IMAGE } });
    git.commit({ "package.json": PACKAGE, "server.js": server(`dk ${NONCE} 0`) }, "first version");
    const staged = await d.must("POST", `/api/projects/${project.id}/services`, 201, {
      body: { name: "app", repo_url: git.url, ports: [{ container_port: 3000, host_port: await freePort() }] },
    });
    const applied = await d.must("POST", `/api/projects/${project.id}/deploy`, 200);
    const sid: string = applied.temp_id_to_service_id[staged.target_temp_id];
    const first = await settle(sid, applied.created_deployments[0].id);
    console.log(`warm-up: first DeployKit build ${span(first, "building").toFixed(1)} s (npm install from the registry)`);
    // The plain side builds what DeployKit generated: the same detection on the same files (checked
    // against the build log, which prints the generated Dockerfile).
    writeFileSync(join(plainDir, "package.json"), PACKAGE);
    writeFileSync(join(plainDir, "server.js"), server(`plain ${NONCE} 0`));
    const detected = await detectDockerfile(plainDir, basesOf(await d.must("GET", "/api/settings", 200)));
    if (!detected.ok) throw new Error(detected.message);
    const log = (await d.request("GET", `${at(sid)}/deployments/${first.id}/build-logs`)).text;
    for (const line of detected.dockerfile.split("\n").filter(Boolean))
      if (!log.includes(JSON.stringify(line).slice(1, -1))) throw new Error(`the build log lacks the generated line ${line}`);
    writeFileSync(join(plainDir, ".deploykit.Dockerfile"), detected.dockerfile);
    console.log(`warm-up: first plain build ${(await plainBuild(plainDir, ".deploykit.Dockerfile", `${PREFIX}/plain:0`)).toFixed(1)} s`);

    const total: number[] = [];
    const building: number[] = [];
    const plain: number[] = [];
    const before: string[] = [];
    for (let i = 1; i <= RUNS; i++) {
      const viaDeployKit = async () => {
        git.commit({ "server.js": server(`dk ${NONCE} ${i}`) }, `change ${i}`);
        const t0 = Date.now();
        const dep = await d.must("POST", `${at(sid)}/redeploy`, 201);
        const done = await settle(sid, dep.id);
        const built = done.phases.find((p) => p.name === "building")?.ended_at;
        total.push(((built ? Date.parse(built) : Number.NaN) - t0) / 1000);
        building.push(span(done, "building"));
        before.push(`queued ${span(done, "queued").toFixed(2)} s, cloning ${span(done, "cloning").toFixed(2)} s`);
      };
      const viaPlain = async () => {
        writeFileSync(join(plainDir, "server.js"), server(`plain ${NONCE} ${i}`));
        plain.push(await plainBuild(plainDir, ".deploykit.Dockerfile", `${PREFIX}/plain:${i}`));
      };
      if (i % 2) {
        await viaDeployKit();
        await viaPlain();
      } else {
        await viaPlain();
        await viaDeployKit();
      }
      console.log(
        `run ${i}: DeployKit ${total.at(-1)?.toFixed(2)} s (${before.at(-1)}, building ${building.at(-1)?.toFixed(2)} s), plain BuildKit ${plain.at(-1)?.toFixed(2)} s`,
      );
    }
    const a = {
      runs: RUNS,
      deploykit_building_phase_median_s: r2(median(building)),
      deploykit_redeploy_to_built_median_s: r2(median(total)),
      plain_buildkit_median_s: r2(median(plain)),
      building_phase_ratio: r2(median(building) / median(plain)),
      redeploy_to_built_ratio: r2(median(total) / median(plain)),
    };
    console.log(JSON.stringify(a));
    ratio = a.building_phase_ratio;
  }

  // ---- (b) API latency during a build vs idle
  if (ONLY !== "a") {
    const busy = [
      `FROM ${TEST_IMAGE}`,
      "ARG NONCE",
      // Both cores: `yes` on one, a shell loop printing a line per `date` on the other, for 12 s.
      'RUN echo "$NONCE" && (yes > /dev/null & end=$(($(date +%s) + 12)); n=0; while [ "$(date +%s)" -lt "$end" ]; do n=$((n+1)); echo "build output line $n"; done; kill $!)',
      'CMD ["sleep", "3600"]',
      "",
    ].join("\n");
    const busyGit = new GitServer();
    await busyGit.start();
    try {
      const s2 = await d.must("POST", `/api/projects/${project.id}/services`, 201, { body: { name: "busy", repo_url: busyGit.url } });
      busyGit.commit({ Dockerfile: busy.replace("ARG NONCE", `ARG NONCE=${NONCE}-0`) }, "busy 0");
      const ap = await d.must("POST", `/api/projects/${project.id}/deploy`, 200);
      const busyID: string = ap.temp_id_to_service_id[s2.target_temp_id];
      await settle(busyID, ap.created_deployments[0].id);

      const paths = ["/api/projects", "/api/system/status"];
      type Samples = Record<string, number[]>;
      const sample = async (until: () => boolean): Promise<Samples> => {
        const ms: Samples = Object.fromEntries(paths.map((p) => [p, []]));
        await Promise.all(
          [0, 1].map(async (c) => {
            for (let k = c; !until(); k++) {
              const path = paths[k % 2] as string;
              const r = await d.request("GET", path);
              if (r.status !== 200) throw new Error(`GET ${path}: ${r.status}`);
              ms[path]?.push(r.ms);
            }
          }),
        );
        return ms;
      };
      const stats = (xs: number[]) => ({ requests: xs.length, p50_ms: r2(percentile(xs, 50)), p99_ms: r2(percentile(xs, 99)) });
      const line = (xs: Samples) =>
        paths.map((p) => `${p} p50 ${percentile(xs[p] ?? [], 50).toFixed(1)} p99 ${percentile(xs[p] ?? [], 99).toFixed(1)} ms`).join(", ");
      const idleAll: Samples = Object.fromEntries(paths.map((p) => [p, []]));
      const buildAll: Samples = Object.fromEntries(paths.map((p) => [p, []]));
      for (let round = 1; round <= ROUNDS; round++) {
        const idleEnd = Date.now() + 12_000;
        const idle = await sample(() => Date.now() > idleEnd);
        busyGit.commit({ Dockerfile: busy.replace("ARG NONCE", `ARG NONCE=${NONCE}-${round}`) }, `busy ${round}`);
        const dep = await d.must("POST", `${at(busyID)}/redeploy`, 201);
        let phase = "queued";
        const watch = (async () => {
          while (phase !== "serving" && phase !== "failed") {
            phase = ((await d.must("GET", `${at(busyID)}/deployments/${dep.id}`, 200)) as Dep).phase;
            await new Promise((r) => setTimeout(r, 200));
          }
        })();
        await waitFor(async () => phase === "building", { timeoutMs: 120_000, intervalMs: 20, what: "busy build running" });
        const t0 = Date.now();
        const during = await sample(() => phase !== "building");
        const seconds = (Date.now() - t0) / 1000;
        await watch;
        if (phase !== "serving") throw new Error(`busy build ${dep.id} ended ${phase}`);
        for (const p of paths) {
          idleAll[p]?.push(...(idle[p] ?? []));
          buildAll[p]?.push(...(during[p] ?? []));
        }
        console.log(`round ${round}: idle 12 s: ${line(idle)}; during the build (${seconds.toFixed(1)} s): ${line(during)}`);
      }
      const pooled = (xs: Samples) => Object.values(xs).flat();
      const b = {
        rounds: ROUNDS,
        idle: { all: stats(pooled(idleAll)), ...Object.fromEntries(paths.map((p) => [p, stats(idleAll[p] ?? [])])) },
        during_build: { all: stats(pooled(buildAll)), ...Object.fromEntries(paths.map((p) => [p, stats(buildAll[p] ?? [])])) },
        p99_ratio: r2(percentile(pooled(buildAll), 99) / percentile(pooled(idleAll), 99)),
      };
      console.log(JSON.stringify(b));
    } finally {
      await busyGit.stop();
    }
  }
  if (ratio > 1.2) {
    console.error(`FAIL: the building phase of a one-line change took ${ratio} × a plain BuildKit build (budget 1.2)`);
    process.exitCode = 1;
  }
} finally {
  await d.stop().catch(() => {});
  const id = d.instanceID();
  const label = [`deploykit.instance=${id}`];
  for (const c of await docker.listContainers({ all: true, filters: { label } })) await docker.getContainer(c.Id).remove({ force: true });
  for (const n of await docker.listNetworks({ filters: { label } })) await docker.getNetwork(n.Id).remove();
  for (const img of [...(await docker.listImages({ filters: { label } })).map((x) => x.Id), ...made])
    await docker
      .getImage(img)
      .remove({ force: true })
      .catch(() => {});
  await d.destroy();
  await git.stop();
  rmSync(plainDir, { recursive: true, force: true });
}
