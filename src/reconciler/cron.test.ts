import { afterEach, describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { CronScheduler, dueTick } from "./cron.ts";
import { Clock, FakeRuntime, RecordingLogger, TestStore } from "./testutil.ts";

const INSTANCE = "inst-test";
const made: CronScheduler[] = [];

afterEach(() => {
  for (const s of made.splice(0)) s.stop();
});

/** A poll that yields to the event loop without waiting. */
const tick = () => new Promise<void>((r) => setImmediate(r));

/** The runs store's rules in memory: one running run per service, the rest recorded skipped. */
class MemRuns implements deploykit.ServiceRunService {
  readonly rows: deploykit.ServiceRun[] = [];
  readonly clock: Clock;
  #seq = 0;
  constructor(clock: Clock) {
    this.clock = clock;
  }
  async findRuns(f: deploykit.ServiceRunFilter) {
    const items = this.rows.filter((r) => !f.service_id || r.service_id === f.service_id).reverse();
    return { items, total: items.length };
  }
  async findRunByID(id: string) {
    const r = this.rows.find((x) => x.id === id);
    if (!r) throw deploykit.errorf(deploykit.ENOTFOUND, "Run not found.");
    return r;
  }
  async findRunningRuns() {
    return this.rows.filter((r) => r.status === "running");
  }
  async beginRun(input: { service_id: string; deployment_id: string; trigger: deploykit.RunTrigger }) {
    const busy = this.rows.some((r) => r.service_id === input.service_id && r.status === "running");
    const run: deploykit.ServiceRun = {
      id: `run${++this.#seq}`,
      ...input,
      status: busy ? "skipped" : "running",
      started_at: new Date(this.clock.now()).toISOString(),
    };
    this.rows.push(run);
    return { ...run };
  }
  async attachContainer(id: string, dockerID: string) {
    (await this.findRunByID(id)).docker_container_id = dockerID;
  }
  async finishRun(id: string, result: deploykit.ServiceRunFinish) {
    const r = await this.findRunByID(id);
    if (r.status !== "running") return r;
    Object.assign(r, result, { finished_at: new Date(this.clock.now()).toISOString() });
    return { ...r };
  }
}

function setup() {
  const clock = new Clock();
  // 2026-01-01T00:00:30Z: half a minute past a tick.
  clock.advance(30_000);
  const rt = new FakeRuntime(INSTANCE, clock);
  const store = new TestStore(clock.now);
  const runs = new MemRuns(clock);
  const project = store.addProject("shop");
  // The reconciler made the project network when it promoted the cron deployment.
  rt.networks.set("dk-shop", { id: "n1", name: "dk-shop", labels: {} });
  const svc = store.addService(project.id, "job", { cron_schedule: "* * * * *", stop_grace_seconds: 1 });
  const dep = store.addDeployment(
    svc.id,
    {
      image: "app:1",
      cron_schedule: "* * * * *",
      cron_timeout_seconds: 120,
      stop_grace_seconds: 1,
      start_command: ["sh", "-c", "echo hi"],
      env_vars: { A: "1" },
    },
    { promote: true },
  );
  const make = () => {
    const s = new CronScheduler({
      projects: store.projects,
      services: store.services,
      deployments: { findDeploymentByID: async (id) => store.dep(id) },
      runs,
      runtime: rt,
      instanceID: INSTANCE,
      logger: new RecordingLogger(),
      now: clock.now,
      sleep: tick,
    });
    made.push(s);
    return s;
  };
  return { clock, rt, store, runs, svc, dep, cron: make(), make };
}

describe("dueTick", () => {
  it("finds the tick in (after, upTo] and only the latest of several missed ones", () => {
    const t = Date.parse("2026-01-01T00:00:30Z");
    expect(dueTick("* * * * *", t, t + 20_000)).toBeNull();
    expect(dueTick("* * * * *", t, t + 30_000)).toBe(Date.parse("2026-01-01T00:01:00Z"));
    expect(dueTick("*/5 * * * *", t, t + 3600_000)).toBe(Date.parse("2026-01-01T01:00:00Z"));
  });
});

describe("CronScheduler", () => {
  it("starts nothing at first sight (no replay), then one run per tick with the deployment's command and env, and no alias, ports or volumes", async () => {
    const h = setup();
    await h.cron.tick();
    expect(h.runs.rows).toHaveLength(0);
    h.clock.advance(20_000);
    await h.cron.tick();
    expect(h.runs.rows).toHaveLength(0);
    h.clock.advance(15_000); // 00:01:05
    await h.cron.tick();
    expect(h.runs.rows).toMatchObject([{ status: "running", trigger: "schedule", deployment_id: h.dep.id }]);
    const c = h.rt.ofService(h.svc.id)[0]!;
    expect(c).toMatchObject({
      cmd: ["sh", "-c", "echo hi"],
      env: { A: "1" },
      aliases: [],
      ports: [],
      volumes: [],
      restart_policy: "never",
    });
    expect(c.labels).toMatchObject({ [deploykit.LABEL_ROLE]: "cron", [deploykit.LABEL_RUN_ID]: "run1" });
    await h.cron.tick();
    expect(h.runs.rows).toHaveLength(1);
  });

  it("records exit code and log, then removes the container", async () => {
    const h = setup();
    h.rt.onRun = (c) => {
      c.state = "exited";
      c.exit_code = 4;
      c.logs = Array.from({ length: 300 }, (_, i) => `line ${i}`).join("\n");
    };
    const run = await h.cron.runNow(h.svc.id);
    expect(run.trigger).toBe("manual");
    await h.cron.idle();
    const done = h.runs.rows[0]!;
    expect(done).toMatchObject({ status: "failed", exit_code: 4 });
    expect(done.log_tail?.split("\n")).toHaveLength(200);
    expect(done.log_tail?.endsWith("line 299")).toBe(true);
    expect(h.rt.ofService(h.svc.id)).toHaveLength(0);
  });

  it("a tick while a run is going is recorded as skipped; a run past its timeout is stopped and failed", async () => {
    const h = setup();
    let polls = 0;
    const sched = new CronScheduler({
      projects: h.store.projects,
      services: h.store.services,
      deployments: { findDeploymentByID: async (id) => h.store.dep(id) },
      runs: h.runs,
      runtime: h.rt,
      instanceID: INSTANCE,
      logger: new RecordingLogger(),
      now: h.clock.now,
      // Each poll is a minute of the fake clock: the 120 s timeout comes on the third.
      sleep: async () => {
        polls++;
        h.clock.advance(60_000);
        await tick();
      },
    });
    made.push(sched);
    const first = await sched.runNow(h.svc.id);
    expect(first.status).toBe("running");
    const second = await sched.runNow(h.svc.id);
    expect(second.status).toBe("skipped");
    await sched.idle();
    expect(h.runs.rows[0]).toMatchObject({ status: "failed", timed_out: true });
    expect(h.runs.rows[0]!.reason).toContain("Timed out after 120 s");
    expect(h.rt.graces.at(-1)).toBe(1);
    expect(h.rt.ofService(h.svc.id)).toHaveLength(0);
    expect(polls).toBeGreaterThanOrEqual(2);
  });

  it("Run now refuses a service that is not a cron service", async () => {
    const h = setup();
    const plain = h.store.addService(h.svc.project_id, "web");
    h.store.addDeployment(plain.id, { image: "app:1" }, { promote: true });
    await expect(h.cron.runNow(plain.id)).rejects.toMatchObject({ code: deploykit.EINVALID });
  });

  it("after a restart, adopts a run whose container is still there and fails one whose container is gone", async () => {
    const h = setup();
    await h.cron.runNow(h.svc.id);
    h.cron.stop();
    // A second run row whose container never came (the daemon died in between).
    h.runs.rows.push({
      id: "orphan",
      service_id: h.svc.id,
      deployment_id: h.dep.id,
      trigger: "schedule",
      status: "running",
      started_at: "",
    });
    const c = h.rt.ofService(h.svc.id)[0]!;
    c.state = "exited";
    c.exit_code = 0;
    c.logs = "done";
    const next = h.make();
    await next.recover();
    await next.idle();
    expect(h.runs.rows.find((r) => r.id === "run1")).toMatchObject({ status: "succeeded", exit_code: 0, log_tail: "done" });
    expect(h.runs.rows.find((r) => r.id === "orphan")).toMatchObject({ status: "failed" });
    expect(h.rt.count("runContainer")).toBe(1);
  });

  it("a scheduler that met Docker down at start adopts the previous daemon's runs at a later tick, not its own", async () => {
    const h = setup();
    h.runs.rows.push({ id: "old", service_id: h.svc.id, deployment_id: h.dep.id, trigger: "schedule", status: "running", started_at: "" });
    h.rt.down = true;
    await h.cron.recover();
    expect(h.runs.rows[0]!.status).toBe("running");
    h.rt.down = false;
    const mine = await h.cron.runNow(h.svc.id);
    expect(mine.status).toBe("skipped");
    h.runs.rows[0]!.status = "failed";
    const fresh = await h.cron.runNow(h.svc.id);
    h.runs.rows[0]!.status = "running";
    await h.cron.tick();
    expect(h.runs.rows.find((r) => r.id === "old")!.status).toBe("failed");
    expect(h.runs.rows.find((r) => r.id === fresh.id)!.status).toBe("running");
  });
});
