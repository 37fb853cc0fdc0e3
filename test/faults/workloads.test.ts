import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../harness/daemon.ts";
import { Dockerd } from "../harness/dockerd.ts";
import { buildWorkloads, instanceFilter, WORKLOADS } from "../harness/images.ts";
import { apply, checkInvariants, dbState, stageProject } from "../harness/invariants.ts";
import { pingFromChild } from "../harness/pinger.ts";
import { SSEViewer } from "../harness/sse.ts";
import { percentile, sleep, waitFor } from "../harness/wait.ts";

// Hostile workloads (D09, E03 and the SIGTERM case): a crash-looping container, one that ignores
// SIGTERM, and a log flood followed by 20 SSE viewers (plus stalled and vanished ones). The daemon's
// event-loop delay and memory are read from a probe loaded into the process (test/harness/probe.ts).

const MB = 1024 * 1024;
let dockerd: Dockerd;
let d: Daemon;

beforeAll(async () => {
  dockerd = await Dockerd.start();
  await buildWorkloads(dockerd.socketPath, ["idle", "crash", "stubborn", "flood"]);
  d = await Daemon.start({ dockerSocket: dockerd.socketPath, probe: true });
});

afterAll(async () => {
  await d?.destroy();
  await dockerd?.destroy();
});

async function containerCreates(since: number, instance: string): Promise<number> {
  const stream = (await dockerd.docker.getEvents({
    since: Math.floor(since / 1000),
    until: Math.ceil(Date.now() / 1000),
    filters: { type: ["container"], event: ["create"], label: instanceFilter(instance).label },
  })) as unknown as NodeJS.ReadableStream;
  let text = "";
  for await (const chunk of stream) text += chunk.toString();
  return text.split("\n").filter((l) => l.trim() !== "").length;
}

async function healthLatencies(ms: number): Promise<number[]> {
  const out: number[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    out.push((await d.request("GET", "/api/projects")).ms);
    await sleep(100);
  }
  return out;
}

describe("hostile workloads", () => {
  it("a crash-looping container fails its deployment with the exit code and is not recreated in a hot loop", async () => {
    const since = Date.now();
    const p = await stageProject(d, "crashy", [{ name: "boom", image: WORKLOADS.crash.tag }]);
    await apply(d, p.id);
    const dep = await waitFor(() => dbState(d).deployments.find((x) => x.status === "failed"), {
      // 3 bad observations on the 2 s fast tick, once Docker's restart backoff shows the climb.
      timeoutMs: 45_000,
      what: "the crash-looping deployment to fail",
    });
    const full = await d.must("GET", `/api/projects/${p.id}/services/${dep.service_id}/deployments/${dep.id}`, 200);
    expect(String(full.failure_reason)).toMatch(/exit|restart/i);
    expect(String(full.log_tail ?? "")).toContain("boom");
    const svc = await d.must("GET", `/api/projects/${p.id}/services/${dep.service_id}`, 200);
    expect(svc.status).toBe("failed");
    // Docker's restart policy does the restarting; DeployKit created the container once (three attempts at most).
    expect(await containerCreates(since, d.instanceID())).toBeLessThanOrEqual(3);
    await waitFor(async () => (await checkInvariants(d, dockerd.socketPath)).length === 0, {
      timeoutMs: 30_000,
      what: "the failed deployment's container to be torn down",
    });
  });

  it("a container that ignores SIGTERM is still removed (stop timeout, then kill) while the API stays responsive", async () => {
    const p = await stageProject(d, "stubborn", [{ name: "mule", image: WORKLOADS.stubborn.tag }]);
    await apply(d, p.id);
    const svc = dbState(d).services.find((s) => s.project_id === p.id)!;
    await waitFor(() => dbState(d).containers.some((c) => c.service_id === svc.id && c.status === "running"), {
      timeoutMs: 30_000,
      what: "container running",
    });
    await d.must("DELETE", `/api/projects/${p.id}/services/${svc.id}`, 200);
    await apply(d, p.id);
    const t0 = Date.now();
    const lat = healthLatencies(5000);
    await waitFor(
      async () => (await dockerd.docker.listContainers({ all: true, filters: { label: [`deploykit.service-id=${svc.id}`] } })).length === 0,
      // The default stop grace is 30 s (issue 18), then SIGKILL.
      { timeoutMs: 60_000, intervalMs: 250, what: "the SIGTERM-ignoring container to be gone" },
    );
    const removedAfter = Date.now() - t0;
    expect(percentile(await lat, 99)).toBeLessThan(1000);
    console.log(`SIGTERM-ignoring container removed ${removedAfter} ms after Apply`);
  });

  it("log flood with 20 viewers, one stalled and five vanishing: memory bounded, event loop responsive", async () => {
    const p = await stageProject(d, "flood", [{ name: "yes", image: WORKLOADS.flood.tag, resources: { cpus: 0.5 } } as never]);
    await apply(d, p.id);
    const svcID = dbState(d).services.find((s) => s.project_id === p.id)!.id as string;
    await waitFor(() => dbState(d).containers.some((c) => c.service_id === svcID && c.status === "running"), {
      timeoutMs: 30_000,
      what: "flood container running",
    });
    const url = `${d.url}/api/projects/${p.id}/services/${svcID}/logs?tail=100`;
    await sleep(1000);
    const fds0 = d.fdCount();
    const base = await d.probeAfterGC();
    const t0 = Date.now();

    // A user may hold 10 log streams (issue 10): the 20 viewers are the admin and a member, 10 each.
    const member = "viewer@faults.test";
    await d.must("POST", "/api/users", 201, { body: { email: member, name: "Viewer", password: "viewer-password-long", role: "member" } });
    const memberToken = (await d.login(member, "viewer-password-long")).access_token;
    const viewers = Array.from({ length: 20 }, (_, i) => new SSEViewer(url, i % 2 ? memberToken : d.token, { stalled: i === 0 }));
    expect(await Promise.all(viewers.map((v) => v.ready))).toEqual(Array(20).fill(200));
    const sched0 = d.schedstat();
    const wall0 = performance.now();
    const lat = pingFromChild(`${d.url}/api/projects`, d.token, 6000);
    await sleep(3000);
    const early = await d.probe(Date.now());
    for (const v of viewers.slice(15)) v.vanish();
    const { latencies, statuses } = await lat;
    const during = await d.probe(Date.now());
    // The share of the window the daemon's main thread was ready to run but had no CPU: beside three
    // other test lanes on two cores it reached most of it, and stalls and latencies grow with it.
    const sched1 = d.schedstat();
    const starved = Math.min(0.9, (sched1.waitNs - sched0.waitNs) / 1e6 / (performance.now() - wall0));
    const readers = viewers.slice(1, 15);
    const stalled = viewers[0]!;
    const perViewer = readers.map((v) => v.lines);
    const seconds = (Date.now() - t0) / 1000;

    for (const v of viewers) v.vanish();
    await sleep(3000);
    const after = await d.probeAfterGC();
    const fds1 = d.fdCount();

    const figures = {
      lines_per_viewer_per_s: Math.round(percentile(perViewer, 50) / seconds),
      min_lines_per_viewer: Math.min(...perViewer),
      dropped_reported: readers.reduce((a, v) => a + v.dropped, 0),
      stalled_viewer_bytes: stalled.bytes,
      eld_p99_ms: during.eld.p99,
      eld_max_ms: during.eld.max,
      api_p99_ms: Math.round(percentile(latencies, 99)),
      api_statuses: statuses,
      rss_base_mb: Math.round(base.rss / MB),
      rss_at_4s_mb: Math.round(early.rss / MB),
      rss_peak_mb: Math.round(during.max_rss / MB),
      rss_after_mb: Math.round(after.rss / MB),
      heap_base_mb: Math.round(base.heap_used / MB),
      heap_after_mb: Math.round(after.heap_used / MB),
      fds_before: fds0,
      fds_after: fds1,
      cpu_wait_share: Math.round(starved * 100) / 100,
    };
    console.log(`log flood figures: ${JSON.stringify(figures)}`);
    // Thresholds leave room for a shared 2-core machine; the figures themselves are reported.
    expect(Math.min(...perViewer)).toBeGreaterThan(1000);
    // Responsive: no stall near a second while 20 viewers are fed. On a quiet 2-core machine the
    // flood itself (the container, 20 readers in this process) leaves the daemon waiting for a CPU
    // about half of the window (0.49 measured); when other processes take more, the bounds stretch
    // by as much as its share of CPU shrank (0.82 with eight CPU hogs: 2.8 times), three times at most:
    // a daemon that burns CPU itself also waits more, and must not excuse itself beyond that.
    const stretch = Math.min(3, Math.max(1, 0.5 / (1 - starved)));
    expect(during.eld.max).toBeLessThan(1000 * stretch);
    expect(statuses).toEqual({ 200: latencies.length });
    expect(figures.api_p99_ms).toBeLessThan(2000 * stretch);
    // Bounded: RSS grows by buffers and V8's young generation, not without limit; once the viewers
    // are gone the live heap is back to where it started (nothing retained per viewer or per line).
    expect(during.max_rss - base.rss).toBeLessThan(300 * MB);
    expect(after.heap_used - base.heap_used).toBeLessThan(40 * MB);
    expect(fds1).toBeLessThanOrEqual(fds0 + 5);
  });
});
