/**
 * Issue 16 operations against the real dockerd and a real SQLite: a cron service whose runs are
 * started with "Run now" (no waiting for real minutes) record their log and exit code, an
 * overlapping run is skipped and a run past its timeout is stopped and failed; a pre-deploy command
 * that fails keeps the old deployment serving, and one interrupted by a stopped reconciler is adopted,
 * not run twice; the restart policy reaches Docker.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as docker from "../../src/docker/index.ts";
import { randomID, rawDocker, removeLabelled, waitFor } from "../../src/docker/testutil.ts";
import * as events from "../../src/events/index.ts";
import * as deploykit from "../../src/index.ts";
import * as reconciler from "../../src/reconciler/index.ts";
import * as sqlite from "../../src/sqlite/index.ts";
import { BASE_IMAGE, ensureWebImage, WEB_IMAGE } from "./helpers.ts";

const instanceID = randomID("ops-");
/** DEBUG_OPS=1 prints what the reconciler and the scheduler log. */
const logger: deploykit.Logger = process.env.DEBUG_OPS
  ? {
      trace() {},
      debug() {},
      info: (o, m) => console.log("info", m, JSON.stringify(o)),
      warn: (o, m) => console.log("warn", m, JSON.stringify(o)),
      error: (o, m) => console.log("error", m, JSON.stringify(o)),
      child() {
        return logger;
      },
    }
  : deploykit.nopLogger;
const raw = rawDocker();
const bus = new events.EventBus();
const db = new sqlite.DB(":memory:", { bus });
db.open();
const s = {
  projects: new sqlite.ProjectService(db),
  services: new sqlite.ServiceService(db),
  deployments: new sqlite.DeploymentService(db),
  containers: new sqlite.ContainerService(db),
};
const runs = new sqlite.ServiceRunService(db);
const client = new docker.Client({ instanceID });
const rec = new reconciler.Reconciler({
  ...s,
  runtime: client.runtime,
  provisioner: client.provisioner,
  bus,
  instanceID,
  logger,
  stableWindowMs: 1_000,
  fastTickMs: 250,
  intervalMs: 5_000,
});
const cron = new reconciler.CronScheduler({
  ...s,
  runs,
  runtime: client.runtime,
  instanceID,
  logger,
  now: Date.now,
  pollMs: 200,
});

let project: deploykit.Project;

beforeAll(async () => {
  await ensureWebImage(raw);
  project = await s.projects.createProject({ name: "Ops" });
  rec.start();
  await cron.start();
});

afterAll(async () => {
  cron.stop();
  await rec.stop();
  await removeLabelled(raw, deploykit.LABEL_INSTANCE, instanceID);
  db.close();
});

async function finished(id: string): Promise<deploykit.ServiceRun> {
  return waitFor(
    async () => {
      const r = await runs.findRunByID(id);
      return r.status !== "running" ? r : undefined;
    },
    60_000,
    `run ${id} finished`,
  );
}

async function healthy(id: string): Promise<void> {
  await waitFor(async () => (await s.deployments.findDeploymentByID(id)).status === "healthy", 60_000, `deployment ${id} healthy`);
}

describe("cron jobs on dockerd", () => {
  it("Run now records log and exit code, an overlapping run is skipped, and a timeout stops the run and fails it", async () => {
    const svc = await s.services.createService(project.id, { name: "job", image: BASE_IMAGE, cron_schedule: "0 3 * * *" });
    const dep = await s.deployments.createDeployment(svc.id, {
      image: BASE_IMAGE,
      cron_schedule: "0 3 * * *",
      start_command: ["sh", "-c", "echo hi from cron; sleep 2; exit 3"],
      stop_grace_seconds: 1,
    });
    rec.triggerService(svc.id);
    await healthy(dep.id);
    // A cron deployment serves without a long-lived container.
    expect((await raw.listContainers({ all: true, filters: { label: [`${deploykit.LABEL_SERVICE_ID}=${svc.id}`] } })).length).toBe(0);

    const first = await cron.runNow(svc.id);
    expect(first.status).toBe("running");
    const second = await cron.runNow(svc.id);
    expect(second.status).toBe("skipped");
    const done = await finished(first.id);
    expect(done).toMatchObject({ status: "failed", exit_code: 3 });
    expect(done.log_tail).toContain("hi from cron");
    // The run's container is gone once recorded.
    await waitFor(
      async () => (await raw.listContainers({ all: true, filters: { label: [`${deploykit.LABEL_RUN_ID}=${first.id}`] } })).length === 0,
      30_000,
      "run container removed",
    );

    const slow = await s.deployments.createDeployment(svc.id, {
      image: BASE_IMAGE,
      cron_schedule: "0 3 * * *",
      cron_timeout_seconds: 2,
      start_command: ["sh", "-c", "echo started; sleep 60"],
      stop_grace_seconds: 1,
    });
    rec.triggerService(svc.id);
    await healthy(slow.id);
    const t0 = Date.now();
    const long = await cron.runNow(svc.id);
    const out = await finished(long.id);
    expect(out).toMatchObject({ status: "failed", timed_out: true });
    expect(out.log_tail).toContain("started");
    expect(Date.now() - t0).toBeLessThan(30_000);
    const page = await runs.findRuns({ service_id: svc.id });
    expect(page.items.map((r) => r.status)).toEqual(["failed", "skipped", "failed"]);
  });
});

describe("pre-deploy command and restart policy on dockerd", () => {
  it("a failing pre-deploy command fails the deployment with its log and the old one keeps serving; a passing one lets the rollout through", async () => {
    const svc = await s.services.createService(project.id, { name: "web", image: WEB_IMAGE });
    const v1 = await s.deployments.createDeployment(svc.id, { image: WEB_IMAGE, env_vars: { VERSION: "v1" } });
    rec.triggerService(svc.id);
    await healthy(v1.id);
    const [oldContainer] = await raw.listContainers({ filters: { label: [`${deploykit.LABEL_DEPLOYMENT_ID}=${v1.id}`] } });

    const v2 = await s.deployments.createDeployment(svc.id, {
      image: WEB_IMAGE,
      env_vars: { VERSION: "v2" },
      pre_deploy_command: ["sh", "-c", "echo migrating $VERSION; exit 5"],
    });
    rec.triggerService(svc.id);
    const failed = await waitFor(
      async () => {
        const d = await s.deployments.findDeploymentByID(v2.id);
        return d.status === "failed" ? d : undefined;
      },
      60_000,
      "v2 failed",
    );
    expect(failed).toMatchObject({
      failure_reason: "pre-deploy command exited with code 5",
      pre_deploy_status: "failed",
      pre_deploy_exit_code: 5,
    });
    expect(failed.pre_deploy_log).toContain("migrating v2");
    expect((await s.services.findServiceByID(svc.id)).active_deployment_id).toBe(v1.id);
    const after = await raw.listContainers({ all: true, filters: { label: [`${deploykit.LABEL_SERVICE_ID}=${svc.id}`] } });
    // Only the old container: v2 never started one, and the pre-deploy container was removed.
    await waitFor(
      async () =>
        (await raw.listContainers({ all: true, filters: { label: [`${deploykit.LABEL_SERVICE_ID}=${svc.id}`] } }))
          .map((c) => c.Id)
          .join() === oldContainer!.Id,
      30_000,
      "only the old container left",
    );
    expect(after.some((c) => c.Id === oldContainer!.Id && c.State === "running")).toBe(true);

    const v3 = await s.deployments.createDeployment(svc.id, {
      image: WEB_IMAGE,
      env_vars: { VERSION: "v3" },
      pre_deploy_command: ["sh", "-c", "echo ok"],
      restart_policy: "on-failure",
      restart_max_retries: 2,
    });
    rec.triggerService(svc.id);
    await healthy(v3.id);
    const d3 = await s.deployments.findDeploymentByID(v3.id);
    expect(d3).toMatchObject({ pre_deploy_status: "succeeded", pre_deploy_exit_code: 0 });
    expect(d3.pre_deploy_log).toContain("ok");
    const [c3] = await raw.listContainers({
      filters: { label: [`${deploykit.LABEL_DEPLOYMENT_ID}=${v3.id}`, `${deploykit.LABEL_REPLICA_INDEX}=0`] },
    });
    const insp = await raw.getContainer(c3!.Id).inspect();
    expect(insp.HostConfig.RestartPolicy).toMatchObject({ Name: "on-failure", MaximumRetryCount: 2 });
  });

  it("restart policy never: a one-shot that exits 0 is promoted (no crash loop) and is not run again; the service shows stopped", async () => {
    const svc = await s.services.createService(project.id, { name: "oneshot", image: BASE_IMAGE });
    const dep = await s.deployments.createDeployment(svc.id, {
      image: BASE_IMAGE,
      start_command: ["sh", "-c", "echo done"],
      restart_policy: "never",
    });
    rec.triggerService(svc.id);
    await healthy(dep.id);
    await waitFor(async () => (await s.services.findServiceByID(svc.id)).status === "stopped", 30_000, "service stopped");
    // A few more passes change nothing: it is not started again.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await s.deployments.findDeploymentByID(dep.id)).status).toBe("healthy");
    expect((await s.services.findServiceByID(svc.id)).status).toBe("stopped");
    expect(await raw.listContainers({ filters: { label: [`${deploykit.LABEL_SERVICE_ID}=${svc.id}`] } })).toHaveLength(0);
  });

  it("a reconciler stopped mid pre-deploy leaves its container to the next one, which adopts it: one run, then the rollout", async () => {
    const svc = await s.services.createService(project.id, { name: "api", image: WEB_IMAGE });
    const dep = await s.deployments.createDeployment(svc.id, {
      image: WEB_IMAGE,
      env_vars: { VERSION: "a1" },
      pre_deploy_command: ["sh", "-c", "echo migrating once; sleep 4"],
    });
    const first = new reconciler.Reconciler({
      ...s,
      runtime: client.runtime,
      provisioner: client.provisioner,
      bus,
      instanceID,
      logger,
      stableWindowMs: 1_000,
      fastTickMs: 250,
      intervalMs: 60_000,
    });
    // The shared reconciler would pick the service up too: it is stopped for this test and restarted after.
    await rec.stop();
    const seen = new Set<string>();
    const label = [`${deploykit.LABEL_DEPLOYMENT_ID}=${dep.id}`, `${deploykit.LABEL_ROLE}=${deploykit.ROLE_PRE_DEPLOY}`];
    const watch = setInterval(() => {
      void raw.listContainers({ all: true, filters: { label } }).then((l) => {
        for (const c of l) seen.add(c.Id);
      });
    }, 100);
    try {
      first.start();
      first.triggerService(svc.id);
      await waitFor(
        async () => (await s.deployments.findDeploymentByID(dep.id)).pre_deploy_status === "running",
        30_000,
        "pre-deploy running",
      );
      await first.stop();
      const second = new reconciler.Reconciler({
        ...s,
        runtime: client.runtime,
        provisioner: client.provisioner,
        bus,
        instanceID,
        logger,
        stableWindowMs: 1_000,
        fastTickMs: 250,
        intervalMs: 5_000,
      });
      second.start();
      try {
        second.triggerService(svc.id);
        await healthy(dep.id);
      } finally {
        await second.stop();
      }
    } finally {
      clearInterval(watch);
    }
    expect(seen.size).toBe(1);
    const d = await s.deployments.findDeploymentByID(dep.id);
    expect(d).toMatchObject({ pre_deploy_status: "succeeded", pre_deploy_exit_code: 0 });
    expect(d.pre_deploy_log?.match(/migrating once/g)).toHaveLength(1);
  });
});
