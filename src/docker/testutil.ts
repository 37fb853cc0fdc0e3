import { randomBytes } from "node:crypto";
import Dockerode from "dockerode";

/** Test support for *.docker.test.ts and benchmarks; never imported by the adapter itself. */

export const TEST_IMAGE = "deploykit-test/busybox:1";
/** Every object a test creates (ours or deliberately foreign) carries this label for cleanup. */
export const TEST_RUN_LABEL = "deploykit-test.run";

export function randomID(prefix = "t"): string {
  return `${prefix}${randomBytes(5).toString("hex")}`;
}

export function rawDocker(): Dockerode {
  return new Dockerode({ socketPath: "/var/run/docker.sock" });
}

/** Removes every container, network and volume labelled with `label=value`, ignoring failures. */
export async function removeLabelled(docker: Dockerode, label: string, value: string): Promise<void> {
  const filters = { label: [`${label}=${value}`] };
  const containers = await docker.listContainers({ all: true, filters });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: false })
        .catch(() => {}),
    ),
  );
  const networks = await docker.listNetworks({ filters });
  await Promise.all(
    networks.map((n) =>
      docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => {}),
    ),
  );
  const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
  await Promise.all(
    volumes.map((v) =>
      docker
        .getVolume(v.Name)
        .remove()
        .catch(() => {}),
    ),
  );
}

/** Polls until `cond` resolves truthy. */
export async function waitFor<T>(
  cond: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 15_000,
  what = "condition",
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
