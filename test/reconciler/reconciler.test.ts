import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as docker from "../../src/docker/index.ts";
import { randomID, rawDocker, removeLabelled, TEST_RUN_LABEL, waitFor } from "../../src/docker/testutil.ts";
import * as events from "../../src/events/index.ts";
import * as deploykit from "../../src/index.ts";
import * as reconciler from "../../src/reconciler/index.ts";
import * as sqlite from "../../src/sqlite/index.ts";
import { BASE_IMAGE, buildImage, ensureWebImage, fetchScript, WEB_IMAGE } from "./helpers.ts";

// The reconciler against the real dockerd and a real SQLite: every object it creates carries a
// fresh instance id, and everything the test creates besides carries TEST_RUN_LABEL; both are
// removed in afterAll.
const instanceID = randomID("recon-");
const run = randomID("run");
const runLabels = { [TEST_RUN_LABEL]: run };
const raw = rawDocker();
const BAD_REGISTRY = "127.0.0.1:9";
/** An image whose LABELs name the web service's ids (C04); removed in afterAll. */
const FORGED_IMAGE = `deploykit-test/forged-labels:${run}`;

function stores() {
  const db = new sqlite.DB(":memory:");
  db.open();
  return {
    db,
    projects: new sqlite.ProjectService(db),
    services: new sqlite.ServiceService(db),
    deployments: new sqlite.DeploymentService(db),
    containers: new sqlite.ContainerService(db),
    settings: new sqlite.SettingsService(db),
  };
}

const s = stores();
const bus = new events.EventBus();
const client = new docker.Client({ instanceID });
const rec = new reconciler.Reconciler({
  ...s,
  runtime: client.runtime,
  provisioner: client.provisioner,
  bus,
  instanceID,
  limitDefaults: () => s.settings.getSettings(),
  stableWindowMs: 1_000,
  fastTickMs: 250,
  intervalMs: 5_000,
});
const reconcilers: reconciler.Reconciler[] = [rec];

/** Output of one `wget` from a throwaway container on `network` (not DeployKit's). */
async function httpGet(network: string, host: string, path = "/"): Promise<string> {
  const c = await raw.createContainer({
    Image: BASE_IMAGE,
    Cmd: ["sh", "-c", fetchScript(host, path)],
    Labels: runLabels,
    HostConfig: { NetworkMode: network },
  });
  try {
    await c.start();
    const res = await c.wait();
    if (process.env.DEBUG_RECON)
      console.log(
        "httpGet",
        host,
        res,
        demux((await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer),
        JSON.stringify(
          (await raw.listContainers({ filters: { label: [`${deploykit.LABEL_INSTANCE}=${instanceID}`] } })).map((x) => [
            x.Names,
            x.State,
            x.Status,
            x.NetworkSettings,
          ]),
        ),
      );
    return demux((await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer).trim();
  } finally {
    await c.remove({ force: true }).catch(() => {});
  }
}

/** Docker's multiplexed log frames → text. */
function demux(buf: Buffer): string {
  let out = "";
  for (let i = 0; i + 8 <= buf.length; ) {
    const len = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + len).toString("utf8");
    i += 8 + len;
  }
  return out;
}

async function managed(label: string, value: string) {
  return raw.listContainers({ all: true, filters: { label: [`${deploykit.LABEL_INSTANCE}=${instanceID}`, `${label}=${value}`] } });
}

async function deployment(id: string): Promise<deploykit.Deployment> {
  return s.deployments.findDeploymentByID(id);
}

async function until<T>(what: string, cond: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  return waitFor(cond, ms, what);
}

let project: deploykit.Project;
let network: string;
let web: deploykit.Service;

beforeAll(async () => {
  await ensureWebImage(raw);
  project = await s.projects.createProject({ name: "Integration" });
  network = deploykit.projectNetworkName(project.slug);
  rec.start();
});

afterAll(async () => {
  await Promise.all(reconcilers.map((r) => r.stop()));
  await removeLabelled(raw, deploykit.LABEL_INSTANCE, instanceID);
  await removeLabelled(raw, TEST_RUN_LABEL, run);
  await raw
    .getImage(FORGED_IMAGE)
    .remove({ force: true })
    .catch(() => {});
  s.db.close();
});

describe("Reconciler with dockerd and SQLite", () => {
  it("deploys a service that goes healthy and answers on its alias from another container", async () => {
    web = await s.services.createService(project.id, { name: "web", image: WEB_IMAGE });
    const dep = await s.deployments.createDeployment(web.id, { image: WEB_IMAGE, env_vars: { VERSION: "v1" } });
    rec.trigger();
    await until("v1 healthy", async () => (await deployment(dep.id)).status === "healthy");
    expect(await httpGet(network, "web")).toBe("v1");
    const svc = await s.services.findServiceByID(web.id);
    expect(svc).toMatchObject({ status: "running", active_deployment_id: dep.id });
    const rows = await s.containers.findContainers({ service_id: web.id });
    const listed = await managed(deploykit.LABEL_SERVICE_ID, web.id);
    expect(rows.items.map((r) => [r.docker_container_id, r.status])).toEqual([[listed[0]!.Id, "running"]]);
    expect(listed[0]!.Names[0]).toBe(`/${deploykit.containerName(project.slug, "web", 0, dep.id)}`);
  });

  it("switches a redeploy over with the old container answering until the new one is promoted", async () => {
    const old = (await s.services.findServiceByID(web.id)).active_deployment_id!;
    // A client on the project network asks every 100 ms and prints the answer or FAIL.
    const poller = await raw.createContainer({
      Image: BASE_IMAGE,
      Cmd: ["sh", "-c", `trap 'exit 0' TERM; while true; do ${fetchScript("web")} || echo FAIL; sleep 0.1; done`],
      Labels: runLabels,
      HostConfig: { NetworkMode: network },
    });
    await poller.start();
    try {
      await until("poller sees v1", async () =>
        demux((await poller.logs({ stdout: true, stderr: true })) as unknown as Buffer).includes("v1"),
      );
      const dep = await s.deployments.createDeployment(web.id, { image: WEB_IMAGE, env_vars: { VERSION: "v2" } });
      rec.triggerService(web.id);
      await until("v2 healthy", async () => (await deployment(dep.id)).status === "healthy");
      await until("old container gone", async () => (await managed(deploykit.LABEL_DEPLOYMENT_ID, old)).length === 0);
      const pollerLines = async () =>
        demux((await poller.logs({ stdout: true, stderr: true })) as unknown as Buffer)
          .split("\n")
          .filter((l) => l.trim() !== "");
      // The poller asks one request at a time: one may have been in flight when the old container went
      // (on a loaded machine a round can take seconds), every later one can only reach v2.
      const atRemoval = (await pollerLines()).length;
      const lines = await until("three answers after the old container is gone", async () => {
        const l = await pollerLines();
        return l.length >= atRemoval + 3 ? l : undefined;
      });
      expect(
        lines.filter((l) => l !== "v1" && l !== "v2"),
        lines.join(" "),
      ).toEqual([]);
      expect(lines.slice(atRemoval + 1), lines.join(" ")).toEqual(lines.slice(atRemoval + 1).map(() => "v2"));
      expect((await deployment(old)).status).toBe("superseded");
    } finally {
      await poller.remove({ force: true });
    }
  });

  it("drain_seconds: a superseded container gets its stop signal that long after the promotion, not sooner", async () => {
    const svc = await s.services.createService(project.id, { name: "drainer", image: WEB_IMAGE, drain_seconds: 3 });
    const first = await s.deployments.createDeployment(svc.id, { image: WEB_IMAGE, env_vars: { VERSION: "d1" } });
    rec.triggerService(svc.id);
    await until("d1 healthy", async () => (await deployment(first.id)).status === "healthy", 60_000);
    const [old] = await managed(deploykit.LABEL_DEPLOYMENT_ID, first.id);
    const since = Math.floor(Date.now() / 1000) - 1;
    const next = await s.deployments.createDeployment(svc.id, { image: WEB_IMAGE, env_vars: { VERSION: "d2" } });
    rec.triggerService(svc.id);
    await until("d2 healthy", async () => (await deployment(next.id)).status === "healthy", 60_000);
    await until("old container gone", async () => (await managed(deploykit.LABEL_DEPLOYMENT_ID, first.id)).length === 0);
    // Docker's own record of the stop signal (`docker stop` is a kill event with SIGTERM).
    const stream = (await raw.getEvents({
      since,
      until: Math.ceil(Date.now() / 1000) + 1,
      filters: { container: [old!.Id], event: ["kill"] },
    })) as NodeJS.ReadableStream;
    let text = "";
    for await (const chunk of stream) text += chunk.toString();
    const kills = text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as { timeNano: number; Actor: { Attributes: { signal?: string } } });
    expect(kills.length, text).toBeGreaterThan(0);
    const afterPromotion = kills[0]!.timeNano / 1e6 - Date.parse((await deployment(next.id)).healthy_at!);
    // Promotion, then the name leaves the old container, then drain_seconds, then SIGTERM (15).
    expect(kills[0]!.Actor.Attributes.signal).toBe("15");
    expect(afterPromotion).toBeGreaterThanOrEqual(3_000);
    expect(afterPromotion).toBeLessThan(3_000 + 10_000);
  });

  it("Restart restarts a two-replica service one replica at a time in place; Stop keeps it down; Start brings the same deployment back", async () => {
    const svc = await s.services.createService(project.id, { name: "pair", image: WEB_IMAGE });
    const dep = await s.deployments.createDeployment(svc.id, { image: WEB_IMAGE, replicas: 2, env_vars: { VERSION: "p1" } });
    rec.triggerService(svc.id);
    await until("pair healthy", async () => (await deployment(dep.id)).status === "healthy", 60_000);
    const startedAt = async () =>
      new Map(
        await Promise.all(
          (await managed(deploykit.LABEL_SERVICE_ID, svc.id)).map(
            async (c) => [c.Id, (await raw.getContainer(c.Id).inspect()).State] as const,
          ),
        ),
      );
    const before = await startedAt();
    expect(before.size).toBe(2);
    // An in-project client asks the service by name every 100 ms: no request may fail (issue 16).
    const poller = await raw.createContainer({
      Image: BASE_IMAGE,
      Cmd: ["sh", "-c", `trap 'exit 0' TERM; while true; do ${fetchScript("pair")} || echo FAIL; sleep 0.1; done`],
      Labels: runLabels,
      HostConfig: { NetworkMode: network },
    });
    await poller.start();
    const pollerLines = async () =>
      demux((await poller.logs({ stdout: true, stderr: true })) as unknown as Buffer)
        .split("\n")
        .filter((l) => l.trim() !== "");
    await until("poller sees p1", async () => (await pollerLines()).includes("p1"));
    // Sampled every 100 ms during the restart: at least one replica is running at every sample.
    let minRunning = 2;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const list = await managed(deploykit.LABEL_SERVICE_ID, svc.id);
        minRunning = Math.min(minRunning, list.filter((c) => c.State === "running").length);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      await s.services.requestRestart(svc.id);
      rec.triggerService(svc.id);
      await until(
        "both replicas restarted",
        async () => {
          const now = await startedAt();
          return [...before].every(([id, st]) => now.get(id) && now.get(id)!.StartedAt !== st.StartedAt && now.get(id)!.Running);
        },
        90_000,
      );
    } finally {
      sampling = false;
      await sampler;
    }
    expect(minRunning).toBeGreaterThanOrEqual(1);
    // Both restarted replicas answer by name again, and no request failed on the way.
    const atEnd = (await pollerLines()).length;
    const lines = await until("answers after the restart", async () => {
      const l = await pollerLines();
      return l.length >= atEnd + 3 ? l : undefined;
    });
    await poller.remove({ force: true });
    expect(
      lines.filter((l) => l !== "p1"),
      lines.join(" "),
    ).toEqual([]);
    // In place: the same two containers.
    expect([...(await startedAt()).keys()].sort()).toEqual([...before.keys()].sort());

    await s.services.setRunState(svc.id, deploykit.RUN_STOP);
    rec.triggerService(svc.id);
    await until("stopped service has no containers", async () => (await managed(deploykit.LABEL_SERVICE_ID, svc.id)).length === 0);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await managed(deploykit.LABEL_SERVICE_ID, svc.id)).toHaveLength(0);
    expect((await s.services.findServiceByID(svc.id)).status).toBe("stopped");

    await s.services.setRunState(svc.id, deploykit.RUN_START);
    rec.triggerService(svc.id);
    await until("started again", async () => (await s.services.findServiceByID(svc.id)).status === "running", 60_000);
    const again = await managed(deploykit.LABEL_SERVICE_ID, svc.id);
    expect(again.map((c) => c.Labels[deploykit.LABEL_DEPLOYMENT_ID])).toEqual([dep.id, dep.id]);
    await s.services.deleteService(svc.id);
    rec.trigger();
  });

  it("gives containers of a service that sets no limits the admin's defaults, and a service's own limits win (issue 10 item 8)", async () => {
    const limited = await s.services.createService(project.id, { name: "limits", image: WEB_IMAGE });
    const hostConfig = async (depID: string) => {
      const [c] = await managed(deploykit.LABEL_DEPLOYMENT_ID, depID);
      return (await raw.getContainer(c!.Id).inspect()).HostConfig;
    };
    const first = await s.deployments.createDeployment(limited.id, { image: WEB_IMAGE, env_vars: { VERSION: "l1" } });
    rec.trigger();
    await until("l1 healthy", async () => (await deployment(first.id)).status === "healthy");
    const d = deploykit.DEFAULT_SETTINGS;
    expect(await hostConfig(first.id)).toMatchObject({
      Memory: d.default_memory_mb * 1024 * 1024,
      PidsLimit: d.default_pids_limit,
      NanoCpus: 0,
    });

    await s.settings.updateSettings({ default_memory_mb: 96, default_cpus: 0.5, default_pids_limit: 256 });
    const second = await s.deployments.createDeployment(limited.id, { image: WEB_IMAGE, env_vars: { VERSION: "l2" } });
    rec.trigger();
    await until("l2 healthy", async () => (await deployment(second.id)).status === "healthy");
    expect(await hostConfig(second.id)).toMatchObject({ Memory: 96 * 1024 * 1024, NanoCpus: 500_000_000, PidsLimit: 256 });

    const own = await s.deployments.createDeployment(limited.id, {
      image: WEB_IMAGE,
      env_vars: { VERSION: "l3" },
      resources: { memory_mb: 48, cpus: 0.25 },
    });
    rec.trigger();
    await until("l3 healthy", async () => (await deployment(own.id)).status === "healthy");
    expect(await hostConfig(own.id)).toMatchObject({ Memory: 48 * 1024 * 1024, NanoCpus: 250_000_000, PidsLimit: 256 });
    await s.settings.updateSettings({
      default_memory_mb: d.default_memory_mb,
      default_cpus: d.default_cpus,
      default_pids_limit: d.default_pids_limit,
    });
  });

  it("fails a bad image after three attempts while the previous deployment keeps serving", async () => {
    // A registry that refuses connections at once (there is no registry here at all). It is a
    // loopback address, which staging refuses (C08) unless the admin allow-lists it.
    await s.settings.updateSettings({ registry_allowlist: [BAD_REGISTRY] });
    const dep = await s.deployments.createDeployment(web.id, { image: `${BAD_REGISTRY}/deploykit-test/does-not-exist:404` });
    rec.triggerService(web.id);
    const failed = await until("bad image failed", async () => {
      const d = await deployment(dep.id);
      return d.status === "failed" && d;
    });
    expect(failed.attempt_count).toBe(3);
    expect(failed.failure_reason).toMatch(/^image pull failed/);
    expect(await httpGet(network, "web")).toBe("v2");
    expect((await s.services.findServiceByID(web.id)).status).toBe("running");
  });

  it("fails a crash-looping deployment with reason, exit code and log tail while the previous one keeps serving", async () => {
    const dep = await s.deployments.createDeployment(web.id, { image: WEB_IMAGE, env_vars: { VERSION: "v3", CRASH: "yes" } });
    rec.triggerService(web.id);
    const failed = await until("crash loop failed", async () => {
      const d = await deployment(dep.id);
      return d.status === "failed" && d;
    });
    expect(failed.failure_reason).toMatch(/^container (exited with code 7|is restarting \(restart count \d+\))$/);
    if (failed.failure_reason?.startsWith("container exited")) expect(failed.exit_code).toBe(7);
    expect(failed.log_tail).toContain("fatal: crash requested (yes)");
    expect(failed.log_tail).toContain("starting v3");
    await until("crashing container removed", async () => (await managed(deploykit.LABEL_DEPLOYMENT_ID, dep.id)).length === 0);
    expect(await httpGet(network, "web")).toBe("v2");
    expect((await s.services.findServiceByID(web.id)).status).toBe("running");
  });

  it("health check: a path answering 200 promotes; one answering 404 fails the deployment with the status and the old one keeps serving", async () => {
    // The daemon probes http://<container ip>:8080<path> itself, across the project network.
    const svc = await s.services.createService(project.id, { name: "checked", image: WEB_IMAGE });
    const ports = [{ container_port: 8080 }];
    const good = await s.deployments.createDeployment(svc.id, {
      image: WEB_IMAGE,
      env_vars: { VERSION: "c1" },
      ports,
      healthcheck_path: "/",
      healthcheck_timeout_seconds: 30,
    });
    rec.triggerService(svc.id);
    await until("health-checked c1 healthy", async () => (await deployment(good.id)).status === "healthy");
    expect(await httpGet(network, "checked")).toBe("c1");

    // Runs fine (it would pass the 1 s stable window), but its health check path is missing.
    const bad = await s.deployments.createDeployment(svc.id, {
      image: WEB_IMAGE,
      env_vars: { VERSION: "c2" },
      ports,
      healthcheck_path: "/missing",
      healthcheck_timeout_seconds: 3,
    });
    rec.triggerService(svc.id);
    const failed = await until("c2 failed its health check", async () => {
      const d = await deployment(bad.id);
      return d.status !== "starting" && d.status !== "pending" && d;
    });
    expect(failed.status).toBe("failed");
    expect(failed.failure_reason).toBe("health check failed: GET /missing on port 8080 answered 404 (no 2xx/3xx within 3 s)");
    await until("c2 container removed", async () => (await managed(deploykit.LABEL_DEPLOYMENT_ID, bad.id)).length === 0);
    expect(await httpGet(network, "checked")).toBe("c1");
    expect(await s.services.findServiceByID(svc.id)).toMatchObject({ status: "running", active_deployment_id: good.id });
  });

  it("repairs a managed container removed with docker rm -f in one pass", async () => {
    const [c] = await managed(deploykit.LABEL_SERVICE_ID, web.id);
    await raw.getContainer(c!.Id).remove({ force: true });
    await rec.reconcileOnce();
    const now = await managed(deploykit.LABEL_SERVICE_ID, web.id);
    expect(now).toHaveLength(1);
    expect(now[0]!.Id).not.toBe(c!.Id);
    expect(now[0]!.Labels[deploykit.LABEL_DEPLOYMENT_ID]).toBe(c!.Labels[deploykit.LABEL_DEPLOYMENT_ID]);
    const rows = await s.containers.findContainers({ service_id: web.id });
    expect(rows.items.map((r) => r.docker_container_id)).toEqual([now[0]!.Id]);
    await until("replacement serves", async () => (await httpGet(network, "web")) === "v2");
  });

  /** `docker run` by hand with a copy of `of`'s labels (so its deployment id), network and alias, env changed by `env`. */
  async function byHand(of: string, alias: string, env: (e: string[]) => string[]): Promise<string> {
    const info = await raw.getContainer(of).inspect();
    const c = await raw.createContainer({
      name: `dk-${run}-byhand-${randomID("")}`,
      Image: info.Config.Image,
      Env: env(info.Config.Env ?? []),
      Labels: { ...info.Config.Labels, ...runLabels },
      HostConfig: { NetworkMode: network },
      NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [alias] } } },
    });
    await c.start();
    return c.id;
  }

  it("repairs, in one pass, a container recreated by hand with changed env and one disconnected from its network (D11)", async () => {
    const api = await s.services.createService(project.id, { name: "api", image: WEB_IMAGE });
    const apiDep = await s.deployments.createDeployment(api.id, { image: WEB_IMAGE, env_vars: { VERSION: "a1" } });
    rec.triggerService(api.id);
    await until("api healthy", async () => (await deployment(apiDep.id)).status === "healthy");
    const [w] = await managed(deploykit.LABEL_SERVICE_ID, web.id);
    const [a] = await managed(deploykit.LABEL_SERVICE_ID, api.id);
    // web: removed and recreated by hand with its labels and VERSION changed.
    const hand = await byHand(w!.Id, "web", (env) => env.map((e) => (e.startsWith("VERSION=") ? "VERSION=hacked" : e)));
    await raw.getContainer(w!.Id).remove({ force: true });
    // api: `docker network disconnect`.
    await raw.getNetwork(network).disconnect({ Container: a!.Id, Force: true });

    await rec.reconcileOnce();

    const webNow = await managed(deploykit.LABEL_SERVICE_ID, web.id);
    expect(webNow.map((c) => c.Id)).not.toContain(hand);
    expect(webNow).toHaveLength(1);
    expect((await raw.getContainer(webNow[0]!.Id).inspect()).Config.Env).toContain("VERSION=v2");
    expect((await s.containers.findContainers({ service_id: web.id })).items.map((r) => r.docker_container_id)).toEqual([webNow[0]!.Id]);
    const apiNow = await managed(deploykit.LABEL_SERVICE_ID, api.id);
    expect(apiNow).toHaveLength(1);
    expect(Object.keys(apiNow[0]!.NetworkSettings.Networks)).toEqual([network]);
    expect((await s.containers.findContainers({ service_id: api.id })).items.map((r) => r.docker_container_id)).toEqual([apiNow[0]!.Id]);
    await until("web serves v2", async () => (await httpGet(network, "web")) === "v2");
    await until("api serves a1", async () => (await httpGet(network, "api")) === "a1");
    expect([(await deployment(apiDep.id)).status, (await s.services.findServiceByID(web.id)).status]).toEqual(["healthy", "running"]);
  });

  it("does not adopt a container made by hand with a copy of its labels, nor one whose deployment id is unknown (C04)", async () => {
    const [w] = await managed(deploykit.LABEL_SERVICE_ID, web.id);
    const rowsBefore = (await s.containers.findContainers({ service_id: web.id })).items.map((r) => r.docker_container_id);
    expect(rowsBefore).toEqual([w!.Id]);
    // Same deployment id and replica as the real one, one variable added; Docker lists it first (newest).
    const copy = await byHand(w!.Id, "web", (env) => [...env, "EXTRA=1"]);
    const unknown = await raw.createContainer({
      name: `dk-${run}-unknown-dep`,
      Image: WEB_IMAGE,
      Labels: { ...w!.Labels, ...runLabels, [deploykit.LABEL_DEPLOYMENT_ID]: "no-such-deployment" },
      HostConfig: { NetworkMode: network },
    });
    await unknown.start();
    await rec.reconcileOnce();
    const rows = (await s.containers.findContainers({ service_id: web.id })).items.map((r) => r.docker_container_id);
    expect(rows).toEqual([w!.Id]);
    await expect(raw.getContainer(w!.Id).inspect()).resolves.toMatchObject({ State: { Running: true } });
    expect((await managed(deploykit.LABEL_SERVICE_ID, web.id)).map((c) => c.Id)).not.toContain(copy);
    expect(rows).not.toContain(unknown.id);
    expect(await httpGet(network, "web")).toBe("v2");
  });

  it("overrides ownership labels an image carries: a service deployed from it is its own, not the one it names (C04)", async () => {
    const [w] = await managed(deploykit.LABEL_SERVICE_ID, web.id);
    const labels = [
      deploykit.LABEL_INSTANCE,
      deploykit.LABEL_PROJECT_ID,
      deploykit.LABEL_SERVICE_ID,
      deploykit.LABEL_DEPLOYMENT_ID,
      deploykit.LABEL_REPLICA_INDEX,
    ]
      .map((k) => `${k}=${JSON.stringify(w!.Labels[k])}`)
      .join(" ");
    await buildImage(raw, FORGED_IMAGE, `FROM ${WEB_IMAGE}\nLABEL ${labels}\n`);
    const evil = await s.services.createService(project.id, { name: "evil", image: FORGED_IMAGE });
    const dep = await s.deployments.createDeployment(evil.id, { image: FORGED_IMAGE, env_vars: { VERSION: "evil" } });
    rec.triggerService(evil.id);
    await until("evil healthy", async () => (await deployment(dep.id)).status === "healthy");
    const [e] = await managed(deploykit.LABEL_SERVICE_ID, evil.id);
    expect(e!.Labels).toMatchObject({ [deploykit.LABEL_SERVICE_ID]: evil.id, [deploykit.LABEL_DEPLOYMENT_ID]: dep.id });
    await rec.reconcileOnce();
    expect((await managed(deploykit.LABEL_SERVICE_ID, web.id)).map((c) => c.Id)).toEqual([w!.Id]);
    expect((await s.containers.findContainers({ service_id: web.id })).items.map((r) => r.docker_container_id)).toEqual([w!.Id]);
    expect(await httpGet(network, "web")).toBe("v2");
  });

  it("never touches foreign objects, even ones with a forged managed-by label of another instance", async () => {
    const forged = { ...runLabels, ...deploykit.instanceLabels("another-instance"), [deploykit.LABEL_SERVICE_ID]: "no-such-service" };
    const net = await raw.createNetwork({ Name: `dk-${run}-foreign`, Labels: forged });
    const plainNet = await raw.createNetwork({ Name: `dk-${run}-plain`, Labels: runLabels });
    await raw.createVolume({ Name: `dk-${run}-foreign`, Labels: forged });
    await raw.createVolume({ Name: `dk-${run}-plain`, Labels: runLabels });
    const mk = (name: string, labels: Record<string, string>) =>
      raw.createContainer({ name, Image: BASE_IMAGE, Cmd: ["sleep", "300"], Labels: labels, HostConfig: { NetworkMode: "none" } });
    const forgedC = await mk(`dk-${run}-forged`, forged);
    const plainC = await mk(`dk-${run}-plain`, runLabels);
    await rec.reconcileOnce();
    await rec.reconcileOnce();
    for (const c of [forgedC, plainC]) await expect(c.inspect()).resolves.toBeTruthy();
    for (const n of [net, plainNet]) await expect(n.inspect()).resolves.toBeTruthy();
    for (const v of [`dk-${run}-foreign`, `dk-${run}-plain`]) await expect(raw.getVolume(v).inspect()).resolves.toBeTruthy();
  });

  it("keeps a volume's data across a redeploy", async () => {
    const db = await s.services.createService(project.id, { name: "db", image: WEB_IMAGE });
    const volumes = [{ name: "data", mount_path: "/data" }];
    const d1 = await s.deployments.createDeployment(db.id, { image: WEB_IMAGE, volumes, env_vars: { VERSION: "d1", DATA_DIR: "/data" } });
    rec.triggerService(db.id);
    await until("d1 healthy", async () => (await deployment(d1.id)).status === "healthy");
    const name = deploykit.volumeName(project.slug, db.id, "data");
    const info = await raw.getVolume(name).inspect();
    expect(info.Labels).toMatchObject({
      [deploykit.LABEL_INSTANCE]: instanceID,
      [deploykit.LABEL_SERVICE_ID]: db.id,
      [deploykit.LABEL_VOLUME_NAME]: "data",
    });
    expect(await httpGet(network, "db", "/born")).toBe("d1");

    const d2 = await s.deployments.createDeployment(db.id, { image: WEB_IMAGE, volumes, env_vars: { VERSION: "d2", DATA_DIR: "/data" } });
    rec.triggerService(db.id);
    await until("d2 healthy", async () => (await deployment(d2.id)).status === "healthy");
    await until("d1 container gone", async () => (await managed(deploykit.LABEL_DEPLOYMENT_ID, d1.id)).length === 0);
    expect(await httpGet(network, "db")).toBe("d2");
    expect(await httpGet(network, "db", "/born")).toBe("d1");
  });

  it("removes a deleted project's containers, volumes and network", async () => {
    const p2 = await s.projects.createProject({ name: "Doomed" });
    const svc = await s.services.createService(p2.id, { name: "cache", image: WEB_IMAGE });
    const dep = await s.deployments.createDeployment(svc.id, {
      image: WEB_IMAGE,
      replicas: 1,
      volumes: [{ name: "data", mount_path: "/data" }],
      env_vars: { VERSION: "c1", DATA_DIR: "/data" },
    });
    rec.trigger();
    await until("cache healthy", async () => (await deployment(dep.id)).status === "healthy");
    const net2 = deploykit.projectNetworkName(p2.slug);
    expect((await raw.listNetworks({ filters: { name: [net2] } })).length).toBe(1);

    await s.projects.deleteProject(p2.id);
    rec.trigger();
    const byProject = { label: [`${deploykit.LABEL_INSTANCE}=${instanceID}`, `${deploykit.LABEL_PROJECT_ID}=${p2.id}`] };
    await until("project objects removed", async () => {
      const cs = await raw.listContainers({ all: true, filters: byProject });
      const vs = (await raw.listVolumes({ filters: byProject })).Volumes ?? [];
      const ns = (await raw.listNetworks({ filters: { name: [net2] } })).filter((n) => n.Name === net2);
      return cs.length === 0 && vs.length === 0 && ns.length === 0;
    });
    // The other project is untouched.
    expect(await httpGet(network, "web")).toBe("v2");
  });

  it("waits out an unreachable Docker with backoff and converges when it is reachable again", async () => {
    const other = stores();
    const id2 = randomID("recon-down-");
    const real = new docker.Client({ instanceID: id2 });
    const bogus = new docker.Client({ instanceID: id2, socketPath: `/tmp/${run}-no-docker.sock` });
    let current = bogus;
    // The daemon "comes back" when the socket the client uses starts answering.
    const forward = <T extends object>(pick: () => T): T =>
      new Proxy({} as T, {
        get: (_, prop) => {
          const target = pick();
          const fn = Reflect.get(target, prop) as (...args: unknown[]) => unknown;
          return (...args: unknown[]) => fn.apply(target, args);
        },
      });
    const runtime = forward<deploykit.ContainerRuntime>(() => current.runtime);
    const provisioner = forward<deploykit.Provisioner>(() => current.provisioner);
    const warns: string[] = [];
    const logger: deploykit.Logger = {
      ...deploykit.nopLogger,
      warn: (o, m) => warns.push(typeof o === "string" ? o : (m ?? "")),
      child: () => logger,
    };
    const r2 = new reconciler.Reconciler({
      ...other,
      runtime,
      provisioner,
      bus,
      instanceID: id2,
      logger,
      stableWindowMs: 500,
      fastTickMs: 200,
      backoffBaseMs: 100,
      backoffMaxMs: 400,
    });
    reconcilers.push(r2);
    try {
      const p = await other.projects.createProject({ name: "Outage" });
      const svc = await other.services.createService(p.id, { name: "api", image: WEB_IMAGE });
      const dep = await other.deployments.createDeployment(svc.id, { image: WEB_IMAGE, env_vars: { VERSION: "o1" } });
      r2.start();
      await until("unreachable reported", async () => r2.status().docker_reachable === false);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(r2.status().last_error).toMatch(/unreachable/i);
      expect(warns.filter((w) => /unreachable/i.test(w))).toHaveLength(1);
      expect(await other.deployments.findDeploymentByID(dep.id)).toMatchObject({ status: "pending", attempt_count: 0 });

      current = real;
      await until("converged", async () => (await other.deployments.findDeploymentByID(dep.id)).status === "healthy");
      expect(r2.status().docker_reachable).toBe(true);
      expect(await httpGet(deploykit.projectNetworkName(p.slug), "api")).toBe("o1");
    } finally {
      await r2.stop();
      await removeLabelled(raw, deploykit.LABEL_INSTANCE, id2);
      other.db.close();
    }
  });
});
