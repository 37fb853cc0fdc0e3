import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import * as mock from "../mock/index.ts";
import { Reconciler } from "./reconciler.ts";

// Issue 11: whoever commits a change (route, CLI, schedule) publishes it after commit; the reconciler
// passes over exactly the services it touched, never a resync of every project.
describe("the reconciler reacts to committed changes", () => {
  function setup() {
    let handler: ((e: deploykit.Event) => void | Promise<void>) | null = null;
    let closed = false;
    const events: Pick<deploykit.EventBus, "subscribe"> = {
      subscribe: (h) => {
        handler = h;
        return {
          close: () => {
            closed = true;
          },
          dropped: 0,
        };
      },
    };
    let resyncs = 0;
    const rec = new Reconciler({
      projects: mock.ProjectService({ findProjects: async () => ({ items: [], total: 0 }) }),
      services: mock.ServiceService({
        findServices: async () => {
          resyncs++;
          return { items: [], total: 0 };
        },
      }),
      deployments: mock.DeploymentService(),
      containers: mock.ContainerService(),
      runtime: mock.ContainerRuntime({ listContainers: async () => [], listVolumes: async () => [] }),
      provisioner: mock.Provisioner({ listNetworks: async () => [] }),
      bus: mock.EventBus({ publish: () => {} }),
      instanceID: "inst-1",
      events,
      intervalMs: 3_600_000,
    });
    const passed: string[] = [];
    rec.triggerService = (id: string) => {
      passed.push(id);
    };
    return { rec, passed, deliver: (e: deploykit.Event) => handler?.(e), closed: () => closed, resyncs: () => resyncs };
  }

  const dep = { id: "d1", service_id: "s1" } as deploykit.Deployment;

  it("passes over the services of deployment.created, service.updated and service.deleted, not for the reconciler's own status changes", async () => {
    const s = setup();
    s.rec.start();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 10));
    const before = s.resyncs();
    s.deliver(deploykit.newEvent(deploykit.EVENT_DEPLOYMENT_CREATED, "p1", { deployment: dep }));
    s.deliver(deploykit.newEvent(deploykit.EVENT_SERVICE_UPDATED, "p1", { service: { id: "s2" } as deploykit.Service }));
    s.deliver(deploykit.newEvent(deploykit.EVENT_SERVICE_DELETED, "p1", { service_id: "s3" }));
    s.deliver(
      deploykit.newEvent(deploykit.EVENT_SERVICE_STATUS_CHANGED, "p1", { service_id: "s4", old_status: "running", new_status: "failed" }),
    );
    s.deliver(
      deploykit.newEvent(deploykit.EVENT_PENDING_CHANGES_APPLIED, "p1", {
        result: { applied_count: 1, temp_id_to_service_id: {}, redeployed_service_ids: ["s1"], created_deployments: [dep] },
      }),
    );
    await new Promise((r) => setTimeout(r, 10));
    expect(s.passed).toEqual(["s1", "s2", "s3"]);
    expect(s.resyncs()).toBe(before); // no full resync
    await s.rec.stop();
    expect(s.closed()).toBe(true);
  });
});
