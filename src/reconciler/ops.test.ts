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

async function passes(rec: Reconciler, n: number, clock: Clock, stepMs = 2_000): Promise<void> {
  for (let i = 0; i < n; i++) {
    clock.advance(stepMs);
    await rec.reconcileOnce();
  }
}

const role = (c: { labels: Record<string, string> }) => c.labels[deploykit.LABEL_ROLE];

describe("restart policy", () => {
  it("gives Docker the deployment's policy and retries", async () => {
    const h = setup();
    h.rt.startedAgoMs = 60_000;
    const svc = h.store.addService(h.project.id, "web");
    h.store.addDeployment(svc.id, { image: "app:1", restart_policy: "on-failure", restart_max_retries: 4 });
    await h.rec.reconcileOnce();
    expect(h.rt.ofService(svc.id)[0]).toMatchObject({ restart_policy: "on-failure", restart_max_retries: 4 });
  });

  it("never: a one-shot that exits 0 is promoted, not a crash loop, and is not run again; the service shows stopped", async () => {
    const h = setup();
    h.rt.onRun = (c) => {
      c.state = "exited";
      c.exit_code = 0;
      c.finished_at = new Date(h.clock.now()).toISOString();
    };
    const svc = h.store.addService(h.project.id, "job");
    const dep = h.store.addDeployment(svc.id, { image: "app:1", restart_policy: "never" });
    await passes(h.rec, 6, h.clock, 20_000);
    expect(h.store.dep(dep.id).status).toBe("healthy");
    expect(h.rt.count("runContainer")).toBe(1);
    expect(h.store.svc(svc.id).status).toBe("stopped");
  });

  it("never: a container that exits non-zero fails the rollout at once and the old deployment keeps serving", async () => {
    const h = setup();
    h.rt.startedAgoMs = 60_000;
    const svc = h.store.addService(h.project.id, "web");
    const old = h.store.addDeployment(svc.id, { image: "app:1" });
    await h.rec.reconcileOnce();
    expect(h.store.dep(old.id).status).toBe("healthy");
    h.rt.startedAgoMs = 0;
    h.rt.onRun = (c) => {
      c.state = "exited";
      c.exit_code = 3;
      c.logs = "boom";
    };
    const next = h.store.addDeployment(svc.id, { image: "app:2", restart_policy: "never" });
    await passes(h.rec, 2, h.clock);
    expect(h.store.dep(next.id)).toMatchObject({ status: "failed", exit_code: 3 });
    expect(h.store.dep(next.id).failure_reason).toContain("restart policy never");
    expect(h.store.svc(svc.id).active_deployment_id).toBe(old.id);
    // Exactly one attempt: nothing replaced the exited container (that would be a restart).
    expect(h.rt.ofService(svc.id).filter((c) => c.image === "app:2").length).toBeLessThanOrEqual(1);
  });

  it("always (default): an exited container is still replaced as before", async () => {
    const h = setup();
    h.rt.startedAgoMs = 60_000;
    const svc = h.store.addService(h.project.id, "web");
    const dep = h.store.addDeployment(svc.id, { image: "app:1" });
    await h.rec.reconcileOnce();
    const c = h.rt.ofService(svc.id)[0]!;
    c.state = "exited";
    c.exit_code = 0;
    c.finished_at = new Date(h.clock.now()).toISOString();
    await passes(h.rec, 3, h.clock, 20_000);
    expect(h.rt.count("runContainer")).toBe(2);
    expect(h.store.dep(dep.id).status).toBe("healthy");
  });
});

describe("pre-deploy command", () => {
  it("runs one labelled container first; the app starts only after it exits 0; its log is kept", async () => {
    const h = setup();
    h.rt.startedAgoMs = 60_000;
    const svc = h.store.addService(h.project.id, "web");
    const dep = h.store.addDeployment(svc.id, { image: "app:1", pre_deploy_command: ["migrate", "up"] });
    await passes(h.rec, 3, h.clock);
    const cs = h.rt.ofService(svc.id);
    expect(cs).toHaveLength(1);
    expect(role(cs[0]!)).toBe(deploykit.ROLE_PRE_DEPLOY);
    expect(cs[0]).toMatchObject({ cmd: ["migrate", "up"], aliases: [], volumes: [], ports: [], restart_policy: "never" });
    expect(h.store.dep(dep.id)).toMatchObject({ status: "pending", pre_deploy_status: "running" });
    cs[0]!.state = "exited";
    cs[0]!.exit_code = 0;
    cs[0]!.logs = "migrated 3";
    await passes(h.rec, 3, h.clock);
    expect(h.store.dep(dep.id)).toMatchObject({ status: "healthy", pre_deploy_status: "succeeded", pre_deploy_log: "migrated 3" });
    const after = h.rt.ofService(svc.id);
    expect(after.map(role)).toEqual([undefined]);
  });

  it("a non-zero exit fails the deployment with its log, and the old deployment's container is never touched (stop-first too)", async () => {
    const h = setup();
    h.rt.startedAgoMs = 60_000;
    const svc = h.store.addService(h.project.id, "db");
    const volumes = [{ name: "data", mount_path: "/data" }];
    const old = h.store.addDeployment(svc.id, { image: "app:1", volumes });
    await h.rec.reconcileOnce();
    const oldContainer = h.rt.ofService(svc.id)[0]!;
    const next = h.store.addDeployment(svc.id, { image: "app:2", volumes, pre_deploy_command: ["migrate"] });
    await passes(h.rec, 2, h.clock);
    const pre = h.rt.ofService(svc.id).find((c) => role(c) === deploykit.ROLE_PRE_DEPLOY)!;
    expect(pre.volumes).toEqual([]);
    expect(h.rt.containers.has(oldContainer.docker_id)).toBe(true);
    pre.state = "exited";
    pre.exit_code = 2;
    pre.logs = "relation exists";
    await passes(h.rec, 3, h.clock);
    expect(h.store.dep(next.id)).toMatchObject({
      status: "failed",
      failure_reason: "pre-deploy command exited with code 2",
      pre_deploy_status: "failed",
      pre_deploy_exit_code: 2,
      pre_deploy_log: "relation exists",
    });
    expect(h.store.svc(svc.id).active_deployment_id).toBe(old.id);
    expect(h.rt.ofService(svc.id).map((c) => c.docker_id)).toEqual([oldContainer.docker_id]);
  });

  it("a restarted daemon adopts the running pre-deploy container instead of starting a second one", async () => {
    const h = setup();
    const svc = h.store.addService(h.project.id, "web");
    const dep = h.store.addDeployment(svc.id, { image: "app:1", pre_deploy_command: ["migrate"] });
    await passes(h.rec, 2, h.clock);
    await h.rec.stop();
    const again = h.make();
    await passes(again, 3, h.clock);
    expect(h.rt.ofService(svc.id).filter((c) => role(c) === deploykit.ROLE_PRE_DEPLOY)).toHaveLength(1);
    expect(h.rt.count("runContainer")).toBe(1);
    expect(h.store.dep(dep.id).status).toBe("pending");
  });

  it("times out: the container is stopped and the deployment fails", async () => {
    const h = setup({ preDeployTimeoutSeconds: 30 });
    const svc = h.store.addService(h.project.id, "web");
    const dep = h.store.addDeployment(svc.id, { image: "app:1", pre_deploy_command: ["sleep", "1000"] });
    await passes(h.rec, 1, h.clock);
    await passes(h.rec, 2, h.clock, 20_000);
    expect(h.store.dep(dep.id)).toMatchObject({ status: "failed", failure_reason: "pre-deploy command timed out after 30 s" });
    expect(h.rt.ofService(svc.id)).toHaveLength(0);
  });

  it("the leftover container of a cancelled deployment is removed", async () => {
    const h = setup();
    h.rt.startedAgoMs = 60_000;
    const svc = h.store.addService(h.project.id, "web");
    h.store.addDeployment(svc.id, { image: "app:1", pre_deploy_command: ["migrate"] });
    await passes(h.rec, 1, h.clock);
    const next = h.store.addDeployment(svc.id, { image: "app:2" });
    await passes(h.rec, 3, h.clock);
    expect(h.rt.ofService(svc.id).map((c) => [role(c), c.image])).toEqual([[undefined, "app:2"]]);
    expect(h.store.dep(next.id).status).toBe("healthy");
  });
});

describe("cron deployment", () => {
  it("serves without any container and leaves the scheduler's run containers alone", async () => {
    const h = setup();
    h.rt.startedAgoMs = 60_000;
    const svc = h.store.addService(h.project.id, "job", { cron_schedule: "*/5 * * * *" });
    const old = h.store.addDeployment(svc.id, { image: "app:1" });
    await h.rec.reconcileOnce();
    const dep = h.store.addDeployment(svc.id, { image: "app:2", cron_schedule: "*/5 * * * *" });
    await passes(h.rec, 2, h.clock);
    expect(h.store.dep(dep.id).status).toBe("healthy");
    expect(h.store.dep(old.id).status).toBe("superseded");
    expect(h.store.svc(svc.id)).toMatchObject({ status: "running", active_deployment_id: dep.id });
    expect(h.rt.ofService(svc.id)).toHaveLength(0);
    // A run container (the scheduler's) survives passes.
    await h.rt.runContainer({
      name: "dk-shop-job-run-1",
      image: "app:2",
      network: "dk-shop",
      aliases: [],
      env: {},
      ports: [],
      volumes: [],
      labels: {
        ...deploykit.instanceLabels(INSTANCE),
        [deploykit.LABEL_SERVICE_ID]: svc.id,
        [deploykit.LABEL_DEPLOYMENT_ID]: dep.id,
        [deploykit.LABEL_ROLE]: deploykit.ROLE_CRON,
      },
    });
    await passes(h.rec, 2, h.clock);
    expect(h.rt.ofService(svc.id)).toHaveLength(1);
  });

  it("is not promoted while its image cannot be pulled: it fails like any deployment", async () => {
    const h = setup();
    const svc = h.store.addService(h.project.id, "job", { cron_schedule: "* * * * *" });
    const dep = h.store.addDeployment(svc.id, { image: "missing:1", cron_schedule: "* * * * *" });
    await passes(h.rec, 4, h.clock, 20_000);
    expect(h.store.dep(dep.id).status).toBe("failed");
    expect(h.store.svc(svc.id).active_deployment_id).toBeNull();
  });
});
