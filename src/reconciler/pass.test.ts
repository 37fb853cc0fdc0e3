import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import * as mock from "../mock/index.ts";
import { reconcileService } from "./pass.ts";
import { Ledger } from "./readiness.ts";
import { DockerSnapshot } from "./snapshot.ts";

// Strict mocks: every call the pass makes is listed here, so these tests also pin down what a pass
// over a deleted service may touch (nothing in the database but reads, only its own Docker objects).
describe("a pass over a deleted service", () => {
  const INSTANCE = "inst-1";
  const own = (extra: Record<string, string>) => ({ ...deploykit.instanceLabels(INSTANCE), ...extra });

  function setup(runtime: Partial<deploykit.ContainerRuntime>) {
    const calls: string[] = [];
    const rt = mock.ContainerRuntime({
      ...runtime,
      removeContainer: async (id) => {
        calls.push(`removeContainer ${id}`);
      },
      removeVolume: async (name) => {
        calls.push(`removeVolume ${name}`);
      },
    });
    const provisioner = mock.Provisioner();
    const events: deploykit.Event[] = [];
    const ctx = {
      projects: mock.ProjectService(),
      services: mock.ServiceService({
        findServiceByID: async () => {
          throw deploykit.errorf(deploykit.ENOTFOUND, "Service not found.");
        },
      }),
      deployments: mock.DeploymentService(),
      containers: mock.ContainerService({ findContainers: async () => ({ items: [], total: 0 }) }),
      runtime: rt,
      provisioner,
      bus: mock.EventBus({ publish: (e) => events.push(e) }),
      instanceID: INSTANCE,
      logger: deploykit.nopLogger,
      stableWindowMs: 10_000,
      now: () => 0,
      ledger: new Ledger(),
      snapshot: new DockerSnapshot({ runtime: rt, provisioner, ttlMs: 1_000, now: () => 0, observe: () => {} }),
    };
    return { ctx, calls, events };
  }

  const orphan: deploykit.RunningContainer = {
    docker_id: "c1",
    name: "dk-shop-db-0-deadbeef",
    project_id: "p1",
    service_id: "s-gone",
    deployment_id: "d1",
    replica_index: 0,
    state: "running",
    labels: own({ [deploykit.LABEL_SERVICE_ID]: "s-gone" }),
  };
  const other = { ...orphan, docker_id: "c2", service_id: "s-other", labels: own({ [deploykit.LABEL_SERVICE_ID]: "s-other" }) };

  it("removes its containers and volumes, and only those", async () => {
    const h = setup({
      listContainers: async () => [orphan, other],
      listVolumes: async () => [
        { name: "dk-shop-db-data", labels: own({ [deploykit.LABEL_SERVICE_ID]: "s-gone", [deploykit.LABEL_VOLUME_NAME]: "data" }) },
        { name: "dk-shop-web-data", labels: own({ [deploykit.LABEL_SERVICE_ID]: "s-other", [deploykit.LABEL_VOLUME_NAME]: "data" }) },
      ],
    });
    await expect(reconcileService(h.ctx, "s-gone")).resolves.toEqual({ again: false });
    expect(h.calls).toEqual(["removeContainer c1", "removeVolume dk-shop-db-data"]);
    expect(h.events).toEqual([deploykit.newEvent(deploykit.EVENT_CONTAINER_DELETED, "p1", { service_id: "s-gone", container_id: "c1" })]);
  });

  it("removes nothing when the container list fails, and says why", async () => {
    const h = setup({
      listContainers: async () => {
        throw deploykit.errorf(deploykit.EUNAVAILABLE, "Docker is unreachable: ENOENT");
      },
      listVolumes: async () => {
        throw deploykit.errorf(deploykit.EUNAVAILABLE, "Docker is unreachable: ENOENT");
      },
    });
    await expect(reconcileService(h.ctx, "s-gone")).rejects.toMatchObject({ code: deploykit.EUNAVAILABLE });
    expect(h.calls).toEqual([]);
  });
});
