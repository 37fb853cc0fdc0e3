import { execFileSync } from "node:child_process";
import Docker from "dockerode";
import { TEST_IMAGE } from "./dockerd.ts";

/**
 * Issue 13: the Debian base image with the Node and npm that run the tests (scripts/test-images.sh): the base the build
 * tests point `build_base_node` at, since node:22-bookworm-slim would need a registry. Static sites
 * and Go binaries use TEST_IMAGE (busybox, with httpd) as `build_base_static`.
 */
export const NODE_IMAGE = "deploykit-test/node:1";

/**
 * Issue 13: Debian's python3 and pip, not marked externally managed (scripts/test-images.sh): the base
 * the build tests point `build_base_python` at, since python:3.12-slim would need a registry.
 */
export const PYTHON_IMAGE = "deploykit-test/python:1";

/**
 * Workload images built FROM the busybox test image with a fixed CMD (the API has no command field,
 * and the base image's `sh` exits at once). `docker build -` with a Dockerfile on stdin needs no context.
 */
export const WORKLOADS = {
  /** Runs until SIGTERM, exits within a second of it. */
  idle: { tag: "dk-fault/idle:1", cmd: ["sh", "-c", "trap 'exit 0' TERM; echo started; while true; do sleep 1; done"] },
  /** Exits 1 at once: a crash loop under the restart policy. */
  crash: { tag: "dk-fault/crash:1", cmd: ["sh", "-c", "echo boom; exit 1"] },
  /** Ignores SIGTERM: only the stop timeout's SIGKILL ends it. */
  stubborn: { tag: "dk-fault/stubborn:1", cmd: ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"] },
  /** Prints ~100-byte lines as fast as it can. */
  flood: {
    tag: "dk-fault/flood:1",
    cmd: ["sh", "-c", "yes 'flood-0123456789-0123456789-0123456789-0123456789-0123456789-0123456789-0123456789-0123456789'"],
  },
} as const;

export type Workload = keyof typeof WORKLOADS;

/** Builds the workload images into the engine at `socketPath` (quick when they exist). */
export async function buildWorkloads(socketPath: string, which: Workload[] = Object.keys(WORKLOADS) as Workload[]): Promise<void> {
  const docker = new Docker({ socketPath });
  for (const w of which) {
    const { tag, cmd } = WORKLOADS[w];
    const exists = await docker
      .getImage(tag)
      .inspect()
      .then(
        () => true,
        () => false,
      );
    if (exists) continue;
    const dockerfile = `FROM ${TEST_IMAGE}\nCMD ${JSON.stringify(cmd)}\n`;
    execFileSync("docker", ["build", "-q", "-t", tag, "-"], {
      input: dockerfile,
      env: { ...process.env, DOCKER_HOST: `unix://${socketPath}`, DOCKER_BUILDKIT: "0" },
      stdio: ["pipe", "ignore", "pipe"],
    });
  }
}

/** Labels filter of one DeployKit instance's objects. */
export function instanceFilter(instanceID: string): { label: string[] } {
  return { label: [`deploykit.instance=${instanceID}`] };
}

/** Removes every container, network and volume of an instance (tests on the host engine clean up with it). */
export async function removeInstanceObjects(socketPath: string, instanceID: string): Promise<void> {
  const docker = new Docker({ socketPath });
  const filters = instanceFilter(instanceID);
  for (const c of await docker.listContainers({ all: true, filters })) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => {});
  }
  for (const n of await docker.listNetworks({ filters })) {
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => {});
  }
  const vols = await docker.listVolumes({ filters });
  for (const v of vols.Volumes ?? []) {
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => {});
  }
}
