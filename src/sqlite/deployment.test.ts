import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { DeploymentService } from "./deployment.ts";
import { ServiceService } from "./service.ts";
import { expectError, FakeClock, mustCreateDeployment, mustCreateProject, mustCreateService, mustOpenDB } from "./testing.ts";

async function setup() {
  const clock = new FakeClock();
  const db = mustOpenDB({ now: clock.now });
  const p = await mustCreateProject(db);
  const s = await mustCreateService(db, p.id, { name: "web" });
  return { db, clock, p, s, deployments: new DeploymentService(db), services: new ServiceService(db) };
}

describe("DeploymentService.createDeployment", () => {
  it("stores the snapshot with defaults and makes the service deploying", async () => {
    const { deployments, services, s } = await setup();
    const d = await deployments.createDeployment(s.id, { image: "nginx:1.27", replicas: 0 });
    expect(d).toMatchObject({
      status: "pending",
      env_vars: {},
      ports: [],
      volumes: [],
      replicas: 1,
      attempt_count: 0,
      baseline_restart_count: 0,
    });
    expect(d.resources).toBeUndefined();
    expect(await deployments.findDeploymentByID(d.id)).toEqual(d);
    expect((await services.findServiceByID(s.id)).status).toBe("deploying");
    const full = await deployments.createDeployment(s.id, {
      image: "app:2",
      env_vars: { A: "1" },
      ports: [{ container_port: 3000, host_port: 80, protocol: "tcp" }],
      volumes: [{ name: "data", mount_path: "/data" }],
      resources: { cpus: 0.5, memory_mb: 256 },
      replicas: 1,
    });
    expect(await deployments.findDeploymentByID(full.id)).toMatchObject({
      env_vars: { A: "1" },
      ports: [{ container_port: 3000, host_port: 80, protocol: "tcp" }],
      volumes: [{ name: "data", mount_path: "/data" }],
      resources: { cpus: 0.5, memory_mb: 256 },
      replicas: 1,
    });
  });

  it("cancels older pending and starting deployments of the service only", async () => {
    const { db, deployments, s, p } = await setup();
    const other = await mustCreateService(db, p.id, { name: "other" });
    const otherD = await mustCreateDeployment(db, other.id);
    const a = await mustCreateDeployment(db, s.id);
    const b = await mustCreateDeployment(db, s.id);
    await deployments.markStarting(b.id);
    const c = await mustCreateDeployment(db, s.id);
    expect((await deployments.findDeploymentByID(a.id)).status).toBe("cancelled");
    expect((await deployments.findDeploymentByID(b.id)).status).toBe("cancelled");
    expect((await deployments.findDeploymentByID(c.id)).status).toBe("pending");
    expect((await deployments.findDeploymentByID(otherD.id)).status).toBe("pending");
  });

  it.each([
    [{ image: "" }, { image: ["Image is required."] }],
    [{ image: "x", replicas: -1 }, { replicas: ["Replicas must be a whole number of zero or more."] }],
    [{ image: "x", env_vars: { "1BAD": "v" } }, { "env_vars.1BAD": [deploykit.ENV_KEY_MESSAGE] }],
    [{ image: "x", ports: [{ container_port: 0 }] }, { "ports[0].container_port": ["Container port must be between 1 and 65535."] }],
  ])("validates %j", async (input, fields) => {
    const { deployments, s } = await setup();
    const err = await expectError(deployments.createDeployment(s.id, input as deploykit.DeploymentCreate), deploykit.EINVALID);
    expect(err.fields).toEqual(fields);
  });

  it("refuses an unknown service", async () => {
    const { deployments } = await setup();
    await expectError(deployments.createDeployment("nope", { image: "x" }), deploykit.ENOTFOUND, "Service not found.");
  });
});

describe("DeploymentService lifecycle", () => {
  it("pending → starting (started_at once) → healthy, superseding the previous active; a redeploy keeps the service running", async () => {
    const { deployments, services, s, clock } = await setup();
    const first = await deployments.createDeployment(s.id, { image: "v1" });
    clock.advance(1000);
    const started = await deployments.markStarting(first.id);
    expect(started.status).toBe("starting");
    const startedAt = started.started_at;
    clock.advance(1000);
    expect((await deployments.markStarting(first.id)).started_at).toBe(startedAt);
    const h1 = await deployments.markHealthy(first.id, 2);
    expect(h1.previous_active_id).toBeNull();
    expect(h1.deployment).toMatchObject({ status: "healthy", baseline_restart_count: 2 });
    expect(await services.findServiceByID(s.id)).toMatchObject({ active_deployment_id: first.id, status: "running" });

    const second = await deployments.createDeployment(s.id, { image: "v2" });
    expect(await services.findServiceByID(s.id)).toMatchObject({ active_deployment_id: first.id, status: "running" });
    const h2 = await deployments.markHealthy(second.id, 0);
    expect(h2.previous_active_id).toBe(first.id);
    expect((await deployments.findDeploymentByID(first.id)).status).toBe("superseded");
    expect((await services.findServiceByID(s.id)).active_deployment_id).toBe(second.id);
    const again = await deployments.markHealthy(second.id, 9);
    expect(again).toEqual({ deployment: h2.deployment, previous_active_id: null });
    expect((await deployments.markStarting(second.id)).status).toBe("healthy");
  });

  it("promotion clears the reason left by an earlier failed attempt", async () => {
    const { deployments, s } = await setup();
    const d = await deployments.createDeployment(s.id, { image: "v1" });
    await deployments.recordAttempt(d.id, "image pull failed: timeout");
    const { deployment } = await deployments.markHealthy(d.id, 0);
    expect(deployment.failure_reason).toBeUndefined();
    expect(deployment.attempt_count).toBe(1);
  });

  it.each([["markStarting"], ["markHealthy"], ["markFailed"], ["recordAttempt"], ["findDeploymentByID"]] as const)(
    "%s of an unknown deployment is not found",
    async (method) => {
      const { deployments } = await setup();
      const call =
        method === "markHealthy"
          ? deployments.markHealthy("nope", 0)
          : method === "markFailed"
            ? deployments.markFailed("nope", { reason: "x" })
            : method === "recordAttempt"
              ? deployments.recordAttempt("nope", "x")
              : deployments[method]("nope");
      await expectError(call, deploykit.ENOTFOUND, "Deployment not found.");
    },
  );

  it("marks failed keeping the last 10 KB of the log, and fails the service when nothing is healthy", async () => {
    const { deployments, services, s } = await setup();
    const d = await deployments.createDeployment(s.id, { image: "v1" });
    const log = `${"a".repeat(5000)}${"b".repeat(10 * 1024)}`;
    const f = await deployments.markFailed(d.id, { reason: "crash loop", exit_code: 137, log_tail: log });
    expect(f).toMatchObject({ status: "failed", failure_reason: "crash loop", exit_code: 137 });
    expect(f.log_tail).toBe("b".repeat(10 * 1024));
    expect((await services.findServiceByID(s.id)).status).toBe("failed");
  });

  it("a failed new deployment leaves a running service running", async () => {
    const { deployments, services, s } = await setup();
    const good = await deployments.createDeployment(s.id, { image: "v1" });
    await deployments.markHealthy(good.id, 0);
    const bad = await deployments.createDeployment(s.id, { image: "v2" });
    await deployments.markFailed(bad.id, { reason: "pull failed" });
    expect(await services.findServiceByID(s.id)).toMatchObject({ status: "running", active_deployment_id: good.id });
  });

  it("counts attempts", async () => {
    const { deployments, s } = await setup();
    const d = await deployments.createDeployment(s.id, { image: "v1" });
    expect(await deployments.recordAttempt(d.id, "pull failed")).toBe(1);
    expect(await deployments.recordAttempt(d.id, "pull failed")).toBe(2);
    expect((await deployments.findDeploymentByID(d.id)).failure_reason).toBe("pull failed");
  });

  it("lists newest first, filtered by service and statuses", async () => {
    const { db, deployments, s, p, clock } = await setup();
    const other = await mustCreateService(db, p.id, { name: "other" });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await deployments.createDeployment(s.id, { image: `v${i}` })).id);
      clock.advance(1000);
    }
    await deployments.createDeployment(other.id, { image: "o" });
    const page = await deployments.findDeployments({ service_id: s.id });
    expect(page.items.map((d) => d.id)).toEqual([...ids].reverse());
    expect(page.total).toBe(3);
    expect((await deployments.findDeployments({ service_id: s.id, status: ["cancelled"] })).total).toBe(2);
    expect((await deployments.findDeployments({ status: ["pending", "cancelled"] })).total).toBe(4);
    expect((await deployments.findDeployments({ limit: 1, offset: 1 })).items).toHaveLength(1);
  });
});

describe("DeploymentService.rollback", () => {
  it("creates a new pending deployment from the target's snapshot and points the service settings at it", async () => {
    const { deployments, services, s, clock } = await setup();
    const v1 = await deployments.createDeployment(s.id, {
      image: "app:1",
      env_vars: { V: "1" },
      ports: [{ container_port: 80 }],
      volumes: [{ name: "data", mount_path: "/data" }],
      resources: { memory_mb: 64 },
      replicas: 1,
    });
    await deployments.markHealthy(v1.id, 0);
    clock.advance(1000);
    const v2 = await deployments.createDeployment(s.id, { image: "app:2", env_vars: { V: "2" } });
    await deployments.markHealthy(v2.id, 0);
    clock.advance(1000);
    const { service, deployment } = await deployments.rollback(s.id, v1.id);
    expect(deployment).toMatchObject({
      status: "pending",
      image: "app:1",
      env_vars: { V: "1" },
      ports: [{ container_port: 80 }],
      volumes: [{ name: "data", mount_path: "/data" }],
      resources: { memory_mb: 64 },
      replicas: 1,
    });
    expect(deployment.id).not.toBe(v1.id);
    expect(service).toMatchObject({ id: s.id, image: "app:1", replicas: 1, active_deployment_id: v2.id, status: "running" });
    expect(service.active_deployment?.id).toBe(v2.id);
    expect((await services.findServiceByID(s.id)).resources).toEqual({ memory_mb: 64 });
  });

  it("refuses a deployment of another service, an in-progress one, unknown ids", async () => {
    const { db, deployments, s, p } = await setup();
    const other = await mustCreateService(db, p.id, { name: "other" });
    const foreign = await mustCreateDeployment(db, other.id);
    await deployments.markHealthy(foreign.id, 0);
    const pending = await mustCreateDeployment(db, s.id);
    await expectError(deployments.rollback(s.id, foreign.id), deploykit.EINVALID, "Deployment does not belong to this service.");
    await expectError(
      deployments.rollback(s.id, pending.id),
      deploykit.EINVALID,
      "Cannot roll back to a deployment that is still in progress.",
    );
    await expectError(deployments.rollback(s.id, "nope"), deploykit.ENOTFOUND, "Deployment not found.");
    await expectError(deployments.rollback("nope", pending.id), deploykit.ENOTFOUND, "Service not found.");
  });
});
