/**
 * The smoke test: DeployKit itself works on this machine. The real daemon (a child process, on a temp
 * database, driving the host's dockerd) answers its health check, deploys one service from a local
 * image, serves it on its published port, and removes everything with its project. The longer paths
 * (redeploys, rollback, logs) are test/e2e-api/deploy.test.ts.
 */
import { execFileSync } from "node:child_process";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/http/index.ts";
import { ADMIN, Daemon, freePort } from "./harness/daemon.ts";
import { waitFor } from "./harness/wait.ts";

const docker = new Docker();
let d: Daemon;
let instanceID = "";

beforeAll(async () => {
  execFileSync("bash", ["scripts/test-images.sh"], { stdio: "inherit" });
  d = await Daemon.start({ reconcileInterval: "2s" });
});

afterAll(async () => {
  await d?.stop();
  if (instanceID) {
    const label = [`deploykit.instance=${instanceID}`];
    for (const x of await docker.listContainers({ all: true, filters: { label } })) await docker.getContainer(x.Id).remove({ force: true });
    for (const n of await docker.listNetworks({ filters: { label } })) await docker.getNetwork(n.Id).remove();
  }
  await d?.destroy();
});

describe("DeployKit smoke", () => {
  it("deploys a service that answers on its port, and deleting the project leaves nothing in Docker", async () => {
    const c = new Client(d.url);
    expect(await c.health()).toEqual({ status: "ok" });
    c.token = (await c.login(ADMIN.email, ADMIN.password)).access_token;
    instanceID = (await c.about()).deploykit.instance_id;
    const label = [`deploykit.instance=${instanceID}`];

    const project = await c.createProject("Smoke");
    const port = await freePort();
    await c.createService(project.id, {
      name: "web",
      image: "deploykit-test/greeter:1",
      ports: [{ container_port: 8080, host_port: port }],
      env_vars: [{ key: "GREETING", value: "smoke" }],
    });
    expect((await c.deploy(project.id)).applied_count).toBe(1);
    const greet = async () => {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
        return r.status === 200 ? (await r.text()).trim() : null;
      } catch {
        return null;
      }
    };
    await waitFor(async () => (await greet()) === "smoke", { timeoutMs: 90_000, intervalMs: 200, what: "the service answers" });
    expect(await docker.listContainers({ filters: { label } })).toHaveLength(1);

    await c.deleteProject(project.id);
    await waitFor(async () => (await docker.listContainers({ all: true, filters: { label } })).length === 0, {
      timeoutMs: 60_000,
      what: "containers removed",
    });
    await waitFor(async () => (await docker.listNetworks({ filters: { label } })).length === 0, {
      timeoutMs: 60_000,
      what: "network removed",
    });
  });
});
