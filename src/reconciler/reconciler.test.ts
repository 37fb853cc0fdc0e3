import { afterEach, describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import type { Reconciler, ReconcilerOptions } from "./reconciler.ts";
import { type Clock, reconcilerFixture } from "./testutil.ts";

const INSTANCE = "inst-test";
const running: Reconciler[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

const setup = (opts: Partial<ReconcilerOptions> = {}) => reconcilerFixture(INSTANCE, running, opts);

/** A service whose deployment is healthy and whose container runs (as after an earlier pass). */
async function mustDeployHealthy(
  h: ReturnType<typeof setup>,
  name: string,
  input: Partial<deploykit.DeploymentCreate> = {},
  settings: Partial<deploykit.ServiceCreate> = {},
) {
  const svc = h.store.addService(h.project.id, name, settings);
  const dep = h.store.addDeployment(svc.id, { image: "app:1", ...input });
  h.rt.startedAgoMs = 60_000;
  await h.rec.reconcileOnce();
  h.rt.startedAgoMs = 0;
  expect(h.store.dep(dep.id).status).toBe("healthy");
  return { svc, dep };
}

async function passes(rec: Reconciler, n: number, clock?: Clock, stepMs = 2_000): Promise<void> {
  for (let i = 0; i < n; i++) {
    clock?.advance(stepMs);
    await rec.reconcileOnce();
  }
}

describe("Reconciler lifecycle", () => {
  it("promotes a good deployment in one pass when the container started long enough ago", async () => {
    const h = setup();
    h.rt.startedAgoMs = 11_000;
    const svc = h.store.addService(h.project.id, "web");
    const dep = h.store.addDeployment(svc.id, { image: "app:1", env_vars: { A: "1" }, ports: [{ container_port: 80 }], replicas: 2 });
    await h.rec.reconcileOnce();

    expect(h.store.dep(dep.id).status).toBe("healthy");
    expect(h.store.svc(svc.id)).toMatchObject({ status: "running", active_deployment_id: dep.id });
    const cs = h.rt.ofService(svc.id);
    expect(cs.map((c) => c.name).sort()).toEqual([`dk-shop-web-0-${dep.id.slice(0, 8)}`, `dk-shop-web-1-${dep.id.slice(0, 8)}`]);
    expect(cs[0]).toMatchObject({ network: "dk-shop", aliases: ["web"], env: { A: "1" } });
    expect(cs[0]!.labels).toMatchObject({
      [deploykit.LABEL_MANAGED_BY]: "deploykit",
      [deploykit.LABEL_INSTANCE]: INSTANCE,
      [deploykit.LABEL_PROJECT_ID]: h.project.id,
      [deploykit.LABEL_SERVICE_ID]: svc.id,
      [deploykit.LABEL_DEPLOYMENT_ID]: dep.id,
      [deploykit.LABEL_REPLICA_INDEX]: "0",
    });
    expect(h.rt.networks.get("dk-shop")?.labels[deploykit.LABEL_INSTANCE]).toBe(INSTANCE);
    expect(h.store.rowsOf(svc.id).map((r) => r.status)).toEqual(["running", "running"]);
    expect(h.bus.types()).toEqual([
      "deployment.starting",
      "container.created",
      "container.created",
      "deployment.healthy",
      "service.status.changed",
    ]);
    expect(h.bus.ofType("service.status.changed")).toEqual([{ service_id: svc.id, old_status: "deploying", new_status: "running" }]);
  });

  it("waits for the stable window before promoting", async () => {
    const h = setup();
    const svc = h.store.addService(h.project.id, "web");
    const dep = h.store.addDeployment(svc.id, { image: "app:1" });
    await h.rec.reconcileOnce();
    expect(h.store.dep(dep.id).status).toBe("starting");
    h.clock.advance(9_000);
    await h.rec.reconcileOnce();
    expect(h.store.dep(dep.id).status).toBe("starting");
    h.clock.advance(1_000);
    await h.rec.reconcileOnce();
    expect(h.store.dep(dep.id).status).toBe("healthy");
    expect(h.rt.count("runContainer")).toBe(1);
  });

  it("keeps the old deployment serving when the new image is bad, and fails it after 3 attempts", async () => {
    const h = setup();
    const { svc, dep: old } = await mustDeployHealthy(h, "web");
    const oldContainer = h.rt.ofService(svc.id)[0]!;
    const bad = h.store.addDeployment(svc.id, { image: "nope:404" });
    h.bus.events.length = 0;

    await h.rec.reconcileOnce();
    expect(h.store.dep(bad.id)).toMatchObject({ status: "pending", attempt_count: 1 });
    await passes(h.rec, 2, h.clock);
    expect(h.store.dep(bad.id)).toMatchObject({ status: "failed", attempt_count: 3 });
    expect(h.store.dep(bad.id).failure_reason).toBe("image pull failed: pull access denied for nope:404");
    expect(h.bus.ofType("deployment.failed")).toEqual([
      {
        deployment_id: bad.id,
        service_id: svc.id,
        status: "failed",
        failure_reason: "image pull failed: pull access denied for nope:404",
        attempt_count: 3,
      },
    ]);
    expect(h.store.dep(old.id).status).toBe("healthy");
    expect(h.store.svc(svc.id)).toMatchObject({ status: "running", active_deployment_id: old.id });
    expect(h.rt.ofService(svc.id).map((c) => c.docker_id)).toEqual([oldContainer.docker_id]);
    expect(h.bus.ofType("service.status.changed")).toEqual([]);
  });

  it("fails a first deployment after 3 failed attempts and marks the service failed", async () => {
    const h = setup();
    const svc = h.store.addService(h.project.id, "web");
    const dep = h.store.addDeployment(svc.id, { image: "missing:1" });
    await passes(h.rec, 3, h.clock);
    expect(h.store.dep(dep.id)).toMatchObject({ status: "failed", attempt_count: 3 });
    expect(h.store.svc(svc.id).status).toBe("failed");
    expect(h.bus.ofType("service.status.changed")).toEqual([{ service_id: svc.id, old_status: "deploying", new_status: "failed" }]);
    expect(h.rt.count("runContainer")).toBe(0);
  });

  it("counts an unreachable registry as a failed attempt, not as Docker being down", async () => {
    const h = setup();
    h.rt.unreachableRegistries = ["registry.invalid:5000"];
    const svc = h.store.addService(h.project.id, "web");
    const dep = h.store.addDeployment(svc.id, { image: "registry.invalid:5000/app:1" });
    await passes(h.rec, 3, h.clock);
    expect(h.store.dep(dep.id)).toMatchObject({
      status: "failed",
      attempt_count: 3,
      failure_reason: "image pull failed: dial tcp registry.invalid:5000: connect: connection refused",
    });
    expect(h.rec.status().docker_reachable).toBe(true);
  });

  it("a promotion after a failed attempt clears the attempt's reason and records when it started", async () => {
    const h = setup();
    h.rt.unreachableRegistries = ["registry.invalid:5000"];
    const svc = h.store.addService(h.project.id, "web");
    const dep = h.store.addDeployment(svc.id, { image: "registry.invalid:5000/app:1" });
    await passes(h.rec, 1, h.clock);
    expect(h.store.dep(dep.id)).toMatchObject({ attempt_count: 1, failure_reason: expect.stringContaining("image pull failed") });
    h.rt.unreachableRegistries = [];
    h.rt.images.add("registry.invalid:5000/app:1");
    h.rt.startedAgoMs = 60_000;
    await passes(h.rec, 2, h.clock, 20_000);
    const promoted = h.store.dep(dep.id);
    expect(promoted.status).toBe("healthy");
    expect(promoted.failure_reason).toBeUndefined();
    expect(promoted.started_at).toBeDefined();
  });

  it("blames failures on Docker, not the deployment, while it is down and just after it is back", async () => {
    const h = setup();
    const svc = h.store.addService(h.project.id, "web");
    const dep = h.store.addDeployment(svc.id, { image: "app:1" });
    // Docker answering oddly while it shuts down or starts (here: a name clash on create).
    h.rt.addForeign(`dk-shop-web-0-${dep.id.slice(0, 8)}`, {});
    h.rt.failList.containers = true;
    await expect(h.rec.reconcileOnce()).rejects.toMatchObject({ code: deploykit.EUNAVAILABLE });
    h.rt.failList = {};
    await expect(h.rec.reconcileOnce()).rejects.toMatchObject({ code: deploykit.ECONFLICT });
    h.clock.advance(9_000);
    await expect(h.rec.reconcileOnce()).rejects.toMatchObject({ code: deploykit.ECONFLICT });
    expect(h.store.dep(dep.id)).toMatchObject({ status: "starting", attempt_count: 0 });
    h.clock.advance(1_000);
    await h.rec.reconcileOnce();
    expect(h.store.dep(dep.id).attempt_count).toBe(1);
  });

  it("counts a failed container start as an attempt", async () => {
    const h = setup();
    const svc = h.store.addService(h.project.id, "web");
    const dep = h.store.addDeployment(svc.id, { image: "app:1" });
    h.rt.addForeign(`dk-shop-web-0-${dep.id.slice(0, 8)}`, {});
    await passes(h.rec, 3, h.clock);
    expect(h.store.dep(dep.id).status).toBe("failed");
    expect(h.store.dep(dep.id).failure_reason).toMatch(/^container start failed: Conflict/);
  });

  it("publishes TCP host ports through the forwarder and switches them to the new deployment at promotion", async () => {
    const routes = new Map<string, deploykit.PortRoute[]>();
    const forwarder = { setServiceRoutes: (id: string, r: deploykit.PortRoute[]) => void routes.set(id, r) };
    const h = setup({ forwarder });
    const ports = [
      { container_port: 80, host_port: 8080 },
      { container_port: 53, host_port: 5353, protocol: "udp" as const },
    ];
    const { svc } = await mustDeployHealthy(h, "web", { ports });
    const first = h.rt.ofService(svc.id)[0]!;
    // The daemon publishes TCP itself; UDP stays a container binding.
    expect(first.ports).toEqual([{ container_port: 80, protocol: "tcp" }, ports[1]]);
    expect(routes.get(svc.id)).toEqual([{ host_port: 8080, targets: [{ host: first.ip, port: 80 }] }]);

    const next = h.store.addDeployment(svc.id, { image: "app:2", ports });
    await h.rec.reconcileOnce();
    expect(h.store.dep(next.id).status).toBe("starting");
    expect(routes.get(svc.id)).toEqual([{ host_port: 8080, targets: [{ host: first.ip, port: 80 }] }]);
    h.clock.advance(10_000);
    await h.rec.reconcileOnce();
    expect(h.store.dep(next.id).status).toBe("healthy");
    const second = h.rt.ofService(svc.id).find((c) => c.image === "app:2")!;
    // Switched in the promoting pass, while the old container still exists.
    expect(h.rt.containers.has(first.docker_id)).toBe(true);
    expect(routes.get(svc.id)).toEqual([{ host_port: 8080, targets: [{ host: second.ip, port: 80 }] }]);

    h.store.deleteService(svc.id);
    await h.rec.reconcileOnce();
    expect(routes.get(svc.id)).toEqual([]);
  });

  it("tells the proxy which containers serve (all replicas), switching at promotion and draining before the old ones stop", async () => {
    const upstreams = new Map<string, string[]>();
    const asked: number[] = [];
    let proxyDrainLeftMs = 0;
    const ingress: deploykit.IngressRoutes = {
      setServiceUpstreams: async (id, hosts) => {
        await new Promise((r) => setTimeout(r, 5));
        upstreams.set(id, hosts);
      },
      drainLeftMs: (_id, seconds) => {
        asked.push(seconds);
        return proxyDrainLeftMs;
      },
    };
    const h = setup({ ingress });
    const ports = [{ container_port: 80 }];
    const { svc } = await mustDeployHealthy(h, "web", { replicas: 2, ports }, { drain_seconds: 7 });
    const first = h.rt.ofService(svc.id);
    expect(upstreams.get(svc.id)?.sort()).toEqual(first.map((c) => c.ip).sort());

    const next = h.store.addDeployment(svc.id, { image: "app:2", replicas: 2, ports });
    await h.rec.reconcileOnce();
    expect(h.store.dep(next.id).status).toBe("starting");
    h.clock.advance(10_000);
    await h.rec.reconcileOnce();
    expect(h.store.dep(next.id).status).toBe("healthy");
    const second = h.rt.ofService(svc.id).filter((c) => c.image === "app:2");
    // Switched (and awaited) in the promoting pass, while the old containers still exist.
    expect(upstreams.get(svc.id)?.sort()).toEqual(second.map((c) => c.ip).sort());
    expect(first.every((c) => h.rt.containers.has(c.docker_id))).toBe(true);
    // The old containers left the service name at promotion: they run on for the service's drain_seconds.
    h.clock.advance(6_999);
    await h.rec.reconcileOnce();
    expect(first.every((c) => h.rt.containers.has(c.docker_id))).toBe(true);
    // Past it, they still wait for as long as the proxy says its route left them less than drain_seconds ago.
    h.clock.advance(1);
    proxyDrainLeftMs = 300;
    await h.rec.reconcileOnce();
    expect(first.every((c) => h.rt.containers.has(c.docker_id))).toBe(true);
    expect(asked.at(-1)).toBe(7);
    proxyDrainLeftMs = 0;
    await h.rec.reconcileOnce();
    expect(first.some((c) => h.rt.containers.has(c.docker_id))).toBe(false);

    h.store.deleteService(svc.id);
    await h.rec.reconcileOnce();
    expect(upstreams.get(svc.id)).toEqual([]);
  });

  it("supersedes the old deployment when the new one is healthy and removes its containers on the next pass", async () => {
    const h = setup();
    const { svc, dep: old } = await mustDeployHealthy(h, "web");
    const oldID = h.rt.ofService(svc.id)[0]!.docker_id;
    const next = h.store.addDeployment(svc.id, { image: "app:2" });

    await h.rec.reconcileOnce();
    expect(h.store.dep(next.id).status).toBe("starting");
    expect(h.rt.ofService(svc.id)).toHaveLength(2);
    h.clock.advance(10_000);
    await h.rec.reconcileOnce();
    expect(h.store.dep(next.id).status).toBe("healthy");
    expect(h.store.dep(old.id).status).toBe("superseded");
    // Zero downtime: the old container answered until the promotion, and drains unnamed for drain_seconds.
    expect(h.rt.containers.has(oldID)).toBe(true);
    h.clock.advance(deploykit.DEFAULT_DRAIN_SECONDS * 1000);
    await h.rec.reconcileOnce();
    expect(h.rt.containers.has(oldID)).toBe(false);
    expect(h.rt.ofService(svc.id).map((c) => c.image)).toEqual(["app:2"]);
    expect(h.store.rowsOf(svc.id).map((r) => r.deployment_id)).toEqual([next.id]);
    expect(h.bus.ofType("container.deleted")).toHaveLength(1);
  });

  // Under the unless-stopped policy Docker restarts a container that exits by itself (the restart
  // count climbs, see below); one left exited or never started was stopped by someone else — a dockerd
  // shutdown, as the fault suite found (test/faults/dockerd.test.ts D02). It is replaced, not failed.
  it.each(["exited", "dead", "created"])(
    "replaces a starting deployment's container left %s instead of failing the deployment",
    async (state) => {
      const h = setup();
      const { svc, dep: old } = await mustDeployHealthy(h, "web");
      let runs = 0;
      h.rt.onRun = (c) => {
        if (runs++ > 0) return;
        c.state = state;
        c.exit_code = 0;
      };
      const dep = h.store.addDeployment(svc.id, { image: "app:2" });
      await passes(h.rec, 4, h.clock);
      expect(h.store.dep(dep.id).status).toBe("starting");
      expect(runs).toBe(2);
      const running = h.rt.ofService(svc.id).filter((c) => c.image === "app:2");
      expect(running.map((c) => c.state)).toEqual(["running"]);
      await passes(h.rec, 6, h.clock);
      expect(h.store.dep(dep.id).status).toBe("healthy");
      expect(h.store.dep(old.id).status).toBe("superseded");
      expect(h.store.rowsOf(svc.id).map((r) => r.docker_container_id)).toEqual(running.map((c) => c.docker_id));
    },
  );

  // Found by the fault suite (D03): replacing containers the moment dockerd's shutdown stopped them
  // removed them mid-shutdown (overlay "device or resource busy", a container stuck in removal). A
  // restarting dockerd restarts its own containers; only one still stopped after the grace is replaced.
  it("leaves a freshly stopped container to Docker for the grace period, then replaces it", async () => {
    const h = setup();
    const { svc, dep } = await mustDeployHealthy(h, "web");
    const c = h.rt.ofService(svc.id)[0]!;
    c.state = "exited";
    c.exit_code = 0;
    c.finished_at = new Date(h.clock.now()).toISOString();
    await passes(h.rec, 3, h.clock);
    expect(h.rt.ofService(svc.id).map((x) => x.docker_id)).toEqual([c.docker_id]);
    h.clock.advance(15_000);
    await h.rec.reconcileOnce();
    const now = h.rt.ofService(svc.id);
    expect(now.map((x) => [x.docker_id === c.docker_id, x.state])).toEqual([[false, "running"]]);
    expect(h.store.dep(dep.id)).toMatchObject({ status: "healthy", attempt_count: 0 });
  });

  // Found by the fault suite (D02): while dockerd shut down, replacing a healthy deployment's stopped
  // replica failed with "failed to update store for object type *libnetwork.endpoint" and was counted
  // as an attempt — three of those would have failed a deployment that was serving.
  it("never counts a failed replacement of a healthy deployment's replica against it", async () => {
    const h = setup();
    const { svc, dep } = await mustDeployHealthy(h, "web", { replicas: 2 });
    h.rt.containers.delete(h.rt.ofService(svc.id)[0]!.docker_id);
    h.rt.onRun = () => {
      throw deploykit.errorf(deploykit.EINTERNAL, "failed to update store for object type *libnetwork.endpoint");
    };
    for (let i = 0; i < 5; i++) {
      h.clock.advance(2_000);
      // The pass reports the failure (its worker retries it with backoff).
      await expect(h.rec.reconcileOnce()).rejects.toThrow(/libnetwork/);
    }
    expect(h.store.dep(dep.id)).toMatchObject({ status: "healthy", attempt_count: 0 });
    expect(h.store.svc(svc.id).status).toBe("degraded");
    h.rt.onRun = undefined;
    await passes(h.rec, 1, h.clock);
    expect(h.rt.ofService(svc.id)).toHaveLength(2);
    expect(h.store.svc(svc.id).status).toBe("running");
  });

  it("fails a starting deployment whose restart count keeps climbing", async () => {
    const h = setup();
    const svc = h.store.addService(h.project.id, "web");
    const dep = h.store.addDeployment(svc.id, { image: "app:1" });
    await h.rec.reconcileOnce();
    for (let i = 0; i < 3; i++) {
      const c = h.rt.ofService(svc.id)[0]!;
      c.restart_count++;
      c.started_at = new Date(h.clock.now()).toISOString();
      await passes(h.rec, 1, h.clock);
    }
    expect(h.store.dep(dep.id)).toMatchObject({ status: "failed", failure_reason: "container is restarting (restart count 3)" });
    expect(h.store.svc(svc.id).status).toBe("failed");
  });

  it("fails a crash-looping starting deployment with exit code and log tail while the old one keeps serving", async () => {
    const h = setup();
    const { svc, dep: old } = await mustDeployHealthy(h, "web");
    h.rt.onRun = (c) => {
      c.state = "restarting";
      c.restart_count = 2;
      c.exit_code = 3;
      c.logs = Array.from({ length: 80 }, (_, i) => `line ${i}`).join("\n");
    };
    const dep = h.store.addDeployment(svc.id, { image: "app:2" });
    await passes(h.rec, 2, h.clock);
    expect(h.store.dep(dep.id).status).toBe("starting");
    await passes(h.rec, 1, h.clock);
    const failed = h.store.dep(dep.id);
    expect(failed).toMatchObject({ status: "failed", exit_code: 3, failure_reason: "container exited with code 3" });
    expect(failed.log_tail?.split("\n")).toHaveLength(50);
    expect(failed.log_tail?.endsWith("line 79")).toBe(true);
    expect(h.bus.ofType("deployment.failed")).toEqual([
      { deployment_id: dep.id, service_id: svc.id, status: "failed", failure_reason: "container exited with code 3", attempt_count: 0 },
    ]);
    expect(h.store.dep(old.id).status).toBe("healthy");
    await h.rec.reconcileOnce();
    expect(h.rt.ofService(svc.id).map((c) => c.image)).toEqual(["app:1"]);
    expect(h.store.svc(svc.id).status).toBe("running");
  });

  it("fails a starting deployment that Docker keeps restarting", async () => {
    const h = setup();
    const svc = h.store.addService(h.project.id, "web");
    h.rt.onRun = (c) => {
      c.state = "restarting";
      c.restart_count = 5;
      c.logs = "boom";
    };
    const dep = h.store.addDeployment(svc.id, { image: "app:1" });
    await passes(h.rec, 3, h.clock);
    expect(h.store.dep(dep.id)).toMatchObject({
      status: "failed",
      failure_reason: "container is restarting (restart count 5)",
      log_tail: "boom",
    });
  });

  it.each([
    { replicas: 2, crashing: [0], want: "degraded" },
    { replicas: 1, crashing: [0], want: "failed" },
    { replicas: 2, crashing: [0, 1], want: "failed" },
  ])(
    "marks a service $want when $crashing of $replicas replicas of its healthy deployment crash-loop",
    async ({ replicas, crashing, want }) => {
      const h = setup();
      const { svc, dep } = await mustDeployHealthy(h, "web", { replicas });
      for (let i = 0; i < 3; i++) {
        for (const r of crashing) {
          const c = h.rt.ofService(svc.id).find((x) => x.labels[deploykit.LABEL_REPLICA_INDEX] === String(r))!;
          c.restart_count++;
          c.started_at = new Date(h.clock.now()).toISOString();
        }
        await passes(h.rec, 1, h.clock);
      }
      expect(h.store.dep(dep.id).status).toBe("healthy");
      expect(h.store.svc(svc.id).status).toBe(want);
      expect(h.bus.ofType("service.status.changed").at(-1)).toEqual({ service_id: svc.id, old_status: "running", new_status: want });
      // Once the replica has run quietly for the stable window the service is running again.
      h.clock.advance(10_000);
      await h.rec.reconcileOnce();
      expect(h.store.svc(svc.id).status).toBe("running");
    },
  );

  it("keeps the promotion baseline across a reconciler restart", async () => {
    const h = setup();
    const svc = h.store.addService(h.project.id, "web");
    h.rt.onRun = (c) => {
      c.restart_count = 4;
    };
    h.rt.startedAgoMs = 60_000;
    const dep = h.store.addDeployment(svc.id, { image: "app:1" });
    await h.rec.reconcileOnce();
    expect(h.store.dep(dep.id)).toMatchObject({ status: "healthy", baseline_restart_count: 4 });
    await h.rec.stop();

    const fresh = h.make();
    await passes(fresh, 4, h.clock);
    expect(h.store.svc(svc.id).status).toBe("running");
    expect(h.rt.count("runContainer")).toBe(1);
  });
});

describe("Reconciler and Docker state", () => {
  it("treats a failed container list as unknown: nothing removed, created or forgotten", async () => {
    const h = setup();
    const { svc } = await mustDeployHealthy(h, "web");
    const next = h.store.addDeployment(svc.id, { image: "app:2" });
    h.store.deleteService(h.store.addService(h.project.id, "gone").id);
    h.rt.failList.containers = true;
    h.rt.resetCalls();
    await expect(h.rec.reconcileOnce()).rejects.toMatchObject({ code: deploykit.EUNAVAILABLE });
    expect(h.rt.count("removeContainer")).toBe(0);
    expect(h.rt.count("runContainer")).toBe(0);
    expect(h.store.rowsOf(svc.id)).toHaveLength(1);
    expect(h.store.dep(next.id).status).toBe("pending");
    expect(h.rec.status()).toMatchObject({ docker_reachable: false });
  });

  it("creates nothing when the network or volume list fails, and removes no network", async () => {
    const h = setup();
    const svc = h.store.addService(h.project.id, "db");
    const dep = h.store.addDeployment(svc.id, { image: "app:1", volumes: [{ name: "data", mount_path: "/data" }] });
    h.rt.networks.set("dk-old", { id: "n-old", name: "dk-old", labels: deploykit.instanceLabels(INSTANCE) });
    h.rt.failList = { networks: true };
    await expect(h.rec.reconcileOnce()).rejects.toMatchObject({ code: deploykit.EUNAVAILABLE });
    expect(h.rt.count("runContainer")).toBe(0);
    expect(h.rt.count("removeNetwork")).toBe(0);
    expect(h.rt.networks.has("dk-old")).toBe(true);
    h.rt.failList = { volumes: true };
    await expect(h.rec.reconcileOnce()).rejects.toMatchObject({ code: deploykit.EUNAVAILABLE });
    expect(h.rt.count("runContainer")).toBe(0);
    expect(h.rt.count("ensureVolume")).toBe(0);
    expect(h.store.dep(dep.id).attempt_count).toBe(0);
    h.rt.failList = {};
    await h.rec.reconcileOnce();
    expect(h.rt.ofService(svc.id)).toHaveLength(1);
  });

  it.each([10, 300])("lists Docker a constant number of times for %i services in sync", async (n) => {
    const h = setup();
    for (let i = 0; i < n; i++) {
      const svc = h.store.addService(h.project.id, `svc-${i}`);
      h.store.addDeployment(svc.id, { image: "app:1" });
    }
    h.rt.startedAgoMs = 60_000;
    await h.rec.reconcileOnce();
    expect(h.store.allServices().every((s) => s.status === "running")).toBe(true);
    await h.rec.reconcileOnce(); // old containers of nothing; now everything is in sync
    h.rt.resetCalls();
    h.bus.events.length = 0;
    await h.rec.reconcileOnce();
    expect(h.rt.count("listContainers")).toBe(1);
    expect(h.rt.count("listNetworks")).toBe(1);
    expect(h.rt.count("listVolumes")).toBe(1);
    expect(h.rt.count("runContainer") + h.rt.count("removeContainer") + h.rt.count("ensureImage")).toBe(0);
    expect(h.bus.events).toEqual([]);
  });

  it("keeps the list count constant while creating containers for many services", async () => {
    const h = setup();
    for (let i = 0; i < 50; i++) h.store.addDeployment(h.store.addService(h.project.id, `s${i}`).id, { image: "app:1" });
    await h.rec.reconcileOnce();
    expect(h.rt.count("runContainer")).toBe(50);
    expect(h.rt.count("listContainers")).toBe(1);
    // Concurrent passes of one project create its network once (Docker would accept duplicates).
    expect(h.rt.count("ensureNetwork")).toBe(1);
    // The snapshot was patched with the creations: the next pass lists again and creates nothing more.
    await h.rec.reconcileOnce();
    expect(h.rt.count("runContainer")).toBe(50);
  });

  it("adopts its own containers after a restart instead of recreating them", async () => {
    const h = setup();
    const { svc, dep } = await mustDeployHealthy(h, "web");
    const id = h.rt.ofService(svc.id)[0]!.docker_id;
    h.store.clearContainerRows();
    const fresh = h.make();
    await fresh.reconcileOnce();
    expect(h.rt.count("runContainer")).toBe(1);
    expect(h.store.rowsOf(svc.id)).toMatchObject([{ docker_container_id: id, deployment_id: dep.id, status: "running" }]);
  });

  it("keeps container rows true to Docker", async () => {
    const h = setup();
    const { svc } = await mustDeployHealthy(h, "web", { replicas: 2 });
    const [a, b] = h.rt.ofService(svc.id);
    const byDocker = (id: string) => h.store.rowsOf(svc.id).find((r) => r.docker_container_id === id);
    b!.state = "paused";
    await h.rec.reconcileOnce();
    expect(byDocker(b!.docker_id)?.status).toBe("running");
    // Stopped by someone else: replaced, and the old row goes with it.
    a!.state = "exited";
    await h.rec.reconcileOnce();
    expect(byDocker(a!.docker_id)).toBeUndefined();
    expect(h.rt.ofService(svc.id).filter((c) => c.state === "running")).toHaveLength(1);
    expect(h.store.rowsOf(svc.id)).toHaveLength(2);
    // Removed behind DeployKit's back: the row goes and a replacement is created in the same pass.
    h.rt.containers.delete(b!.docker_id);
    await h.rec.reconcileOnce();
    expect(byDocker(b!.docker_id)).toBeUndefined();
    expect(h.rt.ofService(svc.id)).toHaveLength(2);
    expect(h.store.rowsOf(svc.id)).toHaveLength(2);
  });

  it("ensures labelled volumes and keeps using them after a service rename", async () => {
    const h = setup();
    const svc = h.store.addService(h.project.id, "db");
    const vols = [{ name: "data", mount_path: "/var/lib/data" }];
    h.store.addDeployment(svc.id, { image: "app:1", volumes: vols });
    await h.rec.reconcileOnce();
    expect(h.rt.volumes.get(deploykit.volumeName("shop", svc.id, "data"))).toEqual({
      ...deploykit.instanceLabels(INSTANCE),
      [deploykit.LABEL_PROJECT_ID]: h.project.id,
      [deploykit.LABEL_SERVICE_ID]: svc.id,
      [deploykit.LABEL_VOLUME_NAME]: "data",
    });
    expect(h.rt.ofService(svc.id)[0]!.volumes).toEqual([
      { volume: deploykit.volumeName("shop", svc.id, "data"), mount_path: "/var/lib/data" },
    ]);

    await h.store.services.updateService(svc.id, { name: "postgres" });
    const next = h.store.addDeployment(svc.id, { image: "app:2", volumes: vols });
    await h.rec.reconcileOnce();
    const c = h.rt.ofService(svc.id).find((x) => x.labels[deploykit.LABEL_DEPLOYMENT_ID] === next.id)!;
    expect(c.name).toBe(`dk-shop-postgres-0-${next.id.slice(0, 8)}`);
    // Stop-first: the old container is gone, so the new one gets the name at create.
    expect(c.aliases).toEqual(["postgres"]);
    h.clock.advance(10_000);
    await h.rec.reconcileOnce();
    expect(h.store.dep(next.id).status).toBe("healthy");
    expect(c.aliases).toEqual(["postgres"]);
    expect(c.volumes).toEqual([{ volume: deploykit.volumeName("shop", svc.id, "data"), mount_path: "/var/lib/data" }]);
    expect([...h.rt.volumes.keys()]).toEqual([deploykit.volumeName("shop", svc.id, "data")]);
  });

  it("never touches foreign containers, networks or volumes, even with forged labels", async () => {
    const h = setup();
    const forged = { ...deploykit.instanceLabels("another-instance"), [deploykit.LABEL_SERVICE_ID]: "s-deleted" };
    const f1 = h.rt.addForeign("postgres-by-hand", {});
    const f2 = h.rt.addForeign("dk-shop-web-0-deadbeef", forged);
    h.rt.networks.set("dk-foreign", { id: "n1", name: "dk-foreign", labels: forged });
    h.rt.networks.set("mine", { id: "n2", name: "mine", labels: {} });
    h.rt.volumes.set("dk-shop-x-data", forged);
    await mustDeployHealthy(h, "web");
    await h.rec.reconcileOnce();
    expect(h.rt.containers.has(f1.docker_id) && h.rt.containers.has(f2.docker_id)).toBe(true);
    expect(h.rt.networks.has("dk-foreign") && h.rt.networks.has("mine")).toBe(true);
    expect(h.rt.volumes.has("dk-shop-x-data")).toBe(true);
    expect(h.rt.count("removeContainer") + h.rt.count("removeNetwork") + h.rt.count("removeVolume")).toBe(0);
  });

  it("sweeps orphans: containers and volumes of deleted services, networks of deleted projects", async () => {
    const h = setup();
    const other = h.store.addProject("other");
    const keep = h.store.addService(h.project.id, "keep");
    h.store.addDeployment(keep.id, { image: "app:1" });
    const gone = h.store.addService(other.id, "db");
    // Older data may hold replicas > 1 with a volume: the reconciler still runs one container.
    h.store.addDeployment(gone.id, { image: "app:1", volumes: [{ name: "data", mount_path: "/d" }], replicas: 2 }, { legacy: true });
    await h.rec.reconcileOnce();
    expect(h.rt.networks.has("dk-other")).toBe(true);
    expect(h.rt.volumes.has(deploykit.volumeName("other", gone.id, "data"))).toBe(true);
    expect(h.rt.ofService(gone.id)).toHaveLength(1);
    h.bus.events.length = 0;

    h.store.deleteProject(other.id);
    await h.rec.reconcileOnce();
    expect(h.rt.ofService(gone.id)).toEqual([]);
    expect(h.rt.volumes.has(deploykit.volumeName("other", gone.id, "data"))).toBe(false);
    expect(h.bus.ofType("container.deleted")).toHaveLength(1);
    expect(h.bus.events.every((e) => e.project_id === other.id)).toBe(true);
    // The network was still in use during the sweep; the next sweep removes it.
    await h.rec.reconcileOnce();
    expect(h.rt.networks.has("dk-other")).toBe(false);
    expect(h.rt.networks.has("dk-shop")).toBe(true);
    expect(h.rt.ofService(keep.id)).toHaveLength(1);
  });

  it("stops a stopped service's containers but keeps its volumes", async () => {
    const h = setup();
    const { svc } = await mustDeployHealthy(h, "db", { volumes: [{ name: "data", mount_path: "/d" }] });
    await h.store.services.setRunState(svc.id, deploykit.RUN_STOP);
    await h.rec.reconcileOnce();
    expect(h.rt.ofService(svc.id)).toEqual([]);
    expect(h.rt.volumes.has(deploykit.volumeName("shop", svc.id, "data"))).toBe(true);
    expect(h.store.svc(svc.id).status).toBe("stopped");
  });
});

describe("Reconciler: a volume is mounted by at most one container", () => {
  const volumes = [{ name: "data", mount_path: "/var/lib/postgresql/data" }];

  it("redeploys a volume service stop-first: the old container goes (with the service's grace) before the new one is created", async () => {
    const h = setup();
    const { svc, dep: old } = await mustDeployHealthy(h, "db", { volumes });
    await h.store.services.updateService(svc.id, { stop_grace_seconds: 45 });
    const oldContainer = h.rt.ofService(svc.id)[0]!;
    expect(oldContainer).toBeDefined();
    h.rt.graces.length = 0;
    const next = h.store.addDeployment(svc.id, { image: "app:2", volumes, stop_grace_seconds: 45 });
    await h.rec.reconcileOnce();
    expect(h.rt.containers.has(oldContainer.docker_id)).toBe(false);
    expect(h.rt.graces).toEqual([45]);
    expect(h.rt.ofService(svc.id).map((c) => c.image)).toEqual(["app:2"]);
    expect(h.rt.sharedVolumeCreates).toEqual([]);
    expect(h.store.dep(next.id).status).toBe("starting");
    // The old deployment still serves on paper until the new one is promoted: the service shows deploying.
    expect(h.store.dep(old.id).status).toBe("healthy");
    h.clock.advance(20_000);
    await passes(h.rec, 2, h.clock);
    expect(h.store.dep(next.id).status).toBe("healthy");
    expect(h.store.svc(svc.id).status).toBe("running");
    expect(h.rt.sharedVolumeCreates).toEqual([]);
  });

  it("starts the previous deployment again on the same volume when the new one fails its gate", async () => {
    const h = setup();
    const { svc, dep: old } = await mustDeployHealthy(h, "db", { volumes });
    h.rt.onRun = (c) => {
      if (c.image !== "app:2") return;
      c.state = "restarting";
      c.restart_count = 3;
      c.exit_code = 1;
      c.logs = "FATAL: bad start";
    };
    const bad = h.store.addDeployment(svc.id, { image: "app:2", volumes });
    await passes(h.rec, 3, h.clock);
    expect(h.store.dep(bad.id).status).toBe("failed");
    await passes(h.rec, 2, h.clock);
    expect(h.rt.ofService(svc.id).map((c) => c.image)).toEqual(["app:1"]);
    expect(h.store.dep(old.id).status).toBe("healthy");
    expect(h.rt.sharedVolumeCreates).toEqual([]);
    h.clock.advance(20_000);
    await passes(h.rec, 1, h.clock);
    expect(h.store.svc(svc.id).status).toBe("running");
  });

  it("keeps the old container serving while the new image cannot be pulled", async () => {
    const h = setup();
    const { svc } = await mustDeployHealthy(h, "db", { volumes });
    const oldContainer = h.rt.ofService(svc.id)[0]!;
    const bad = h.store.addDeployment(svc.id, { image: "nope:404", volumes });
    await passes(h.rec, 3, h.clock);
    expect(h.store.dep(bad.id).status).toBe("failed");
    expect(h.rt.ofService(svc.id).map((c) => c.docker_id)).toEqual([oldContainer.docker_id]);
  });

  it("never creates while another container of the service exists: a failed removal stops the pass with the reason", async () => {
    const h = setup();
    const { svc } = await mustDeployHealthy(h, "db", { volumes });
    const oldContainer = h.rt.ofService(svc.id)[0]!;
    h.rt.failRemove.add(oldContainer.docker_id);
    const next = h.store.addDeployment(svc.id, { image: "app:2", volumes });
    for (let i = 0; i < 3; i++) {
      h.clock.advance(2_000);
      await expect(h.rec.reconcileOnce()).rejects.toThrow(/remove failed/);
    }
    expect(h.rt.ofService(svc.id).map((c) => c.docker_id)).toEqual([oldContainer.docker_id]);
    expect(h.rt.sharedVolumeCreates).toEqual([]);
    expect(h.store.dep(next.id).status).toBe("pending");
    h.rt.failRemove.clear();
    await passes(h.rec, 1, h.clock);
    expect(h.rt.ofService(svc.id).map((c) => c.image)).toEqual(["app:2"]);
    expect(h.rt.sharedVolumeCreates).toEqual([]);
  });

  it("asks Docker afresh before creating: a container the pass's snapshot did not list blocks the create", async () => {
    const h = setup();
    const { svc, dep } = await mustDeployHealthy(h, "db", { volumes });
    const stray = {
      name: "dk-shop-db-0-zzzzzzzz",
      image: "app:1",
      network: "dk-shop",
      aliases: ["db"],
      env: {},
      ports: [],
      volumes: [{ volume: deploykit.volumeName("shop", svc.id, "data"), mount_path: "/d" }],
      labels: {
        ...deploykit.instanceLabels(INSTANCE),
        [deploykit.LABEL_PROJECT_ID]: h.project.id,
        [deploykit.LABEL_SERVICE_ID]: svc.id,
        [deploykit.LABEL_DEPLOYMENT_ID]: dep.id,
        [deploykit.LABEL_REPLICA_INDEX]: "1",
      },
    };
    // The container appears after the pass listed Docker (during the image check of the new deployment).
    h.rt.imageHooks.set("app:2", async () => {
      h.rt.imageHooks.delete("app:2");
      await h.rt.runContainer(stray);
    });
    const next = h.store.addDeployment(svc.id, { image: "app:2", volumes });
    await expect(h.rec.reconcileOnce()).rejects.toThrow(/waiting for dk-shop-db-0-zzzzzzzz \(running\) to be removed/);
    expect(h.rt.ofService(svc.id).map((c) => c.name)).toEqual([stray.name]);
    // The stray itself was made next to the old container; DeployKit made nothing next to it.
    expect(h.rt.sharedVolumeCreates).toEqual([stray.name]);
    h.rt.sharedVolumeCreates.length = 0;
    // The next pass sees it, removes it, and only then starts the new deployment.
    await passes(h.rec, 1, h.clock);
    expect(h.rt.ofService(svc.id).map((c) => c.labels[deploykit.LABEL_DEPLOYMENT_ID])).toEqual([next.id]);
    expect(h.rt.sharedVolumeCreates).toEqual([]);
  });

  it("runs the deployment's start command as the container's command", async () => {
    const h = setup();
    const svc = h.store.addService(h.project.id, "cache");
    h.store.addDeployment(svc.id, { image: "app:1", volumes, start_command: ["redis-server", "--requirepass", "pw"] });
    await h.rec.reconcileOnce();
    expect(h.rt.ofService(svc.id)[0]?.cmd).toEqual(["redis-server", "--requirepass", "pw"]);
  });

  it("keeps a stateless service start-first: the old container serves until the new one is healthy", async () => {
    const h = setup();
    const { svc } = await mustDeployHealthy(h, "web");
    h.store.addDeployment(svc.id, { image: "app:2" });
    await h.rec.reconcileOnce();
    expect(
      h.rt
        .ofService(svc.id)
        .map((c) => c.image)
        .sort(),
    ).toEqual(["app:1", "app:2"]);
  });
});

describe("Reconciler: Restart, Stop and Start", () => {
  it("restarts a two-replica service one replica at a time, the second only once the first is back through the gate", async () => {
    const h = setup();
    const { svc } = await mustDeployHealthy(h, "web", { replicas: 2 }, { drain_seconds: 2 });
    await passes(h.rec, 1, h.clock, 20_000);
    const [c0, c1] = h.rt.ofService(svc.id).sort((a, b) => a.name.localeCompare(b.name));
    h.clock.advance(1_000);
    await h.store.services.requestRestart(svc.id);
    await h.rec.reconcileOnce();
    // First out of the service name, restarted once the drain (drain_seconds) is over.
    expect(h.rt.restarts).toEqual([]);
    await passes(h.rec, 1, h.clock, 1_999);
    expect(h.rt.restarts).toEqual([]);
    await passes(h.rec, 1, h.clock, 1);
    expect(h.rt.restarts).toEqual([c0!.docker_id]);
    // The restarted replica has to be up for the stable window before the next one goes.
    await passes(h.rec, 2, h.clock, 2_000);
    expect(h.rt.restarts).toEqual([c0!.docker_id]);
    await passes(h.rec, 2, h.clock, 6_000);
    expect(h.rt.restarts).toEqual([c0!.docker_id, c1!.docker_id]);
    await passes(h.rec, 3, h.clock, 6_000);
    expect(h.rt.restarts).toHaveLength(2);
    // Same containers, never a second one: restart keeps the container.
    expect(
      h.rt
        .ofService(svc.id)
        .map((c) => c.docker_id)
        .sort(),
    ).toEqual([c0!.docker_id, c1!.docker_id].sort());
    expect(h.store.svc(svc.id).status).toBe("running");
  });

  it("restarts a volume service's one container in place with the service's grace", async () => {
    const h = setup();
    const { svc } = await mustDeployHealthy(h, "db", { volumes: [{ name: "data", mount_path: "/d" }] });
    await h.store.services.updateService(svc.id, { stop_grace_seconds: 12 });
    const c = h.rt.ofService(svc.id)[0]!;
    h.clock.advance(1_000);
    await h.store.services.requestRestart(svc.id);
    h.rt.graces.length = 0;
    await h.rec.reconcileOnce();
    await passes(h.rec, 1, h.clock, deploykit.DEFAULT_DRAIN_SECONDS * 1000);
    expect(h.rt.restarts).toEqual([c.docker_id]);
    expect(h.rt.graces).toEqual([12]);
    expect(h.rt.sharedVolumeCreates).toEqual([]);
  });

  it("keeps a stopped service down, and a pass cannot undo Stop", async () => {
    const h = setup();
    const { svc } = await mustDeployHealthy(h, "web");
    await h.store.services.setRunState(svc.id, deploykit.RUN_STOP);
    await h.rec.reconcileOnce();
    expect(h.rt.ofService(svc.id)).toEqual([]);
    expect(await h.store.services.updateServiceStatus(svc.id, "running")).toBe("stopped");
    expect(h.store.svc(svc.id).status).toBe("stopped");
    // Start: the same deployment runs again.
    await h.store.services.setRunState(svc.id, deploykit.RUN_START);
    await passes(h.rec, 1, h.clock, 20_000);
    expect(h.rt.ofService(svc.id)).toHaveLength(1);
  });
});

describe("Reconciler loop", () => {
  const waitFor = async (cond: () => boolean, ms = 3_000) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  it("a slow image on one service does not hold up another", async () => {
    const h = setup({ now: Date.now, fastTickMs: 20, stableWindowMs: 0 });
    let release!: () => void;
    h.rt.imageHooks.set("slow:1", () => new Promise<void>((r) => (release = r)));
    h.rt.images.add("slow:1");
    const slow = h.store.addService(h.project.id, "slow");
    h.store.addDeployment(slow.id, { image: "slow:1" });
    const fast = h.store.addService(h.project.id, "fast");
    const dep = h.store.addDeployment(fast.id, { image: "app:1" });
    h.rec.start();
    await waitFor(() => h.store.dep(dep.id).status === "healthy");
    expect(h.rt.ofService(slow.id)).toEqual([]);
    release();
    await waitFor(() => h.rt.ofService(slow.id).length === 1);
  });

  it("drives a failing deployment to failed through its own re-queues, without the resync ticker", async () => {
    const h = setup({ now: Date.now, fastTickMs: 10, intervalMs: 3_600_000 });
    const svc = h.store.addService(h.project.id, "web");
    const dep = h.store.addDeployment(svc.id, { image: "missing:1" });
    h.rec.start();
    await waitFor(() => h.store.dep(dep.id).status === "failed");
    expect(h.store.dep(dep.id).attempt_count).toBe(3);
  });

  it("triggerService passes over that one service only, and triggers never block", async () => {
    const h = setup({ now: Date.now, intervalMs: 3_600_000, fastTickMs: 3_600_000 });
    h.rec.start();
    await waitFor(() => h.rec.status().last_pass_at !== undefined || h.store.allServices().length === 0);
    await new Promise((r) => setTimeout(r, 20));
    const a = h.store.addService(h.project.id, "a");
    h.store.addDeployment(a.id, { image: "app:1" });
    const b = h.store.addService(h.project.id, "b");
    h.store.addDeployment(b.id, { image: "app:1" });
    for (let i = 0; i < 100; i++) h.rec.triggerService(a.id);
    await waitFor(() => h.rt.ofService(a.id).length === 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(h.rt.ofService(b.id)).toEqual([]);
    expect(h.rt.count("runContainer")).toBe(1);
    for (let i = 0; i < 100; i++) h.rec.trigger();
    await waitFor(() => h.rt.ofService(b.id).length === 1);
  });

  it("backs off while Docker is down, warns once, and converges when it is back", async () => {
    const h = setup({ now: Date.now, backoffBaseMs: 5, backoffMaxMs: 20, stableWindowMs: 0, fastTickMs: 10 });
    const svc = h.store.addService(h.project.id, "web");
    const dep = h.store.addDeployment(svc.id, { image: "app:1" });
    h.rt.down = true;
    h.rec.start();
    await waitFor(() => h.rt.count("listContainers") >= 5);
    expect(h.rec.status()).toMatchObject({ docker_reachable: false, last_error: expect.stringContaining("unreachable") });
    expect(h.log.at("warn").filter((m) => m.includes("Docker is unreachable"))).toHaveLength(1);
    expect(h.store.dep(dep.id)).toMatchObject({ status: "pending", attempt_count: 0 });
    h.rt.down = false;
    await waitFor(() => h.store.dep(dep.id).status === "healthy");
    expect(h.rec.status()).toEqual({ docker_reachable: true, last_pass_at: expect.any(String) });
    expect(h.store.svc(svc.id).status).toBe("running");
  });

  it("stop waits for the pass in flight", async () => {
    const h = setup({ now: Date.now });
    let release!: () => void;
    let entered = false;
    h.rt.imageHooks.set("app:1", () => {
      entered = true;
      return new Promise<void>((r) => (release = r));
    });
    const svc = h.store.addService(h.project.id, "web");
    h.store.addDeployment(svc.id, { image: "app:1" });
    h.rec.start();
    await waitFor(() => entered);
    let stopped = false;
    const stopping = h.rec.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(h.rt.ofService(svc.id)).toHaveLength(1);
  });
});
