/**
 * C06, workload isolation: from inside a project's container, the daemon's API port must not answer
 * on any host address (the bridge gateway, the host's own addresses), and another project's
 * containers must not answer either. The daemon listens on all interfaces here, as `-addr :8080`
 * does in production. A container outside DeployKit's networks (Docker's default bridge) still
 * reaches the port: that is the control showing the block is DeployKit's rule, not an accident.
 */
import { execFile, execFileSync } from "node:child_process";
import { networkInterfaces } from "node:os";
import { promisify } from "node:util";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chainName } from "../../src/firewall/index.ts";
import { Client } from "../../src/http/index.ts";
import { ADMIN, Daemon, freePort } from "../harness/daemon.ts";
import { waitFor } from "../harness/wait.ts";

const IMAGE = "deploykit-test/greeter:1";
const docker = new Docker();
let d: Daemon;
let c: Client;
let port = 0;
let instanceID = "";
const extra: string[] = [];

/**
 * True when an HTTP GET from inside `containerID` to host:port gets any HTTP answer. busybox `nc`
 * with a hand-written request (its `wget` crashes on Docker's default bridge in this image). Async:
 * a blocked event loop let the test's own keep-alive socket to the daemon expire unnoticed (the
 * last fetch then failed with "other side closed").
 */
async function answers(containerID: string, host: string, port: number, path = "/"): Promise<boolean> {
  try {
    const { stdout } = await promisify(execFile)(
      "docker",
      ["exec", containerID, "sh", "-c", `printf 'GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n' | nc -w 3 ${host} ${port}`],
      { encoding: "utf8", timeout: 20_000 },
    );
    return /^HTTP\/1\.[01] \d{3}/.test(stdout);
  } catch {
    return false;
  }
}

function iptablesRules(): string {
  return execFileSync("iptables", ["-w", "5", "-S"], { encoding: "utf8" });
}

/** The host's non-loopback IPv4 addresses: its own address(es) and every bridge gateway. */
function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === "IPv4" && !a.internal)
    .map((a) => a!.address);
}

beforeAll(async () => {
  execFileSync("bash", ["scripts/test-images.sh"], { stdio: "inherit" });
  port = await freePort();
  d = await Daemon.start({ port, args: ["-addr", `0.0.0.0:${port}`, "-isolate", "true"] });
  c = new Client(d.url);
  c.token = (await c.login(ADMIN.email, ADMIN.password)).access_token;
  instanceID = (await c.about()).deploykit.instance_id;
}, 120_000);

afterAll(async () => {
  for (const id of extra)
    await docker
      .getContainer(id)
      .remove({ force: true })
      .catch(() => {});
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
  await d?.destroy();
});

async function deployGreeter(projectName: string): Promise<{ containerID: string; ip: string; gateway: string }> {
  const project = await c.createProject(projectName);
  const staged = await c.createService(project.id, { name: "web", image: IMAGE, ports: [{ container_port: 8080 }] });
  const applied = await c.deploy(project.id);
  const serviceID = applied.temp_id_to_service_id[staged.target_temp_id as string] as string;
  const container = await waitFor(
    async () => {
      const list = await docker.listContainers({ filters: { label: [`deploykit.service-id=${serviceID}`], status: ["running"] } });
      return list[0];
    },
    { timeoutMs: 90_000, what: `${projectName} running` },
  );
  const info = await docker.getContainer(container.Id).inspect();
  const net = Object.values(info.NetworkSettings.Networks)[0]!;
  return { containerID: container.Id, ip: net.IPAddress, gateway: net.Gateway };
}

describe("workload isolation (C06)", () => {
  it("a project's container reaches neither the daemon's port on any host address nor another project", async () => {
    expect(iptablesRules()).toContain(`-A INPUT -j ${chainName(instanceID)}`);
    const a = await deployGreeter("Tenant A");
    const b = await deployGreeter("Tenant B");
    // The new networks' subnets are in the chain before any container joined them.
    await waitFor(async () => iptablesRules().includes(`--dport ${port}`), { timeoutMs: 10_000, what: "rules for the port" });

    // Control: a container on Docker's default bridge reaches the daemon through its gateway, and
    // tenant B answers its own network's clients.
    const control = await docker.createContainer({ Image: IMAGE, HostConfig: { NetworkMode: "bridge" } });
    extra.push(control.id);
    await control.start();
    const controlGateway = (await control.inspect()).NetworkSettings.Networks.bridge!.Gateway;
    // The positive checks poll: a container that runs is not yet one whose server listens (in CI,
    // beside three other test lanes, a single try saw tenant B's greeter not answering yet).
    const eventually = (what: string, check: () => Promise<boolean>) => waitFor(check, { timeoutMs: 30_000, intervalMs: 500, what });
    await eventually("the control reaching the daemon", () => answers(control.id, controlGateway, port, "/api/health"));
    await eventually("tenant B answering its own network", () => answers(b.containerID, b.ip, 8080));
    await eventually("tenant A answering its own network", () => answers(a.containerID, a.ip, 8080));

    // From tenant A: the gateway, every host address, and tenant B's container all refuse.
    expect(await answers(a.containerID, a.gateway, port, "/api/health")).toBe(false);
    for (const addr of hostAddresses()) expect(await answers(a.containerID, addr, port, "/api/health"), addr).toBe(false);
    expect(await answers(a.containerID, controlGateway, port, "/api/health")).toBe(false);
    expect(await answers(a.containerID, b.ip, 8080)).toBe(false);
    // The daemon itself still serves the host.
    expect((await fetch(`${d.url}/api/health`)).status).toBe(200);
  });

  it("removes its chain and the INPUT jump when the daemon stops", async () => {
    const chain = chainName(instanceID);
    expect(iptablesRules()).toContain(`-N ${chain}`);
    await d.stop();
    const rules = iptablesRules();
    expect(rules).not.toContain(`-N ${chain}`);
    expect(rules).not.toContain(`-j ${chain}`);
  });
});
