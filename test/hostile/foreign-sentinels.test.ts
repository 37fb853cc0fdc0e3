/**
 * C03, never touch foreign objects: with the catalogue's sentinels present on the shared engine (a
 * running and a stopped container nobody labelled, a stopped one labelled by another DeployKit
 * instance so it looks exactly like an orphan, networks, volumes and an image the platform never
 * pulled), drive every destructive path DeployKit has: Deploy with a volume, a redeploy that replaces
 * the container, delete a service, delete a project, a daemon restart (the resync sweep). Then the
 * sentinels' ids, State.Status and StartedAt are unchanged, the image is still there, and
 * `docker events` shows nothing on any sentinel.
 */
import { execFileSync } from "node:child_process";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../src/http/index.ts";
import { ADMIN, Daemon } from "../harness/daemon.ts";
import { waitFor } from "../harness/wait.ts";

const IMAGE = "deploykit-test/greeter:1";
const BUSYBOX = "deploykit-test/busybox:1";
const tag = `c03-${process.pid}-${Date.now().toString(36)}`;
const FOREIGN_IMAGE = `dk-foreign/${tag}:never-pulled`;
const OTHER_INSTANCE = "0123456789abcdef-foreign-instance";
const docker = new Docker();
let d: Daemon;
let c: Client;
let instanceID = "";
const sentinels = { containers: [] as string[], networks: [] as string[], volumes: [] as string[] };

interface Seen {
  status: string;
  startedAt: string;
}

async function containerState(id: string): Promise<Seen> {
  const info = await docker.getContainer(id).inspect();
  return { status: info.State.Status, startedAt: info.State.StartedAt };
}

beforeAll(async () => {
  execFileSync("bash", ["scripts/test-images.sh"], { stdio: "inherit" });
  execFileSync("docker", ["build", "-q", "-t", FOREIGN_IMAGE, "-"], { input: `FROM ${BUSYBOX}\nLABEL sentinel=${tag}\n` });

  const running = await docker.createContainer({
    Image: BUSYBOX,
    Cmd: ["sleep", "3600"],
    name: `${tag}-running`,
    Labels: { sentinel: tag },
  });
  await running.start();
  const stopped = await docker.createContainer({ Image: BUSYBOX, Cmd: ["true"], name: `${tag}-stopped`, Labels: { sentinel: tag } });
  await stopped.start();
  await stopped.wait();
  // Another instance's service container, stopped: to this daemon it looks exactly like an orphan.
  const orphanLike = await docker.createContainer({
    Image: IMAGE,
    name: `${tag}-other-instance`,
    Labels: {
      sentinel: tag,
      "deploykit.managed-by": "deploykit",
      "deploykit.instance": OTHER_INSTANCE,
      "deploykit.service-id": "00000000-0000-0000-0000-000000000000",
    },
  });
  sentinels.containers.push(running.id, stopped.id, orphanLike.id);
  const labelSets: Record<string, string>[] = [
    { sentinel: tag },
    { sentinel: tag, "deploykit.managed-by": "deploykit", "deploykit.instance": OTHER_INSTANCE },
  ];
  for (const [k, labels] of labelSets.entries()) {
    const n = (await docker.createNetwork({ Name: `${tag}-net-${k}`, Labels: labels })) as unknown as Docker.Network;
    sentinels.networks.push(n.id);
    await docker.createVolume({ Name: `${tag}-vol-${k}`, Labels: labels });
    sentinels.volumes.push(`${tag}-vol-${k}`);
  }

  d = await Daemon.start({ reconcileInterval: "1s" });
  c = new Client(d.url);
  c.token = (await c.login(ADMIN.email, ADMIN.password)).access_token;
  instanceID = (await c.about()).deploykit.instance_id;
}, 180_000);

afterAll(async () => {
  await d?.stop();
  if (instanceID) {
    const label = [`deploykit.instance=${instanceID}`];
    for (const x of await docker.listContainers({ all: true, filters: { label } })) await docker.getContainer(x.Id).remove({ force: true });
    for (const n of await docker.listNetworks({ filters: { label } }))
      await docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => {});
  }
  for (const id of sentinels.containers)
    await docker
      .getContainer(id)
      .remove({ force: true, v: true })
      .catch(() => {});
  for (const id of sentinels.networks)
    await docker
      .getNetwork(id)
      .remove()
      .catch(() => {});
  for (const name of sentinels.volumes)
    await docker
      .getVolume(name)
      .remove()
      .catch(() => {});
  await docker
    .getImage(FOREIGN_IMAGE)
    .remove()
    .catch(() => {});
  await d?.destroy();
});

async function running(serviceID: string): Promise<string[]> {
  const list = await docker.listContainers({ filters: { label: [`deploykit.service-id=${serviceID}`], status: ["running"] } });
  return list.map((x) => x.Id);
}

describe("foreign objects (C03)", () => {
  it("every destructive path leaves the sentinels, their state and a never-pulled image alone", async () => {
    const before = new Map<string, Seen>();
    for (const id of sentinels.containers) before.set(id, await containerState(id));
    // Fractional seconds: the sentinels were created moments ago, and their own create events are not the test's.
    const since = (Date.now() / 1000).toFixed(3);

    // Deploy a service with a volume, then a redeploy that replaces its container.
    const project = await c.createProject(`Sentinels ${tag}`);
    const staged = await c.createService(project.id, {
      name: "web",
      image: IMAGE,
      ports: [{ container_port: 8080 }],
      volumes: [{ name: "data", mount_path: "/data" }],
    });
    const applied = await c.deploy(project.id);
    const serviceID = applied.temp_id_to_service_id[staged.target_temp_id as string] as string;
    const first = await waitFor(async () => (await running(serviceID))[0], { timeoutMs: 90_000, what: "the first container" });
    await c.createEnvVar(project.id, { scope: "service", serviceID }, "GREETING", "two");
    await c.deploy(project.id);
    await waitFor(async () => (await running(serviceID)).some((id) => id !== first), { timeoutMs: 90_000, what: "the replacement" });

    // A second service deleted on its own, then the whole project.
    const other = await c.createService(project.id, { name: "worker", image: IMAGE });
    const otherID = (await c.deploy(project.id)).temp_id_to_service_id[other.target_temp_id as string] as string;
    await waitFor(async () => (await running(otherID)).length === 1, { timeoutMs: 90_000, what: "the worker" });
    await c.deleteService(project.id, otherID);
    await c.deploy(project.id);
    await waitFor(async () => (await running(otherID)).length === 0, { timeoutMs: 60_000, what: "the worker removed" });
    await c.deleteService(project.id, serviceID);
    await c.deploy(project.id);
    await waitFor(async () => (await running(serviceID)).length === 0, { timeoutMs: 60_000, what: "web removed" });
    await c.deleteProject(project.id);
    const mine = [`deploykit.instance=${instanceID}`];
    await waitFor(async () => (await docker.listNetworks({ filters: { label: mine } })).length === 0, {
      timeoutMs: 60_000,
      what: "the project's network removed",
    });

    // A restart: the resync sweep runs over everything the engine has, a few passes at 1 s.
    await d.restart();
    await new Promise((r) => setTimeout(r, 5000));

    for (const [id, seen] of before) expect(await containerState(id), id).toEqual(seen);
    for (const id of sentinels.networks) expect((await docker.getNetwork(id).inspect()).Id).toBe(id);
    for (const name of sentinels.volumes) expect((await docker.getVolume(name).inspect()).Name).toBe(name);
    expect((await docker.getImage(FOREIGN_IMAGE).inspect()).RepoTags).toContain(FOREIGN_IMAGE);

    const until = (Date.now() / 1000 + 1).toFixed(3);
    const events = execFileSync("docker", ["events", "--since", String(since), "--until", String(until), "--format", "{{json .}}"], {
      encoding: "utf8",
    })
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { Type: string; Action: string; Actor: { ID: string; Attributes?: Record<string, string> } });
    // The engine did see this test's own work: the check would notice events if there were any.
    expect(events.some((e) => e.Type === "container" && e.Actor.Attributes?.["deploykit.instance"] === instanceID)).toBe(true);
    const imageID = (await docker.getImage(FOREIGN_IMAGE).inspect()).Id;
    const ids = new Set<string>([...sentinels.containers, ...sentinels.networks, ...sentinels.volumes, imageID, FOREIGN_IMAGE]);
    const touched = events.filter((e) => {
      const a = e.Actor.Attributes ?? {};
      // A network event names the container it connected or disconnected.
      return ids.has(e.Actor.ID) || ids.has(a.container ?? "") || a.sentinel === tag || a.name === FOREIGN_IMAGE || a.name?.startsWith(tag);
    });
    expect(touched.map((e) => `${e.Type} ${e.Action} ${e.Actor.ID}`)).toEqual([]);
  });
});
