import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { CanvasService } from "./canvas.ts";
import { DeploymentService } from "./deployment.ts";
import { EnvVarService } from "./envvar.ts";
import { ServiceService } from "./service.ts";
import {
  expectError,
  FakeClock,
  mustCreateDeployment,
  mustCreateEnvVar,
  mustCreateProject,
  mustCreateService,
  mustOpenDB,
} from "./testing.ts";

function recordingBus(): { bus: deploykit.EventBus; events: deploykit.Event[] } {
  const events: deploykit.Event[] = [];
  return {
    events,
    bus: {
      publish: (e) => events.push(e),
      subscribe: () => ({ close() {}, dropped: 0 }),
    },
  };
}

describe("ServiceService", () => {
  it("creates with settings and defaults, and finds it", async () => {
    const db = mustOpenDB();
    const p = await mustCreateProject(db);
    const services = new ServiceService(db);
    const s = await services.createService(p.id, {
      name: "web",
      image: "nginx:1.27",
      icon_url: "https://x.io/i.svg",
      ports: [{ container_port: 80, host_port: 8080 }],
      volumes: [{ name: "data", mount_path: "/data" }],
      resources: { memory_mb: 128 },
      replicas: 1,
      stop_grace_seconds: 45,
    });
    expect(s).toMatchObject({
      name: "web",
      status: "created",
      active_deployment_id: null,
      replicas: 1,
      resources: { memory_mb: 128 },
      stop_grace_seconds: 45,
    });
    expect(await services.findServiceByID(s.id)).toEqual(s);
    const bare = await services.createService(p.id, { name: "bare" });
    expect(bare).toMatchObject({ image: "", ports: [], volumes: [], resources: null, replicas: 1, icon_url: null, stop_grace_seconds: 30 });
  });

  it.each([
    [{ name: "" }, { name: ["Name is required."] }],
    [{ name: "Web" }, { name: [deploykit.SERVICE_NAME_MESSAGE] }],
    [{ name: "web", image: "bad image" }, { image: ["Image must be a Docker image reference such as nginx:1.27 or ghcr.io/org/app:tag."] }],
    [{ name: "web", icon_url: "ftp://x" }, { icon_url: ["Icon URL must use http or https."] }],
    [{ name: "web", replicas: 21 }, { replicas: ["Replicas cannot exceed 20."] }],
  ])("validates %j", async (input, fields) => {
    const db = mustOpenDB();
    const p = await mustCreateProject(db);
    const err = await expectError(new ServiceService(db).createService(p.id, input), deploykit.EINVALID);
    expect(err.fields).toEqual(fields);
  });

  it("refuses a duplicate name per project, an unknown project", async () => {
    const db = mustOpenDB();
    const p = await mustCreateProject(db);
    const q = await mustCreateProject(db);
    await mustCreateService(db, p.id, { name: "api" });
    await mustCreateService(db, q.id, { name: "api" });
    await expectError(
      new ServiceService(db).createService(p.id, { name: "api" }),
      deploykit.ECONFLICT,
      'A service named "api" already exists in the project.',
    );
    await expectError(new ServiceService(db).createService("nope", { name: "api" }), deploykit.ENOTFOUND, "Project not found.");
  });

  it("updates fields, clears the icon with an empty string, refuses clashes", async () => {
    const db = mustOpenDB();
    const p = await mustCreateProject(db);
    const services = new ServiceService(db);
    const s = await mustCreateService(db, p.id, { name: "a", icon_url: "https://x.io/a.png" });
    await mustCreateService(db, p.id, { name: "b" });
    const u = await services.updateService(s.id, { name: "c", icon_url: "", replicas: 3, image: "redis:7" });
    expect(u).toMatchObject({ name: "c", icon_url: null, replicas: 3, image: "redis:7" });
    await expectError(
      services.updateService(s.id, { name: "b" }),
      deploykit.ECONFLICT,
      'A service named "b" already exists in the project.',
    );
    await expectError(services.updateService("nope", { name: "x" }), deploykit.ENOTFOUND, "Service not found.");
    const err = await expectError(services.updateService(s.id, { name: "" }), deploykit.EINVALID);
    expect(err.fields).toEqual({ name: ["Name cannot be empty."] });
  });

  it("sets the status and returns the previous one", async () => {
    const db = mustOpenDB();
    const p = await mustCreateProject(db);
    const s = await mustCreateService(db, p.id);
    const services = new ServiceService(db);
    expect(await services.updateServiceStatus(s.id, "running")).toBe("created");
    expect(await services.updateServiceStatus(s.id, "degraded")).toBe("running");
    expect((await services.findServiceByID(s.id)).status).toBe("degraded");
    await expectError(services.updateServiceStatus("nope", "running"), deploykit.ENOTFOUND, "Service not found.");
    await expectError(
      services.updateServiceStatus(s.id, "bogus" as deploykit.ServiceStatus),
      deploykit.EINVALID,
      "Service status is invalid.",
    );
  });

  it("lists newest first with the thin active deployment, filters and pages", async () => {
    const clock = new FakeClock();
    const db = mustOpenDB({ now: clock.now });
    const p = await mustCreateProject(db);
    const q = await mustCreateProject(db);
    const made: deploykit.Service[] = [];
    for (let i = 0; i < 5; i++) {
      made.push(await mustCreateService(db, p.id, { name: `svc-${i}` }));
      clock.advance(1000);
    }
    await mustCreateService(db, q.id, { name: "svc-other" });
    const d = await mustCreateDeployment(db, made[1]!.id, { image: "web:2", replicas: 3 });
    await new DeploymentService(db).markHealthy(d.id, 0);
    const page = await new ServiceService(db).findServices({ project_id: p.id, limit: 2 });
    expect(page.total).toBe(5);
    expect(page.items.map((s) => s.name)).toEqual(["svc-4", "svc-3"]);
    const one = (await new ServiceService(db).findServices({ id: made[1]!.id })).items[0]!;
    expect(one.active_deployment).toMatchObject({
      id: d.id,
      service_id: made[1]!.id,
      image: "web:2",
      replicas: 3,
      created_at: d.created_at,
    });
    expect(one.active_deployment?.env_vars).toEqual({});
    expect(one.status).toBe("running");
    expect((await new ServiceService(db).findServices({ status: "running" })).items.map((s) => s.id)).toEqual([made[1]!.id]);
    expect((await new ServiceService(db).findServices({ name: "other" })).total).toBe(1);
  });

  it("deletes with deployments, env vars and canvas node", async () => {
    const db = mustOpenDB();
    const p = await mustCreateProject(db);
    const s = await mustCreateService(db, p.id);
    const d = await mustCreateDeployment(db, s.id);
    await mustCreateEnvVar(db, { scope: "service", scope_id: s.id, key: "K", value: "v" });
    await new CanvasService(db).upsertNode(p.id, { id: "n1", type: "service", position_x: 0, position_y: 0, service_id: s.id });
    await new ServiceService(db).deleteService(s.id);
    await expectError(new DeploymentService(db).findDeploymentByID(d.id), deploykit.ENOTFOUND, "Deployment not found.");
    expect(await new EnvVarService(db).findEnvVars({ scope_id: s.id })).toEqual([]);
    expect((await new CanvasService(db).getCanvas(p.id)).nodes).toEqual([]);
    await expectError(new ServiceService(db).deleteService(s.id), deploykit.ENOTFOUND, "Service not found.");
  });

  it("publishes created/updated/deleted after commit, and nothing on failure", async () => {
    const { bus, events } = recordingBus();
    const db = mustOpenDB({ bus });
    const p = await mustCreateProject(db);
    const services = new ServiceService(db);
    const s = await services.createService(p.id, { name: "web" });
    await services.updateService(s.id, { replicas: 2 });
    await expectError(services.createService(p.id, { name: "web" }), deploykit.ECONFLICT);
    await services.deleteService(s.id);
    expect(events.map((e) => [e.type, e.project_id])).toEqual([
      ["service.created", p.id],
      ["service.updated", p.id],
      ["service.deleted", p.id],
    ]);
    expect(events[1]?.payload).toMatchObject({ service: { id: s.id, replicas: 2 } });
    expect(events[2]?.payload).toEqual({ service_id: s.id });
  });
});

describe("ServiceService run state", () => {
  it("Stop sticks until Start: reconciler statuses and promotions cannot undo it", async () => {
    const db = mustOpenDB();
    const p = await mustCreateProject(db);
    const services = new ServiceService(db);
    const deployments = new DeploymentService(db);
    const s = await services.createService(p.id, { name: "web", image: "nginx:1" });
    const d1 = await deployments.createDeployment(s.id, { image: "nginx:1" });
    await deployments.markHealthy(d1.id, 0);
    expect(await services.setRunState(s.id, deploykit.RUN_STOP)).toMatchObject({ previous: "running", service: { status: "stopped" } });
    expect(await services.updateServiceStatus(s.id, "degraded")).toBe("stopped");
    const d2 = await deployments.createDeployment(s.id, { image: "nginx:2" });
    await deployments.markHealthy(d2.id, 0);
    expect((await services.findServiceByID(s.id)).status).toBe("stopped");
    const started = await services.setRunState(s.id, deploykit.RUN_START);
    expect(started).toMatchObject({ previous: "stopped", service: { status: "deploying", active_deployment_id: d2.id } });
    // Start on a running service changes nothing.
    await services.updateServiceStatus(s.id, "running");
    expect((await services.setRunState(s.id, deploykit.RUN_START)).service.status).toBe("running");
  });

  it("Restart stamps the request; refused before a first deployment and while stopped", async () => {
    const db = mustOpenDB();
    const p = await mustCreateProject(db);
    const services = new ServiceService(db);
    const s = await services.createService(p.id, { name: "web", image: "nginx:1" });
    await expectError(services.requestRestart(s.id), deploykit.EINVALID, "Nothing to restart: the service has not been deployed yet.");
    const deployments = new DeploymentService(db);
    await deployments.markHealthy((await deployments.createDeployment(s.id, { image: "nginx:1" })).id, 0);
    const r = await services.requestRestart(s.id);
    expect(r.restart_requested_at).toEqual(expect.any(String));
    await services.setRunState(s.id, deploykit.RUN_STOP);
    await expectError(services.requestRestart(s.id), deploykit.EINVALID, "The service is stopped: start it instead.");
  });

  it("publishes Stop, Start and Restart after commit, marked as requested, and nothing for a no-op", async () => {
    const { bus, events } = recordingBus();
    const db = mustOpenDB({ bus });
    const p = await mustCreateProject(db);
    const services = new ServiceService(db);
    const deployments = new DeploymentService(db);
    const s = await services.createService(p.id, { name: "web", image: "nginx:1" });
    await deployments.markHealthy((await deployments.createDeployment(s.id, { image: "nginx:1" })).id, 0);
    events.length = 0;
    const r = await services.requestRestart(s.id);
    await services.setRunState(s.id, deploykit.RUN_STOP);
    await services.setRunState(s.id, deploykit.RUN_STOP);
    await services.setRunState(s.id, deploykit.RUN_START);
    expect(events.map((e) => [e.type, e.project_id, e.payload])).toEqual([
      [deploykit.EVENT_SERVICE_RESTARTED, p.id, { service_id: s.id, requested_at: r.restart_requested_at }],
      [deploykit.EVENT_SERVICE_STATUS_CHANGED, p.id, { service_id: s.id, old_status: "running", new_status: "stopped", requested: true }],
      [deploykit.EVENT_SERVICE_STATUS_CHANGED, p.id, { service_id: s.id, old_status: "stopped", new_status: "deploying", requested: true }],
    ]);
  });
});
