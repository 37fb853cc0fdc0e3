import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { ContainerService } from "./container.ts";
import { ServiceService } from "./service.ts";
import { expectError, FakeClock, mustCreateDeployment, mustCreateProject, mustCreateService, mustOpenDB } from "./testing.ts";

async function setup() {
  const clock = new FakeClock();
  const db = mustOpenDB({ now: clock.now });
  const p = await mustCreateProject(db);
  const s = await mustCreateService(db, p.id);
  const d = await mustCreateDeployment(db, s.id);
  return { db, clock, s, d, containers: new ContainerService(db) };
}

describe("ContainerService", () => {
  it("creates with defaults and finds by id", async () => {
    const { containers, s, d } = await setup();
    const c = await containers.createContainer({ service_id: s.id, deployment_id: d.id, docker_container_id: "abc" });
    expect(c).toMatchObject({ status: "created", replica_index: 0, docker_container_id: "abc" });
    expect(await containers.findContainerByID(c.id)).toEqual(c);
    await expectError(containers.findContainerByID("nope"), deploykit.ENOTFOUND, "Container not found.");
  });

  it.each([
    [{ service_id: "", deployment_id: "", docker_container_id: "" }, ["service_id", "deployment_id", "docker_container_id"]],
    [{ service_id: "s", deployment_id: "d", docker_container_id: "x", replica_index: -1 }, ["replica_index"]],
    [{ service_id: "s", deployment_id: "d", docker_container_id: "x", status: "bogus" }, ["status"]],
  ])("validates %j", async (input, fields) => {
    const err = await expectError(
      new ContainerService(mustOpenDB()).createContainer(input as deploykit.ContainerCreate),
      deploykit.EINVALID,
    );
    expect(Object.keys(err.fields ?? {})).toEqual(fields);
  });

  it("refuses unknown or mismatched service and deployment", async () => {
    const { db, containers, s, d } = await setup();
    const other = await mustCreateService(db, s.project_id);
    await expectError(
      containers.createContainer({ service_id: "x", deployment_id: d.id, docker_container_id: "a" }),
      deploykit.ENOTFOUND,
      "Service not found.",
    );
    await expectError(
      containers.createContainer({ service_id: s.id, deployment_id: "x", docker_container_id: "a" }),
      deploykit.ENOTFOUND,
      "Deployment not found.",
    );
    await expectError(
      containers.createContainer({ service_id: other.id, deployment_id: d.id, docker_container_id: "a" }),
      deploykit.EINVALID,
      "Deployment does not belong to this service.",
    );
  });

  it("filters, pages newest first, updates status and deletes idempotently", async () => {
    const { containers, s, d, clock } = await setup();
    const made: deploykit.Container[] = [];
    for (let i = 0; i < 3; i++) {
      made.push(
        await containers.createContainer({ service_id: s.id, deployment_id: d.id, docker_container_id: `c${i}`, replica_index: i }),
      );
      clock.advance(10);
    }
    expect((await containers.findContainers({ service_id: s.id })).items.map((c) => c.docker_container_id)).toEqual(["c2", "c1", "c0"]);
    expect((await containers.findContainers({ docker_container_id: "c1" })).items).toHaveLength(1);
    const updated = await containers.updateContainerStatus(made[0]!.id, "running");
    expect(updated.status).toBe("running");
    expect((await containers.findContainers({ status: "running" })).total).toBe(1);
    expect((await containers.findContainers({ deployment_id: d.id, limit: 1 })).total).toBe(3);
    await expectError(containers.updateContainerStatus("nope", "running"), deploykit.ENOTFOUND, "Container not found.");
    await expectError(containers.updateContainerStatus(made[0]!.id, "bad" as deploykit.ContainerStatus), deploykit.EINVALID);
    await containers.deleteContainer(made[0]!.id);
    await containers.deleteContainer(made[0]!.id);
    expect((await containers.findContainers({})).total).toBe(2);
  });

  it("goes with its service", async () => {
    const { db, containers, s, d } = await setup();
    await containers.createContainer({ service_id: s.id, deployment_id: d.id, docker_container_id: "a" });
    await new ServiceService(db).deleteService(s.id);
    expect((await containers.findContainers({})).total).toBe(0);
  });
});
