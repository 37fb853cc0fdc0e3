import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../harness/daemon.ts";
import { Dockerd } from "../harness/dockerd.ts";
import { buildWorkloads, WORKLOADS } from "../harness/images.ts";
import { apply, dbState, stageProject, waitConverged } from "../harness/invariants.ts";
import { percentile, sleep, waitFor } from "../harness/wait.ts";

// D01–D04 against a second, disposable dockerd (its own data root and socket; the host engine is
// never touched): Docker down at startup, stopped mid-deploy, restarted, and hung (SIGSTOP). The API
// must stay up and say Docker is unreachable, nothing may be marked failed for Docker's absence, and
// everything converges once Docker is back.

let dockerd: Dockerd;
let d: Daemon;

beforeAll(async () => {
  dockerd = await Dockerd.start();
  await buildWorkloads(dockerd.socketPath, ["idle"]);
});

afterAll(async () => {
  await d?.destroy();
  await dockerd?.destroy();
});

// biome-ignore lint/suspicious/noExplicitAny: /api/system/status is read loosely (parts are best effort)
function dockerReachable(status: any): boolean | undefined {
  const a = status?.docker?.reachable;
  const b = status?.reconciler?.docker_reachable;
  if (a === false || b === false) return false;
  if (a === true || b === true) return true;
  return undefined;
}

/** Calls non-Docker routes for `ms`, returning every status and latency. */
async function hammer(ms: number, projectID: string): Promise<{ statuses: number[]; latencies: number[] }> {
  const statuses: number[] = [];
  const latencies: number[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    for (const path of ["/api/health", "/api/projects", `/api/projects/${projectID}/services`, "/api/auth/me"]) {
      const r = await d.request("GET", path);
      statuses.push(r.status);
      latencies.push(r.ms);
    }
    await sleep(50);
  }
  return { statuses, latencies };
}

describe("dockerd faults", () => {
  it("D01: Docker down at startup — the API serves, status says unreachable, nothing fails; converges when Docker returns", async () => {
    await dockerd.stop();
    d = await Daemon.start({ dockerSocket: dockerd.socketPath });
    const p = await stageProject(d, "d01", [{ name: "web", image: WORKLOADS.idle.tag }]);
    expect((await apply(d, p.id)).applied_count).toBe(1);

    const { statuses, latencies } = await hammer(2000, p.id);
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(percentile(latencies, 99)).toBeLessThan(1000);
    const status = await d.must("GET", "/api/system/status", 200);
    expect(dockerReachable(status)).toBe(false);
    // Docker's absence is not the deployment's fault: still pending, no attempt counted.
    const deps = dbState(d).deployments;
    expect(deps.map((x) => x.status)).toEqual(["pending"]);

    await dockerd.start();
    await waitConverged(d, dockerd.socketPath, 60_000);
    await waitFor(async () => dockerReachable(await d.must("GET", "/api/system/status", 200)) === true, {
      timeoutMs: 20_000,
      what: "status to say Docker is reachable again",
    });
  });

  it("D02: Docker stopped mid-deploy — the deploy is never stuck and ends with exactly one container per replica", async () => {
    const p = await stageProject(d, "d02", [{ name: "api", image: WORKLOADS.idle.tag, replicas: 2 }]);
    await apply(d, p.id);
    await waitFor(() => dbState(d).deployments.some((x) => x.status === "starting"), { timeoutMs: 20_000, what: "deployment starting" });
    await dockerd.stop();
    const { statuses } = await hammer(2000, p.id);
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(dbState(d).deployments.filter((x) => x.status === "failed")).toEqual([]);
    await dockerd.start();
    await waitConverged(d, dockerd.socketPath, 60_000);
    // Docker going away is not the deployment's fault: it ends healthy, not failed.
    expect(dbState(d).deployments.map((x) => [x.status, x.failure_reason])).toEqual([
      ["healthy", null],
      ["healthy", null],
    ]);
  });

  it("D03: dockerd restart — containers come back once, no duplicates", async () => {
    const before = (await dockerd.docker.listContainers({ all: true })).length;
    await dockerd.stop();
    await dockerd.start();
    await waitConverged(d, dockerd.socketPath, 60_000);
    expect((await dockerd.docker.listContainers({ all: true })).length).toBe(before);
    expect(dbState(d).deployments.map((x) => x.status)).toEqual(["healthy", "healthy"]);
  });

  it("D04: dockerd hung (SIGSTOP) — non-Docker routes stay fast, staging and Apply work, convergence after SIGCONT", async () => {
    const p = await stageProject(d, "d04", [{ name: "worker", image: WORKLOADS.idle.tag }]);
    let statusMs = 0;
    dockerd.pause();
    try {
      const applied = await apply(d, p.id);
      expect(applied.applied_count).toBe(1);
      // Docker-bound status does not wait for the hung daemon: it serves the last known state with
      // its age at once, and says unreachable once the background check has timed out.
      const t0 = Date.now();
      const statusCall = d.request("GET", "/api/system/status", { signal: AbortSignal.timeout(45_000) }).then((r) => {
        statusMs = Date.now() - t0;
        return r;
      });
      // The requests waiting on Docker are bounded (16 by default). about() still waits for the
      // adapter's deadline, so 20 of them fill the bound whether or not the status call above still
      // holds a place; the rest, and the next call, are refused at once with 503 and Retry-After.
      const flood = Array.from({ length: 20 }, () => d.request("GET", "/api/system/about", { signal: AbortSignal.timeout(45_000) }));
      await sleep(500);
      // Refused at once: the fastest of five refusals within 100 ms (one round trip alone can stall
      // for longer beside three other test lanes; a refusal that waited on Docker would never come).
      const tries: number[] = [];
      for (let i = 0; i < 5; i++) {
        const over = await d.request("GET", "/api/system/status");
        expect(over.status, over.text).toBe(503);
        expect(over.headers.get("retry-after")).toBe("5");
        tries.push(over.ms);
      }
      expect(Math.min(...tries), tries.map((ms) => ms.toFixed(0)).join(", ")).toBeLessThan(100);
      const { statuses, latencies } = await hammer(4000, p.id);
      expect(new Set(statuses)).toEqual(new Set([200]));
      expect(percentile(latencies, 99)).toBeLessThan(1000);
      const answered = (await Promise.all(flood)).map((r) => r.status);
      expect(answered.filter((x) => x === 503).length).toBeGreaterThanOrEqual(4);
      expect(answered.filter((x) => x === 200).length).toBeLessThanOrEqual(16);
      expect(answered.every((x) => x === 200 || x === 503)).toBe(true);
      const st = await statusCall;
      expect(st.status).toBe(200);
      expect(statusMs).toBeLessThan(2000);
      expect(st.body.docker.age_seconds).toEqual(expect.any(Number));
      await waitFor(async () => dockerReachable(await d.must("GET", "/api/system/status", 200)) === false, {
        timeoutMs: 30_000,
        what: "status to say Docker is unreachable",
      });
    } finally {
      dockerd.resume();
    }
    console.log(`D04: /api/system/status answered in ${statusMs} ms while dockerd was hung; beyond 16 waiting: 503 at once`);
    await waitConverged(d, dockerd.socketPath, 60_000);
    expect(dbState(d).deployments.map((x) => x.status)).toEqual(["healthy", "healthy", "healthy"]);
  });
});
