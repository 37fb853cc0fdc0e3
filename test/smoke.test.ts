import { randomBytes } from "node:crypto";
import Docker from "dockerode";
import { afterAll, describe, expect, it } from "vitest";

// The Docker smoke test: proves the test machine has a working engine and the local busybox image,
// and that a labelled network and container can be made, read and removed without leftovers.
const docker = new Docker();
const run = randomBytes(4).toString("hex");
const labels = { "managed-by": "deploykit", "deploykit.instance": `smoke-${run}` };
const image = "deploykit-test/busybox:1";

afterAll(async () => {
  for (const c of await docker.listContainers({ all: true, filters: { label: [`deploykit.instance=smoke-${run}`] } })) {
    await docker.getContainer(c.Id).remove({ force: true });
  }
  for (const n of await docker.listNetworks({ filters: { label: [`deploykit.instance=smoke-${run}`] } })) {
    await docker.getNetwork(n.Id).remove();
  }
});

describe("docker smoke", () => {
  it("creates a labelled network and container, reads its output and removes both", async () => {
    await docker.ping();
    const network = await docker.createNetwork({ Name: `dk-smoke-${run}`, Driver: "bridge", Labels: labels });
    const container = await docker.createContainer({
      name: `dk-smoke-${run}`,
      Image: image,
      Cmd: ["sh", "-c", "echo hello from $(hostname)"],
      Labels: labels,
      HostConfig: { NetworkMode: `dk-smoke-${run}` },
    });
    await container.start();
    const status = await container.wait();
    expect(status.StatusCode).toBe(0);
    const logs = (await container.logs({ stdout: true, stderr: true })) as Buffer;
    expect(logs.toString("utf8")).toContain("hello from");

    await container.remove({ force: true });
    await network.remove();
    const left = await docker.listContainers({ all: true, filters: { label: [`deploykit.instance=smoke-${run}`] } });
    const nets = await docker.listNetworks({ filters: { label: [`deploykit.instance=smoke-${run}`] } });
    expect(left).toHaveLength(0);
    expect(nets).toHaveLength(0);
  });
});
