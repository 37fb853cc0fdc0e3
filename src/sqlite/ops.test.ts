import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { PendingChangeService } from "./pending-change.ts";
import { ServiceRunService } from "./run.ts";
import { ServiceService } from "./service.ts";
import { FakeClock, mustCreateProject, mustOpenDB } from "./testing.ts";

const create = (temp: string, name: string, extra: Record<string, unknown> = {}): deploykit.PendingChangeAppend => ({
  op: "service.create",
  target_type: "service",
  target_temp_id: temp,
  payload: { name, image: "app:1", ...extra },
});
const update = (id: string, payload: Record<string, unknown>): deploykit.PendingChangeAppend => ({
  op: "service.update",
  target_type: "service",
  target_id: id,
  payload,
});

async function setup() {
  const clock = new FakeClock();
  const db = mustOpenDB({ now: clock.now });
  const p = await mustCreateProject(db);
  return { db, clock, p, pending: new PendingChangeService(db), services: new ServiceService(db), runs: new ServiceRunService(db) };
}

async function refusal(p: Promise<unknown>): Promise<deploykit.DeployKitError | null> {
  return p.then(
    () => null,
    (e: unknown) => e as deploykit.DeployKitError,
  );
}

describe("ops settings: staged, frozen into the deployment, and a change redeploys", () => {
  it("defaults, then restart policy, pre-deploy command (resolved) and schedule reach the next deployment", async () => {
    const { pending, p, services } = await setup();
    await pending.appendPendingChange(p.id, null, create("t1", "web", { env_vars: [{ scope: "service", key: "DB", value: "pg" }] }));
    const r = await pending.applyPendingChanges(p.id);
    const id = r.temp_id_to_service_id.t1!;
    expect(await services.findServiceByID(id)).toMatchObject({
      restart_policy: "always",
      restart_max_retries: 10,
      pre_deploy_command: null,
      cron_schedule: null,
      cron_timeout_seconds: 3600,
    });
    expect(r.created_deployments[0]).toMatchObject({ restart_policy: "always", restart_max_retries: 10 });
    expect(r.created_deployments[0]?.pre_deploy_command).toBeUndefined();

    await pending.appendPendingChange(
      p.id,
      null,
      update(id, { restart_policy: "on-failure", restart_max_retries: 3, pre_deploy_command: ["migrate", "${{DB}}"] }),
    );
    const r2 = await pending.applyPendingChanges(p.id);
    expect(r2.redeployed_service_ids).toEqual([id]);
    expect(r2.created_deployments[0]).toMatchObject({
      restart_policy: "on-failure",
      restart_max_retries: 3,
      pre_deploy_command: ["migrate", "pg"],
    });
    expect((await services.findServiceByID(id)).pre_deploy_command).toEqual(["migrate", "${{DB}}"]);

    // The same values again: nothing differs, nothing is redeployed.
    await pending.appendPendingChange(p.id, null, update(id, { restart_policy: "on-failure" }));
    expect((await pending.applyPendingChanges(p.id)).redeployed_service_ids).toEqual([]);

    await pending.appendPendingChange(p.id, null, update(id, { cron_schedule: " */5  * * * * ", cron_timeout_seconds: 60 }));
    const r3 = await pending.applyPendingChanges(p.id);
    expect(r3.created_deployments[0]).toMatchObject({ cron_schedule: "*/5 * * * *", cron_timeout_seconds: 60 });
    await pending.appendPendingChange(p.id, null, update(id, { cron_schedule: null }));
    const r4 = await pending.applyPendingChanges(p.id);
    expect(r4.created_deployments[0]?.cron_schedule).toBeUndefined();
  });

  it.each([
    [{ restart_policy: "sometimes" }, "restart_policy"],
    [{ restart_max_retries: -1 }, "restart_max_retries"],
    [{ pre_deploy_command: [] }, "pre_deploy_command"],
    [{ pre_deploy_command: "migrate" }, "pre_deploy_command"],
    [{ cron_schedule: "* * * *" }, "cron_schedule"],
    [{ cron_schedule: "*/10 * * * * *" }, "cron_schedule"],
    [{ cron_schedule: "61 * * * *" }, "cron_schedule"],
    [{ cron_schedule: "0 0 31 2 *" }, "cron_schedule"],
    [{ cron_timeout_seconds: 0 }, "cron_timeout_seconds"],
  ])("refuses %j with the field", async (payload, field) => {
    const { pending, p } = await setup();
    const err = await refusal(pending.appendPendingChange(p.id, null, create("t1", "x", payload)));
    expect(err?.code).toBe(deploykit.EINVALID);
    expect(Object.keys(err?.fields ?? {})).toContain(field);
  });

  it("refuses a bad schedule on an update too", async () => {
    const { pending, p } = await setup();
    await pending.appendPendingChange(p.id, null, create("t1", "web"));
    const id = (await pending.applyPendingChanges(p.id)).temp_id_to_service_id.t1!;
    const err = await refusal(pending.appendPendingChange(p.id, null, update(id, { cron_schedule: "every minute" })));
    expect(err?.fields).toHaveProperty("cron_schedule");
  });
});

describe("ServiceRunService", () => {
  it("one run at a time per service: the next begin is recorded skipped; finish stores exit code and the last 200 lines", async () => {
    const { db, pending, p, runs } = await setup();
    const events: string[] = [];
    await pending.appendPendingChange(p.id, null, create("t1", "job", { cron_schedule: "* * * * *" }));
    const r = await pending.applyPendingChanges(p.id);
    const sid = r.temp_id_to_service_id.t1!;
    const did = r.created_deployments[0]!.id;
    void db;
    const a = await runs.beginRun({ service_id: sid, deployment_id: did, trigger: "manual" });
    const b = await runs.beginRun({ service_id: sid, deployment_id: did, trigger: "schedule" });
    expect(a.status).toBe("running");
    expect(b).toMatchObject({ status: "skipped", reason: "Skipped: the previous run was still going." });
    expect(b.finished_at).toBeDefined();
    const log = Array.from({ length: 250 }, (_, i) => `l${i}`).join("\n");
    const done = await runs.finishRun(a.id, { status: "failed", exit_code: 2, reason: "Exited with code 2.", log_tail: log });
    expect(done).toMatchObject({ status: "failed", exit_code: 2 });
    expect(done.log_tail?.split("\n")).toHaveLength(200);
    // Finishing twice changes nothing.
    expect((await runs.finishRun(a.id, { status: "succeeded" })).status).toBe("failed");
    const c = await runs.beginRun({ service_id: sid, deployment_id: did, trigger: "schedule" });
    expect(c.status).toBe("running");
    const page = await runs.findRuns({ service_id: sid, limit: 2 });
    expect(page.total).toBe(3);
    expect(page.items.map((x) => x.id)).toEqual([c.id, b.id]);
    expect((await runs.findRunningRuns()).map((x) => x.id)).toEqual([c.id]);
    void events;
  });
});
