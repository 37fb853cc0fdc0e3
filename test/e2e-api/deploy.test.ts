/**
 * End to end through deploykitd (src/cmd/deploykitd/main.ts as a child process) against the real
 * dockerd: register, log in, create a project and a service with a public port and an env var,
 * Deploy, curl it, read its logs over SSE, change the env var and Deploy with no failed request
 * during the switch, roll back, delete the project and find nothing left in Docker.
 */
import { execFileSync } from "node:child_process";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, type LogEvent } from "../../src/http/index.ts";
import type * as deploykit from "../../src/index.ts";
import { ADMIN, Daemon, freePort } from "../harness/daemon.ts";
import { waitFor } from "../harness/wait.ts";

const IMAGE = "deploykit-test/greeter:1";
const docker = new Docker();
let d: Daemon;
let c: Client;
let instanceID = "";
let hostPort = 0;

beforeAll(async () => {
  execFileSync("bash", ["scripts/test-images.sh"], { stdio: "inherit" });
  d = await Daemon.start({ reconcileInterval: "2s" });
  c = new Client(d.url);
});

afterAll(async () => {
  await d?.stop();
  // Whatever the test left behind (it should be nothing), only objects of this instance.
  if (!instanceID) return;
  const label = [`deploykit.instance=${instanceID}`];
  for (const x of await docker.listContainers({ all: true, filters: { label } })) await docker.getContainer(x.Id).remove({ force: true });
  for (const n of await docker.listNetworks({ filters: { label } })) await docker.getNetwork(n.Id).remove();
  for (const v of (await docker.listVolumes({ filters: { label } })).Volumes ?? []) await docker.getVolume(v.Name).remove();
  await d?.destroy();
});

/** GET / on the published port: the body, or null for any failure. */
async function greet(): Promise<string | null> {
  try {
    const r = await fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(2000) });
    return r.status === 200 ? (await r.text()).trim() : null;
  } catch {
    return null;
  }
}

/** Polls the service every 50 ms until `want` is served, counting every failed request on the way. */
async function switchTo(want: string, act: () => Promise<unknown>): Promise<{ failures: number; requests: number }> {
  let failures = 0;
  let requests = 0;
  let seen = false;
  let stop = false;
  const poller = (async () => {
    while (!stop) {
      const body = await greet();
      requests++;
      if (body === null) failures++;
      else if (body === want) seen = true;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    await act();
    await waitFor(() => seen, { timeoutMs: 90_000, intervalMs: 100, what: `"${want}" served` });
  } finally {
    stop = true;
    await poller;
  }
  return { failures, requests };
}

async function running(projectID: string, serviceID: string): Promise<deploykit.Container[]> {
  return (await c.findContainers(projectID, serviceID, { status: "running" })).items;
}

describe("deploykitd end to end", () => {
  it("deploys, streams logs, redeploys without a failed request, rolls back and cleans up", async () => {
    // Log in like a user would (the harness registered the admin).
    const tokens = await c.login(ADMIN.email, ADMIN.password);
    c.token = tokens.access_token;
    const me = await c.me();
    expect(me.role).toBe("admin");
    instanceID = (await c.about()).deploykit.instance_id;

    const project = await c.createProject("End to end");
    hostPort = await freePort();
    const staged = await c.createService(project.id, {
      name: "web",
      image: IMAGE,
      ports: [{ container_port: 8080, host_port: hostPort }],
      env_vars: [{ key: "GREETING", value: "hello-v1" }],
    });
    const applied = await c.deploy(project.id);
    const serviceID = applied.temp_id_to_service_id[staged.target_temp_id as string] as string;
    expect(serviceID).toBeDefined();

    await waitFor(async () => (await greet()) === "hello-v1", { timeoutMs: 90_000, intervalMs: 200, what: "hello-v1 served" });
    await waitFor(async () => (await c.findServiceByID(project.id, serviceID)).status === "running", {
      timeoutMs: 60_000,
      what: "service running",
    });

    // Logs over SSE: the request we just made shows up.
    await greet();
    const lines: string[] = [];
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 20_000);
    await c
      .streamLogs(
        project.id,
        serviceID,
        (e: LogEvent) => {
          if ("line" in e) lines.push(e.line);
          return !lines.some((l) => l.includes("url:/"));
        },
        { tail: 100, signal: ac.signal },
      )
      .catch((err) => {
        if (!ac.signal.aborted) throw err;
      });
    clearTimeout(timer);
    expect(lines.some((l) => l.includes("greeter: serving on 8080"))).toBe(true);
    expect(lines.some((l) => l.includes("url:/"))).toBe(true);

    // Change the env var and Deploy: the new value is served, no request fails during the switch.
    const vars = await c.findEnvVars(project.id, { scope: "service", serviceID });
    const greeting = vars.find((v) => v.key === "GREETING") as deploykit.MaskedEnvVar;
    await c.updateEnvVar(project.id, { scope: "service", serviceID }, greeting.id, "hello-v2");
    const first = (await c.findDeployments(project.id, serviceID)).items[0] as deploykit.Deployment;
    const v2 = await switchTo("hello-v2", () => c.deploy(project.id)).catch(async (err) => {
      const deps = (await c.findDeployments(project.id, serviceID)).items.map((x) => [x.status, x.failure_reason, x.attempt_count]);
      throw new Error(`${(err as Error).message}; deployments: ${JSON.stringify(deps)}`);
    });
    expect(v2.requests).toBeGreaterThan(5);
    expect(v2.failures).toBe(0);
    await waitFor(async () => (await running(project.id, serviceID)).length === 1, { timeoutMs: 60_000, what: "old container removed" });

    // Roll back to the first deployment: hello-v1 again, still without a failed request.
    const back = await switchTo("hello-v1", () => c.rollback(project.id, serviceID, first.id));
    expect(back.failures).toBe(0);

    // Delete the project: the reconciler removes every Docker object of this instance.
    await c.deleteProject(project.id);
    const label = [`deploykit.instance=${instanceID}`];
    await waitFor(
      async () => {
        const containers = await docker.listContainers({ all: true, filters: { label } });
        const networks = await docker.listNetworks({ filters: { label } });
        const volumes = (await docker.listVolumes({ filters: { label } })).Volumes ?? [];
        return containers.length + networks.length + volumes.length === 0;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: "no Docker objects left" },
    );
    expect(await greet()).toBeNull();
  }, 300_000);
});
