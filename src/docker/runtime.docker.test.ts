import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { Client } from "./client.ts";
import { randomID, rawDocker, removeLabelled, TEST_IMAGE, TEST_RUN_LABEL, waitFor } from "./testutil.ts";

const instanceID = randomID("inst-");
const otherInstanceID = randomID("other-");
const run = randomID("run");
const docker = rawDocker();
const client = new Client({ instanceID });
const rt = client.runtime;

/** Labels that make an object this test's (cleanup) but not necessarily DeployKit's. */
const runLabels = { [TEST_RUN_LABEL]: run };

function spec(over: Partial<deploykit.ContainerSpec> = {}): deploykit.ContainerSpec {
  return {
    name: randomID(`dk-${run}-`),
    image: TEST_IMAGE,
    network: `dk-${run}`,
    aliases: [],
    env: {},
    ports: [],
    volumes: [],
    labels: { ...runLabels, [deploykit.LABEL_PROJECT_ID]: "p1", [deploykit.LABEL_SERVICE_ID]: "s1" },
    // PID 1 ignores SIGTERM unless it traps it: without the trap every removal waits the 10 s grace.
    cmd: ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"],
    ...over,
  };
}

/** Runs a throwaway plain container (not DeployKit's: no restart policy) on `network`; returns its output. */
async function execOnce(network: string, cmd: string[]): Promise<{ code: number; out: string }> {
  const c = await docker.createContainer({ Image: TEST_IMAGE, Cmd: cmd, Labels: runLabels, HostConfig: { NetworkMode: network } });
  try {
    await c.start();
    const res = (await c.wait()) as { StatusCode: number };
    const out = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    return { code: res.StatusCode, out: out.subarray(8).toString("utf8").trim() };
  } finally {
    await c.remove({ force: true });
  }
}

async function expectCode(p: Promise<unknown>, code: string): Promise<deploykit.DeployKitError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(deploykit.isDeployKitError(err), `expected a DeployKitError, got ${String(err)}`).toBe(true);
  expect((err as deploykit.DeployKitError).code).toBe(code);
  return err as deploykit.DeployKitError;
}

let net: deploykit.Network;

beforeAll(async () => {
  await docker.getImage(TEST_IMAGE).inspect(); // run scripts/test-images.sh when this fails
  net = await client.provisioner.ensureNetwork(`dk-${run}`, runLabels);
});

afterAll(async () => {
  await removeLabelled(docker, deploykit.LABEL_INSTANCE, instanceID);
  await removeLabelled(docker, TEST_RUN_LABEL, run);
});

describe("Provisioner", () => {
  it("creates a labelled bridge network once and lists it", async () => {
    expect(net.labels).toMatchObject({ ...deploykit.instanceLabels(instanceID), ...runLabels });
    const again = await client.provisioner.ensureNetwork(`dk-${run}`, runLabels);
    expect(again.id).toBe(net.id);
    const info = await docker.getNetwork(net.id).inspect();
    expect(info.Driver).toBe("bridge");
    const list = await client.provisioner.listNetworks();
    expect(list.map((n) => n.name)).toEqual([`dk-${run}`]);
  });

  it("removes its own network; a missing one is success", async () => {
    const name = `dk-${run}-gone`;
    await client.provisioner.ensureNetwork(name, runLabels);
    await client.provisioner.removeNetwork(name);
    await client.provisioner.removeNetwork(name);
    expect((await client.provisioner.listNetworks()).map((n) => n.name)).not.toContain(name);
  });

  it("refuses bad names", async () => {
    await expectCode(client.provisioner.ensureNetwork("bad name; rm -rf /", {}), deploykit.EINVALID);
  });

  const named = async (name: string) => (await docker.listNetworks({ filters: { name: [name] } })).filter((n) => n.Name === name);

  it("20 concurrent ensures of one name, from two clients, make one network (Docker alone made 10 of 10)", async () => {
    const name = `dk-${run}-race`;
    const second = new Client({ instanceID });
    const nets = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? second : client).provisioner.ensureNetwork(name, runLabels)),
    );
    expect(new Set(nets.map((n) => n.id)).size).toBe(1);
    expect(await named(name)).toHaveLength(1);
  });

  it("repairs a name two of its networks share (left by racing creates): keeps the one in use, removes the other", async () => {
    const name = `dk-${run}-dup`;
    const labels = { ...runLabels, ...deploykit.instanceLabels(instanceID) };
    // A container joins the first network while its name is still unique (Docker refuses to start
    // one on an ambiguous name, even by id); the second network then takes the same name.
    const used = await docker.createNetwork({ Name: name, Driver: "bridge", CheckDuplicate: false, Labels: labels });
    const c = await docker.createContainer({
      Image: TEST_IMAGE,
      Cmd: ["sleep", "300"],
      Labels: runLabels,
      HostConfig: { NetworkMode: used.id },
    });
    try {
      await c.start();
      const extra = await docker.createNetwork({ Name: name, Driver: "bridge", CheckDuplicate: false, Labels: labels });
      expect(await named(name)).toHaveLength(2);
      const kept = await client.provisioner.ensureNetwork(name, runLabels);
      expect(kept.id).toBe(used.id);
      expect((await named(name)).map((n) => n.Id)).toEqual([used.id]);
      await expect(docker.getNetwork(extra.id).inspect()).rejects.toThrow();
    } finally {
      await c.remove({ force: true });
    }
  });

  it("refuses to repair a shared name when one of the networks is not this instance's", async () => {
    const name = `dk-${run}-dup-foreign`;
    await docker.createNetwork({
      Name: name,
      Driver: "bridge",
      CheckDuplicate: false,
      Labels: { ...runLabels, ...deploykit.instanceLabels(instanceID) },
    });
    await docker.createNetwork({ Name: name, Driver: "bridge", CheckDuplicate: false, Labels: runLabels });
    await expectCode(client.provisioner.ensureNetwork(name, runLabels), deploykit.ECONFLICT);
    expect(await named(name)).toHaveLength(2);
  });
});

describe("foreign objects", () => {
  const foreignLabelSets: [string, Record<string, string>][] = [
    ["unlabelled", runLabels],
    ["another instance", { ...runLabels, ...deploykit.instanceLabels(otherInstanceID) }],
  ];

  it.each(foreignLabelSets)("never lists or removes a %s network, volume or container", async (_what, labels) => {
    const name = randomID(`foreign-${run}-`);
    await docker.createNetwork({ Name: name, Driver: "bridge", Labels: labels });
    await docker.createVolume({ Name: name, Labels: labels });
    const c = await docker.createContainer({ name, Image: TEST_IMAGE, Cmd: ["sleep", "300"], Labels: labels });

    expect((await client.provisioner.listNetworks()).map((n) => n.name)).not.toContain(name);
    expect((await rt.listVolumes()).map((v) => v.name)).not.toContain(name);
    expect((await rt.listContainers()).map((x) => x.docker_id)).not.toContain(c.id);

    await expectCode(client.provisioner.removeNetwork(name), deploykit.EFORBIDDEN);
    await expectCode(rt.removeVolume(name), deploykit.EFORBIDDEN);
    await expectCode(rt.removeContainer(c.id), deploykit.EFORBIDDEN);
    // Ensuring an object whose name a foreign one holds is a conflict, not an adoption.
    await expectCode(client.provisioner.ensureNetwork(name, {}), deploykit.ECONFLICT);
    await expectCode(rt.ensureVolume(name, {}), deploykit.ECONFLICT);

    await docker.getNetwork(name).inspect();
    await docker.getVolume(name).inspect();
    await c.inspect();
  });
});

describe("ContainerRuntime.runContainer", () => {
  it("serves on the project network under its alias", async () => {
    const id = await rt.runContainer(
      spec({
        aliases: ["web"],
        cmd: ["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html; trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"],
      }),
    );
    const res = await waitFor(
      async () => {
        const r = await execOnce(net.name, ["wget", "-qO-", "http://web:8080/"]);
        return r.code === 0 ? r : undefined;
      },
      20_000,
      "httpd reachable via alias",
    );
    expect(res.out).toBe("hello-from-web");
    await rt.removeContainer(id);
  });

  it("setNetworkAliases: a container made without the name gets it later (disconnect + connect), keeps serving, and only ours", async () => {
    const id = await rt.runContainer(
      spec({
        cmd: ["sh", "-c", "mkdir -p /www && echo named-later > /www/index.html; trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"],
      }),
    );
    const before = await rt.inspectContainer(id);
    expect(before.aliases?.[net.name] ?? []).not.toContain("later");
    await rt.setNetworkAliases(id, net.name, ["later"]);
    const after = await rt.inspectContainer(id);
    expect(after.aliases?.[net.name]).toContain("later");
    expect(after.state).toBe("running");
    expect(after.ip_addresses?.[net.name]).toBeTruthy();
    const res = await waitFor(
      async () => {
        const r = await execOnce(net.name, ["wget", "-qO-", "http://later:8080/"]);
        return r.code === 0 ? r : undefined;
      },
      20_000,
      "httpd reachable via the alias given after create",
    );
    expect(res.out).toBe("named-later");
    await rt.removeContainer(id, 0);
    await expectCode(rt.setNetworkAliases(id, net.name, ["later"]), deploykit.ENOTFOUND);
    const foreign = await docker.createContainer({
      Image: TEST_IMAGE,
      Cmd: ["true"],
      Labels: runLabels,
      HostConfig: { NetworkMode: net.name },
    });
    await expectCode(rt.setNetworkAliases(foreign.id, net.name, ["x"]), deploykit.EFORBIDDEN);
    await foreign.remove({ force: true });
  });

  it("applies env, labels, limits, log rotation and the unprivileged host config", async () => {
    const s = spec({
      env: { GREETING: "hello world", EMPTY: "" },
      ports: [{ container_port: 8080 }, { container_port: 53, protocol: "udp" }],
      resources: { memory_mb: 64, cpus: 0.5, cpu_shares: 512 },
      labels: { ...runLabels, [deploykit.LABEL_INSTANCE]: "forged", custom: "x" },
    });
    const id = await rt.runContainer(s);
    const info = await docker.getContainer(id).inspect();
    expect(info.State.Running).toBe(true);
    expect(info.Name).toBe(`/${s.name}`);
    expect(info.Config.Env).toEqual(expect.arrayContaining(["GREETING=hello world", "EMPTY="]));
    expect(info.Config.Labels).toMatchObject({ custom: "x", ...deploykit.instanceLabels(instanceID) });
    expect(info.Config.Cmd).toEqual(s.cmd);
    expect(Object.keys(info.Config.ExposedPorts ?? {}).sort()).toEqual(["53/udp", "8080/tcp"]);
    const hc = info.HostConfig;
    expect(hc.PortBindings ?? {}).toEqual({});
    expect(hc.Privileged).toBe(false);
    expect(hc.Binds ?? []).toEqual([]);
    expect(hc.CapAdd ?? []).toEqual([]);
    expect(hc.SecurityOpt).toEqual(["no-new-privileges"]);
    expect(hc.NetworkMode).toBe(net.name);
    expect(hc.PidMode).toBe("");
    expect(hc.IpcMode).not.toBe("host");
    expect(hc.RestartPolicy?.Name).toBe("unless-stopped");
    expect(hc.Memory).toBe(64 * 1024 * 1024);
    expect(hc.NanoCpus).toBe(500_000_000);
    expect(hc.CpuShares).toBe(512);
    expect(hc.LogConfig).toEqual({ Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } });
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([net.name]);
    await rt.removeContainer(id);
  });

  it("binds a host port only when asked", async () => {
    const id = await rt.runContainer(
      spec({
        ports: [
          { container_port: 8080, host_port: 0 },
          { container_port: 8081, host_port: 18_000 + Math.floor(Math.random() * 2000) },
        ],
      }),
    );
    const info = await docker.getContainer(id).inspect();
    const bindings = info.HostConfig.PortBindings as Record<string, { HostPort: string }[]>;
    expect(Object.keys(bindings)).toEqual(["8081/tcp"]);
    expect(Number(bindings["8081/tcp"]![0]!.HostPort)).toBeGreaterThanOrEqual(18_000);
    await rt.removeContainer(id);
  });

  it("a host port already taken is a conflict, and the failed container is removed", async () => {
    const port = 20_000 + Math.floor(Math.random() * 5000);
    const first = await rt.runContainer(spec({ ports: [{ container_port: 8080, host_port: port }] }));
    const second = spec({ ports: [{ container_port: 8080, host_port: port }] });
    const err = await expectCode(rt.runContainer(second), deploykit.ECONFLICT);
    expect(err.message).toMatch(/^container start failed: .*(port is already allocated|address already in use)/);
    await expect(docker.getContainer(second.name).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await rt.removeContainer(first);
  });

  it("removes the container again when start fails, and says why", async () => {
    const s = spec({ cmd: ["/no/such/binary"] });
    const err = await rt.runContainer(s).then(
      () => undefined,
      (e: unknown) => e as deploykit.DeployKitError,
    );
    // Docker answers 400 or 500 depending on its version: the message and the cleanup are the contract.
    expect(deploykit.isDeployKitError(err)).toBe(true);
    expect(err!.message).toMatch(/^container start failed: .*no such file/i);
    await expect(docker.getContainer(s.name).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("never hands one service's volume to another service, whatever the names say", async () => {
    const vol = `dk-${run}-shared-name`;
    await rt.ensureVolume(vol, { ...runLabels, [deploykit.LABEL_SERVICE_ID]: "service-a" });
    await rt.ensureVolume(vol, { ...runLabels, [deploykit.LABEL_SERVICE_ID]: "service-a" });
    await expectCode(rt.ensureVolume(vol, { ...runLabels, [deploykit.LABEL_SERVICE_ID]: "service-b" }), deploykit.ECONFLICT);
    expect((await docker.getVolume(vol).inspect()).Labels).toMatchObject({ [deploykit.LABEL_SERVICE_ID]: "service-a" });
  });

  it("keeps volume data when the container is replaced", async () => {
    const vol = `dk-${run}-data`;
    await rt.ensureVolume(vol, runLabels);
    const volumes = [{ volume: vol, mount_path: "/data" }];
    const writer = await rt.runContainer(
      spec({ volumes, cmd: ["sh", "-c", "echo persisted > /data/file && echo written; trap 'exit 0' TERM; sleep 300 & wait"] }),
    );
    await waitFor(async () => (await rt.logTail(writer, 5)) === "written", 10_000, "writer");
    await rt.removeContainer(writer);
    const reader = await rt.runContainer(spec({ volumes, cmd: ["sh", "-c", "cat /data/file; trap 'exit 0' TERM; sleep 300 & wait"] }));
    await waitFor(async () => (await rt.logTail(reader, 5)) === "persisted", 10_000, "reader output");
    const info = await docker.getContainer(reader).inspect();
    expect(info.Mounts.map((m) => ({ type: m.Type, name: m.Name, dest: m.Destination }))).toEqual([
      { type: "volume", name: vol, dest: "/data" },
    ]);
    await rt.removeContainer(reader);
    expect((await rt.listVolumes()).map((v) => v.name)).toContain(vol);
  });

  it("labels a volume it has to create for a mount", async () => {
    const vol = `dk-${run}-auto`;
    const id = await rt.runContainer(spec({ volumes: [{ volume: vol, mount_path: "/data" }] }));
    const v = await docker.getVolume(vol).inspect();
    expect(v.Labels).toMatchObject({ ...deploykit.instanceLabels(instanceID), [deploykit.LABEL_SERVICE_ID]: "s1" });
    await rt.removeContainer(id);
  });

  it("refuses specs that could reach the host", async () => {
    await expectCode(rt.runContainer(spec({ volumes: [{ volume: "/etc", mount_path: "/host" }] })), deploykit.EINVALID);
    await expectCode(rt.runContainer(spec({ volumes: [{ volume: "ok", mount_path: "relative" }] })), deploykit.EINVALID);
    await expectCode(rt.runContainer(spec({ network: "host" })), deploykit.EINVALID);
    await expectCode(rt.runContainer(spec({ network: "container:abc" })), deploykit.EINVALID);
    await expectCode(client.provisioner.ensureNetwork("bridge", {}), deploykit.EINVALID);
    await expectCode(client.provisioner.removeNetwork("host"), deploykit.EINVALID);
  });
});

describe("ContainerRuntime lifecycle", () => {
  it("lists, inspects and removes its containers; removal of a gone one is success", async () => {
    const s = spec({
      labels: {
        ...runLabels,
        [deploykit.LABEL_PROJECT_ID]: "proj",
        [deploykit.LABEL_SERVICE_ID]: "svc",
        [deploykit.LABEL_DEPLOYMENT_ID]: "dep",
        [deploykit.LABEL_REPLICA_INDEX]: "2",
      },
    });
    const id = await rt.runContainer(s);
    const listed = (await rt.listContainers()).find((c) => c.docker_id === id);
    expect(listed).toMatchObject({
      name: s.name,
      project_id: "proj",
      service_id: "svc",
      deployment_id: "dep",
      replica_index: 2,
      state: "running",
    });
    const running = await rt.inspectContainer(id);
    expect(running.state).toBe("running");
    expect(running.exit_code).toBeUndefined();
    expect(running.finished_at).toBeUndefined();
    expect(Date.parse(running.started_at!)).toBeGreaterThan(Date.now() - 60_000);

    await docker.getContainer(id).kill();
    const exited = await waitFor(async () => {
      const i = await rt.inspectContainer(id);
      return i.state === "exited" ? i : undefined;
    });
    expect(exited.exit_code).toBe(137);
    expect(exited.finished_at).toBeDefined();
    expect((await rt.listContainers()).find((c) => c.docker_id === id)?.state).toBe("exited");

    await rt.removeContainer(id);
    await rt.removeContainer(id);
    await expectCode(rt.inspectContainer(id), deploykit.ENOTFOUND);
    expect((await rt.listContainers()).map((c) => c.docker_id)).not.toContain(id);
  });

  it("runs the spec's entrypoint and command (argv, no shell on the host)", async () => {
    const id = await rt.runContainer(spec({ entrypoint: ["sh", "-c"], cmd: ["echo ep:$0; trap 'exit 0' TERM; sleep 300 & wait", "arg0"] }));
    const info = await docker.getContainer(id).inspect();
    expect(info.Config.Entrypoint).toEqual(["sh", "-c"]);
    expect(await waitFor(async () => ((await rt.logTail(id, 5)).includes("ep:arg0") ? true : undefined))).toBe(true);
    await rt.removeContainer(id, 0);
  });

  it("restartContainer restarts the same container in place", async () => {
    const id = await rt.runContainer(spec());
    const before = (await docker.getContainer(id).inspect()).State.StartedAt;
    await rt.restartContainer(id, 0);
    const after = await docker.getContainer(id).inspect();
    expect(after.State.Running).toBe(true);
    expect(after.State.StartedAt).not.toBe(before);
    await expectCode(rt.restartContainer("nope-does-not-exist", 0), deploykit.ENOTFOUND);
    await rt.removeContainer(id, 0);
  });

  it("stop grace: a container keeps its StopTimeout, and removal waits the grace it is given before SIGKILL", async () => {
    // Ignores SIGTERM: only the grace's end (SIGKILL) stops it, so the removal time is the grace.
    const stubborn = ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"];
    const id = await rt.runContainer(spec({ cmd: stubborn, stop_timeout: 2 }));
    expect((await docker.getContainer(id).inspect()).Config).toMatchObject({ StopTimeout: 2 });
    let t0 = Date.now();
    // No grace given: the container's own StopTimeout (2 s), not the 10 s default.
    await rt.removeContainer(id);
    const own = Date.now() - t0;
    expect(own).toBeGreaterThanOrEqual(1_500);
    expect(own).toBeLessThan(8_000);
    const id2 = await rt.runContainer(spec({ cmd: stubborn, stop_timeout: 30 }));
    t0 = Date.now();
    await rt.removeContainer(id2, 0);
    expect(Date.now() - t0).toBeLessThan(5_000);
    await expectCode(rt.inspectContainer(id2), deploykit.ENOTFOUND);
  });

  it("logTail returns the last lines of stdout and stderr, trailing newline trimmed", async () => {
    const id = await rt.runContainer(
      spec({ cmd: ["sh", "-c", "for i in 1 2 3 4 5; do echo out$i; done; sleep 1; echo err >&2; trap 'exit 0' TERM; sleep 300 & wait"] }),
    );
    const tail = await waitFor(async () => {
      const t = await rt.logTail(id, 3);
      return t.includes("err") ? t : undefined;
    });
    expect(tail).toBe("out4\nout5\nerr");
    await rt.removeContainer(id);
  });

  it("removeVolume: in use is a conflict, then succeeds, then gone is success", async () => {
    const vol = `dk-${run}-busy`;
    await rt.ensureVolume(vol, runLabels);
    const id = await rt.runContainer(spec({ volumes: [{ volume: vol, mount_path: "/data" }] }));
    await expectCode(rt.removeVolume(vol), deploykit.ECONFLICT);
    await rt.removeContainer(id);
    await rt.removeVolume(vol);
    await rt.removeVolume(vol);
    expect((await rt.listVolumes()).map((v) => v.name)).not.toContain(vol);
  });

  it("ensureImage: a present image is used as is; a missing remote one fails fast and clearly", async () => {
    await rt.ensureImage(TEST_IMAGE);
    const start = Date.now();
    const err = await rt.ensureImage("deploykit-test/does-not-exist:1").then(
      () => undefined,
      (e: unknown) => e as deploykit.DeployKitError,
    );
    expect(Date.now() - start).toBeLessThan(15_000);
    expect([deploykit.EUNAVAILABLE, deploykit.EINVALID]).toContain(err?.code);
    expect(err?.message).toMatch(/^image pull failed: \S/);
    await expectCode(rt.ensureImage("--privileged"), deploykit.EINVALID);
  });

  it("ping resolves when the engine answers (the dead socket's ping is below)", async () => {
    await expect(rt.ping()).resolves.toBeUndefined();
  });
});

describe("unreachable daemon", () => {
  const dead = new Client({ instanceID, socketPath: "/nonexistent/docker.sock" });

  it.each([
    ["listContainers", () => dead.runtime.listContainers()],
    ["listVolumes", () => dead.runtime.listVolumes()],
    ["listNetworks", () => dead.provisioner.listNetworks()],
    ["ensureImage", () => dead.runtime.ensureImage(TEST_IMAGE)],
    ["ping", () => dead.runtime.ping()],
    [
      "follow",
      () =>
        dead.logs.follow(
          "abc",
          { tail: 1 },
          () => {},
          () => {},
        ),
    ],
  ] as [string, () => Promise<unknown>][])("%s throws EUNAVAILABLE, never an empty answer", async (_name, call) => {
    const err = await expectCode(call(), deploykit.EUNAVAILABLE);
    expect(err.message).toMatch(/^Docker is unreachable: /);
  });
});
