import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { BuildService } from "./build.ts";
import { DeploymentService } from "./deployment.ts";
import { PendingChangeService } from "./pending-change.ts";
import { mustCreateProject, mustOpenDB } from "./testing.ts";

async function stagedGitService() {
  const db = mustOpenDB();
  const project = await mustCreateProject(db);
  const pending = new PendingChangeService(db);
  await pending.appendPendingChange(project.id, null, {
    op: deploykit.OP_SERVICE_CREATE,
    target_type: deploykit.TARGET_SERVICE,
    target_temp_id: "node-1",
    payload: { name: "site", repo_url: "https://git.example.com/site.git", root_dir: "web" },
  });
  const applied = await pending.applyPendingChanges(project.id);
  return { db, project, pending, applied, serviceID: applied.temp_id_to_service_id["node-1"] as string };
}

describe("git services through Apply", () => {
  it("stages a service with a repository and no image; Apply queues a build tagged per deployment", async () => {
    const { applied, serviceID } = await stagedGitService();
    const dep = applied.created_deployments[0] as deploykit.Deployment;
    expect(dep.build_source).toEqual({
      kind: "git",
      repo_url: "https://git.example.com/site.git",
      branch: "main",
      root_dir: "web",
      dockerfile_path: "Dockerfile",
    });
    expect(dep.image).toBe(`dk-build/${serviceID}:${dep.id}`);
    expect(dep.phase).toBe("queued");
  });

  it("reuses the built image for a settings change and builds again when the source changes", async () => {
    const { db, project, pending, serviceID } = await stagedGitService();
    const deployments = new DeploymentService(db);
    const builds = new BuildService(db);
    const [first] = await builds.findQueuedBuilds();
    await builds.setPhase(first?.id as string, "building");
    await builds.setPhase(first?.id as string, "starting");
    await deployments.markStarting(first?.id as string);
    await deployments.markHealthCheck(first?.id as string);
    const { deployment } = await deployments.markHealthy(first?.id as string, 0);
    expect(deployment.phases?.map((p) => p.name)).toEqual(["queued", "building", "starting", "health_check", "serving"]);
    expect(deployment.phases?.every((p) => p.ended_at !== null)).toBe(true);

    const update = (payload: Record<string, unknown>) =>
      pending.appendPendingChange(project.id, null, {
        op: deploykit.OP_SERVICE_UPDATE,
        target_type: deploykit.TARGET_SERVICE,
        target_id: serviceID,
        payload,
      });
    await update({ replicas: 2 });
    const reuse = (await pending.applyPendingChanges(project.id)).created_deployments[0] as deploykit.Deployment;
    expect(reuse.image).toBe(first?.image);
    expect(reuse.build_source).toBeUndefined();

    await update({ branch: "prod" });
    const rebuild = (await pending.applyPendingChanges(project.id)).created_deployments[0] as deploykit.Deployment;
    expect(rebuild.build_source).toMatchObject({ branch: "prod" });
    expect(rebuild.image).toBe(`dk-build/${serviceID}:${rebuild.id}`);
    // The reuse deployment was still pending: the newer one cancelled it, phase included.
    expect((await deployments.findDeploymentByID(reuse.id)).phase).toBe("cancelled");
  });

  it("refuses an unsafe source at staging", async () => {
    const { project, pending, serviceID } = await stagedGitService();
    await expect(
      pending.appendPendingChange(project.id, null, {
        op: deploykit.OP_SERVICE_UPDATE,
        target_type: deploykit.TARGET_SERVICE,
        target_id: serviceID,
        payload: { dockerfile_path: "../../etc/passwd" },
      }),
    ).rejects.toMatchObject({ fields: { dockerfile_path: [expect.stringContaining("inside the repository")] } });
  });

  it("keeps build logs capped and makes one webhook secret", async () => {
    const { db, serviceID } = await stagedGitService();
    const builds = new BuildService(db);
    const [dep] = await builds.findQueuedBuilds();
    await builds.saveBuildLog(dep?.id as string, `${"x".repeat(deploykit.BUILD_LOG_MAX_BYTES)}\nlast line\n`);
    const log = await builds.findBuildLog(dep?.id as string);
    expect(log.length).toBeLessThanOrEqual(deploykit.BUILD_LOG_MAX_BYTES);
    expect(log.endsWith("last line\n")).toBe(true);
    const s1 = await builds.webhookSecret(serviceID);
    expect(s1).toMatch(/^[0-9a-f]{48}$/);
    expect(await builds.webhookSecret(serviceID)).toBe(s1);
  });
});

describe("deployments made outside Apply (Redeploy, upload, push webhook)", () => {
  it("publish deployment.created after commit, like Apply: the store announces, not the route", async () => {
    const events: deploykit.Event[] = [];
    const bus: deploykit.EventBus = { publish: (e) => events.push(e), subscribe: () => ({ close() {}, dropped: 0 }) };
    const db = mustOpenDB({ bus });
    const project = await mustCreateProject(db);
    const pending = new PendingChangeService(db);
    await pending.appendPendingChange(project.id, null, {
      op: deploykit.OP_SERVICE_CREATE,
      target_type: deploykit.TARGET_SERVICE,
      target_temp_id: "node-1",
      payload: { name: "site", repo_url: "https://git.example.com/site.git" },
    });
    const serviceID = (await pending.applyPendingChanges(project.id)).temp_id_to_service_id["node-1"] as string;
    const builds = new BuildService(db);
    events.length = 0;
    const built = await builds.createBuildDeployment(serviceID, {
      kind: "git",
      repo_url: "https://git.example.com/site.git",
      branch: "main",
      root_dir: "",
      dockerfile_path: "Dockerfile",
    });
    const uploaded = await builds.createImageDeployment(serviceID, "dk-upload/site:1");
    const created = events.filter((e) => e.type === deploykit.EVENT_DEPLOYMENT_CREATED);
    expect(created.map((e) => [e.project_id, (e.payload as { deployment: deploykit.Deployment }).deployment.id])).toEqual([
      [project.id, built.id],
      [project.id, uploaded.id],
    ]);
    // A write that fails publishes nothing.
    await expect(builds.createImageDeployment("no-such-service", "x")).rejects.toThrow();
    expect(events.filter((e) => e.type === deploykit.EVENT_DEPLOYMENT_CREATED)).toHaveLength(2);
  });
});
