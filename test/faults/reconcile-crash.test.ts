import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../harness/daemon.ts";
import { Dockerd } from "../harness/dockerd.ts";
import { buildWorkloads, WORKLOADS } from "../harness/images.ts";
import { apply, checkInvariants, dbState, stageProject, waitConverged } from "../harness/invariants.ts";
import { waitFor } from "../harness/wait.ts";

// D05 for the reconciler: deploykitd SIGKILLs itself at each step of a reconcile pass (test-only
// fault points), is restarted on the same data and must converge: one running container per desired
// replica, container rows true to Docker, no deployment left starting, nothing leaked or duplicated.
// The points run concurrently, one daemon each, against one disposable dockerd.
const CREATE_POINTS = [
  "reconcile:after-network",
  "reconcile:after-mark-starting",
  "reconcile:after-container-start",
  "reconcile:after-container-row",
  "reconcile:before-promote",
  "reconcile:after-alias",
  "reconcile:after-promote",
];
const REMOVE_POINT = "reconcile:after-container-remove";

let dockerd: Dockerd;
const daemons: Daemon[] = [];

beforeAll(async () => {
  dockerd = await Dockerd.start();
  await buildWorkloads(dockerd.socketPath, ["idle"]);
});

afterAll(async () => {
  await Promise.all(daemons.map((d) => d.destroy()));
  await dockerd?.destroy();
});

/** Deploys a two-replica service and a service with a volume on a daemon armed with `point`; returns once it died there. */
async function crashDuringDeploy(point: string): Promise<{ d: Daemon; projectID: string }> {
  const d = await Daemon.start({ dockerSocket: dockerd.socketPath, env: { DEPLOYKIT_FAULT_POINT: point } });
  daemons.push(d);
  const p = await stageProject(d, "rc", [
    { name: "web", image: WORKLOADS.idle.tag, replicas: 2 },
    { name: "db", image: WORKLOADS.idle.tag, volumes: [{ name: "data", mount_path: "/data" }] },
  ]);
  await apply(d, p.id);
  // Seven daemons promote concurrently on a shared 2-core machine: the promote points need the 10 s
  // stable window plus a loaded machine's fast ticks.
  const exit = await d.waitExit(60_000).catch((err: Error) => {
    throw new Error(`${point}: ${err.message}`);
  });
  expect(exit.signal, point).toBe("SIGKILL");
  return { d, projectID: p.id };
}

describe("SIGKILL at every step of a reconcile pass", () => {
  it("every creation step: the restarted daemon converges without duplicates and promotes the deployment", async () => {
    const runs = await Promise.all(CREATE_POINTS.map((point) => crashDuringDeploy(point).then((r) => ({ ...r, point }))));
    await Promise.all(
      runs.map(async ({ d, point }) => {
        await d.restart();
        expect(d.integrity(), point).toEqual({ integrity: "ok", foreignKeyViolations: 0 });
        await waitConverged(d, dockerd.socketPath, 75_000);
        const st = dbState(d);
        expect(
          st.deployments.map((x) => x.status),
          point,
        ).toEqual(["healthy", "healthy"]);
        expect(st.containers, point).toHaveLength(3);
        expect(
          st.services.map((s) => s.status),
          point,
        ).toEqual(["running", "running"]);
        const vols = await dockerd.docker.listVolumes({ filters: { label: [`deploykit.instance=${d.instanceID()}`] } });
        expect(vols.Volumes ?? [], point).toHaveLength(1);
      }),
    );
  }, 240_000);

  it("stop-first redeploy of a volume service: a SIGKILL at each handover step never leaves two containers on the volume", async () => {
    const points = ["reconcile:after-container-remove", "reconcile:volume-free", "reconcile:after-container-start"];
    const runs = await Promise.all(
      points.map(async (point) => {
        const d = await Daemon.start({ dockerSocket: dockerd.socketPath });
        daemons.push(d);
        const p = await stageProject(d, "vh", [
          { name: "db", image: WORKLOADS.idle.tag, volumes: [{ name: "data", mount_path: "/data" }] },
        ]);
        await apply(d, p.id);
        await waitConverged(d, dockerd.socketPath, 60_000);
        const svc = dbState(d).services[0]!;
        return { d, p, svc, point };
      }),
    );
    // One watcher over every run's service: Docker sampled every 100 ms, all states counted.
    let maxSeen = 0;
    let watching = true;
    const ids = runs.map((r) => String(r.svc.id));
    const watcher = (async () => {
      while (watching) {
        const list = await dockerd.docker.listContainers({ all: true }).catch(() => []);
        for (const id of ids) maxSeen = Math.max(maxSeen, list.filter((c) => c.Labels["deploykit.service-id"] === id).length);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      await Promise.all(
        runs.map(async ({ d, p, svc, point }) => {
          await d.restart({ DEPLOYKIT_FAULT_POINT: point });
          await d.must("PATCH", `/api/projects/${p.id}/services/${svc.id}`, 200, { body: { stop_grace_seconds: 5 } });
          await d.request("POST", `/api/projects/${p.id}/deploy`).catch(() => null);
          expect((await d.waitExit(60_000)).signal, point).toBe("SIGKILL");
          await d.restart();
          expect(d.integrity(), point).toEqual({ integrity: "ok", foreignKeyViolations: 0 });
          await waitConverged(d, dockerd.socketPath, 75_000);
          const st = dbState(d);
          expect(
            st.deployments.map((x) => x.status),
            point,
          ).toEqual(["superseded", "healthy"]);
          expect(st.containers, point).toHaveLength(1);
        }),
      );
    } finally {
      watching = false;
      await watcher;
    }
    expect(maxSeen).toBe(1);
  }, 300_000);

  it("teardown step: a deleted service's containers, rows and volumes are gone after the restart", async () => {
    const d = await Daemon.start({ dockerSocket: dockerd.socketPath });
    daemons.push(d);
    const p = await stageProject(d, "rm", [{ name: "web", image: WORKLOADS.idle.tag, volumes: [{ name: "data", mount_path: "/data" }] }]);
    await apply(d, p.id);
    await waitFor(() => dbState(d).containers.length === 1, { timeoutMs: 30_000, what: "the container row" });
    const svc = dbState(d).services[0]!;

    await d.restart({ DEPLOYKIT_FAULT_POINT: REMOVE_POINT });
    await d.must("DELETE", `/api/projects/${p.id}/services/${svc.id}`, 200);
    await d.request("POST", `/api/projects/${p.id}/deploy`).catch(() => null);
    expect((await d.waitExit(40_000)).signal).toBe("SIGKILL");

    await d.restart();
    expect(d.integrity()).toEqual({ integrity: "ok", foreignKeyViolations: 0 });
    await waitFor(
      async () => {
        const vols = await dockerd.docker.listVolumes({ filters: { label: [`deploykit.instance=${d.instanceID()}`] } });
        return (vols.Volumes ?? []).length === 0 && (await checkInvariants(d, dockerd.socketPath)).length === 0;
      },
      { timeoutMs: 45_000, what: "the deleted service's objects to be gone" },
    );
    const st = dbState(d);
    expect(st.services).toHaveLength(0);
    expect(st.containers).toHaveLength(0);
  });
});
