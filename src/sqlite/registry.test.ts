import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { DeploymentService } from "./deployment.ts";
import { PendingChangeService } from "./pending-change.ts";
import { SettingsService } from "./settings.ts";
import { expectError, mustCreateProject, mustCreateService, mustOpenDB } from "./testing.ts";

// C08: every staging path refuses a registry on a loopback, link-local, private or host address,
// reading the allow-list in its own transaction.
async function setup() {
  const db = mustOpenDB();
  const hostAddresses = () => ["198.51.100.4"];
  const project = await mustCreateProject(db);
  const service = await mustCreateService(db, project.id, { name: "web" });
  return {
    project,
    service,
    settings: new SettingsService(db),
    pending: new PendingChangeService(db, { hostAddresses }),
    deployments: new DeploymentService(db, { hostAddresses }),
    db,
  };
}

const REFUSED = "127.0.0.1:9/deploykit-test/x:1";
const HOST_OWN = "198.51.100.4:3000/x";

describe("registry rule at staging (C08)", () => {
  it("refuses a staged create, a staged update, an explicit deployment and a rollback with EINVALID on image", async () => {
    const { project, service, pending, deployments, settings } = await setup();
    for (const image of [REFUSED, "169.254.169.254/latest", "[::1]:5000/x", HOST_OWN]) {
      const creates = [
        pending.appendPendingChange(project.id, null, {
          op: deploykit.OP_SERVICE_CREATE,
          target_type: deploykit.TARGET_SERVICE,
          target_temp_id: "node-1",
          payload: { name: "api", image },
        }),
        pending.appendPendingChange(project.id, null, {
          op: deploykit.OP_SERVICE_UPDATE,
          target_type: deploykit.TARGET_SERVICE,
          target_id: service.id,
          payload: { image },
        }),
        deployments.createDeployment(service.id, { image }),
      ];
      for (const p of creates) {
        const err = await expectError(p, deploykit.EINVALID);
        expect(Object.keys(err.fields ?? {}), image).toEqual(["image"]);
      }
    }
    expect(await pending.findPendingChanges(project.id)).toEqual([]);
    expect((await deployments.findDeployments({ service_id: service.id })).total).toBe(0);

    // A deployment made while the registry was allowed cannot be rolled back to once it no longer is.
    await settings.updateSettings({ registry_allowlist: ["127.0.0.1:9"] });
    const old = await deployments.createDeployment(service.id, { image: REFUSED });
    await deployments.markHealthy(old.id, 0);
    await settings.updateSettings({ registry_allowlist: [] });
    await expectError(deployments.rollback(service.id, old.id), deploykit.EINVALID);
  });

  it("lets an allow-listed registry through on every path, and refuses it again once removed", async () => {
    const { project, service, pending, deployments, settings } = await setup();
    expect(await settings.updateSettings({ registry_allowlist: ["127.0.0.1:9", " 198.51.100.4 "] })).toEqual({
      ...deploykit.DEFAULT_SETTINGS,
      registry_allowlist: ["127.0.0.1:9", "198.51.100.4"],
    });
    await pending.appendPendingChange(project.id, null, {
      op: deploykit.OP_SERVICE_UPDATE,
      target_type: deploykit.TARGET_SERVICE,
      target_id: service.id,
      payload: { image: REFUSED },
    });
    const dep = await deployments.createDeployment(service.id, { image: HOST_OWN });
    await deployments.markHealthy(dep.id, 0);
    await deployments.createDeployment(service.id, { image: REFUSED });
    await deployments.rollback(service.id, dep.id);

    await settings.updateSettings({ registry_allowlist: [] });
    await expectError(deployments.createDeployment(service.id, { image: REFUSED }), deploykit.EINVALID);
    await expectError(deployments.rollback(service.id, dep.id), deploykit.EINVALID);
  });

  it("leaves public registries and Docker Hub alone", async () => {
    const { service, deployments } = await setup();
    for (const image of ["nginx:1.27", "ghcr.io/org/app:1", "registry.example.com:5000/x"])
      await deployments.createDeployment(service.id, { image });
  });
});
