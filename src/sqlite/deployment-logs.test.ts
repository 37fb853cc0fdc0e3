import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { DeploymentService } from "./deployment.ts";
import { expectError, mustCreateDeployment, mustCreateProject, mustCreateService, mustOpenDB } from "./testing.ts";

const line = (sec: number, text: string, replica: number): deploykit.LogLine => ({
  container_id: `c${replica}`,
  stream: "stdout",
  line: text,
  ts: `2026-01-01T00:00:${String(sec).padStart(2, "0")}.000000001Z`,
  replica,
});

describe("DeploymentService deployment logs", () => {
  it("keeps each replica's lines merged in time order, and drops them with the deployment", async () => {
    const db = mustOpenDB();
    const p = await mustCreateProject(db);
    const s = await mustCreateService(db, p.id);
    const dep = await mustCreateDeployment(db, s.id);
    const deployments = new DeploymentService(db);
    expect(await deployments.findDeploymentLogs(dep.id)).toEqual([]);
    await deployments.keepDeploymentLogs(dep.id, [line(1, "r0 first", 0), line(3, "r0 last", 0)]);
    await deployments.keepDeploymentLogs(dep.id, [line(2, "r1 middle", 1)]);
    expect((await deployments.findDeploymentLogs(dep.id)).map((l) => [l.line, l.replica])).toEqual([
      ["r0 first", 0],
      ["r1 middle", 1],
      ["r0 last", 0],
    ]);
    db.write((tx) => tx.run("DELETE FROM deployments WHERE id = ?", dep.id));
    expect(db.read((tx) => tx.get("SELECT COUNT(*) AS n FROM deployment_logs"))).toEqual({ n: 0 });
  });

  it("answers ENOTFOUND for an unknown deployment", async () => {
    const deployments = new DeploymentService(mustOpenDB());
    await expectError(deployments.findDeploymentLogs("nope"), deploykit.ENOTFOUND, "Deployment not found.");
    await expectError(deployments.keepDeploymentLogs("nope", [line(1, "x", 0)]), deploykit.ENOTFOUND, "Deployment not found.");
  });
});
