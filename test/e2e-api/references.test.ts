/**
 * Issue 14 (references) through deploykitd against the real dockerd: one Deploy creates a provider
 * `db` and a consumer `web` whose DATABASE_URL is built from four references. The consumer's
 * container gets the resolved value (busybox prints its env), and it starts only once the provider's
 * deployment is serving.
 */
import { execFileSync } from "node:child_process";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../src/http/index.ts";
import type * as deploykit from "../../src/index.ts";
import { ADMIN, Daemon } from "../harness/daemon.ts";
import { waitFor } from "../harness/wait.ts";

const IMAGE = "deploykit-test/busybox:1";
const docker = new Docker();
let d: Daemon;
let c: Client;
let instanceID = "";

beforeAll(async () => {
  execFileSync("bash", ["scripts/test-images.sh"], { stdio: "inherit" });
  d = await Daemon.start({ reconcileInterval: "2s", args: ["-stable-window", "3s"] });
  c = new Client(d.url);
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

describe("references end to end", () => {
  it("resolves DATABASE_URL from the provider's variables into the consumer's container, provider first", async () => {
    c.token = (await c.login(ADMIN.email, ADMIN.password)).access_token;
    instanceID = (await c.about()).deploykit.instance_id;
    const project = await c.createProject("References");
    const password = `pw-${Math.random().toString(36).slice(2)}`;
    const db = await c.createService(project.id, {
      name: "db",
      image: IMAGE,
      start_command: ["sleep", "3600"],
      ports: [{ container_port: 5432 }],
      env_vars: [
        { key: "USER", value: "app" },
        { key: "PASSWORD", value: password },
      ],
    });
    const web = await c.createService(project.id, {
      name: "web",
      image: IMAGE,
      start_command: ["sh", "-c", "env; exec sleep 3600"],
      env_vars: [{ key: "DATABASE_URL", value: "postgres://${{db.USER}}:${{db.PASSWORD}}@${{db.HOST}}:${{db.PORT}}/app" }],
    });
    const applied = await c.deploy(project.id);
    const dbID = applied.temp_id_to_service_id[db.target_temp_id as string] as string;
    const webID = applied.temp_id_to_service_id[web.target_temp_id as string] as string;
    expect(applied.created_deployments.map((x) => x.service_id)).toEqual([dbID, webID]);
    const [dbDep, webDep] = applied.created_deployments as [deploykit.Deployment, deploykit.Deployment];
    expect(webDep.wait_for).toEqual([dbDep.id]);
    const want = `postgres://app:${password}@db:5432/app`;
    expect(webDep.env_vars.DATABASE_URL).toBe(want);

    const running = async (serviceID: string) => (await c.findContainers(project.id, serviceID, { status: "running" })).items;
    await waitFor(async () => (await running(webID)).length === 1, { timeoutMs: 240_000, intervalMs: 500, what: "web running" }).catch(
      async (err) => {
        const deps = [...(await c.findDeployments(project.id, dbID)).items, ...(await c.findDeployments(project.id, webID)).items].map(
          (x) => [x.service_id === dbID ? "db" : "web", x.status, x.failure_reason, x.attempt_count],
        );
        throw new Error(`${(err as Error).message}; deployments: ${JSON.stringify(deps)}`);
      },
    );
    const container = (await running(webID))[0] as deploykit.Container;
    const inspected = await docker.getContainer(container.docker_container_id).inspect();
    expect(inspected.Config.Env).toContain(`DATABASE_URL=${want}`);
    await waitFor(
      async () => (await docker.getContainer(container.docker_container_id).logs({ stdout: true, stderr: true })).toString().includes(want),
      { timeoutMs: 30_000, intervalMs: 250, what: "env printed" },
    );

    // Provider first: the consumer's containers were created after the provider's deployment was serving.
    const dbNow = await c.findDeploymentByID(project.id, dbID, dbDep.id);
    expect(dbNow.healthy_at).toBeDefined();
    expect(Date.parse(inspected.Created)).toBeGreaterThanOrEqual(Date.parse(dbNow.healthy_at as string));
  }, 360_000);
});
