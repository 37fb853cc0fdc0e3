/**
 * Build CPU and memory limits (issue 13) through deploykitd against the real dockerd: BuildKit in
 * dockerd ignores the build API's limits, so a limited build runs on the classic builder, whose RUN
 * steps get them. A step inside the limit sees it and passes; a step that allocates more is killed
 * and fails the build with a message naming the limit; the same step passes once the limits are off
 * (BuildKit, unlimited).
 */
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../harness/daemon.ts";
import { waitFor } from "../harness/wait.ts";
import { GitServer } from "./gitserver.ts";

const docker = new Docker();
const git = new GitServer();
let d: Daemon;
let projectID = "";
let serviceID = "";

const base = () => `/api/projects/${projectID}/services/${serviceID}`;

/** A RUN step that prints its cgroup's memory and CPU limits (v1 or v2), then allocates `mb` MiB. */
const dockerfile = (mb: number) =>
  [
    "FROM deploykit-test/busybox:1",
    `RUN echo "nonce ${process.pid}-${Date.now()}" && ` +
      "echo memory $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max) && " +
      "echo cpu $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max) && " +
      // dd holds one block of `bs` bytes in memory and fills it; the marker is computed, so the command
      // line in the log does not contain it.
      `dd if=/dev/zero of=/dev/null bs=${mb}M count=1 && echo allocated-$((${mb} + 0))-MiB`,
    'CMD ["sleep", "3600"]',
    "",
  ].join("\n");

async function settled(id: string) {
  return waitFor(
    async () => {
      const dep = await d.must("GET", `${base()}/deployments/${id}`, 200);
      return dep.phase === "serving" || dep.phase === "failed" || dep.phase === "cancelled" ? dep : null;
    },
    { timeoutMs: 180_000, intervalMs: 250, what: `deployment ${id} settled` },
  );
}

async function buildLog(id: string): Promise<string> {
  return (await d.request("GET", `${base()}/deployments/${id}/build-logs`)).text;
}

beforeAll(async () => {
  await git.start();
  d = await Daemon.start({ reconcileInterval: "2s", args: ["-stable-window", "1s"] });
}, 60_000);

afterAll(async () => {
  await d?.stop();
  const id = d?.instanceID();
  if (id) {
    const label = [`deploykit.instance=${id}`];
    for (const x of await docker.listContainers({ all: true, filters: { label } })) await docker.getContainer(x.Id).remove({ force: true });
    for (const n of await docker.listNetworks({ filters: { label } })) await docker.getNetwork(n.Id).remove();
    for (const img of await docker.listImages({ filters: { label } }))
      await docker
        .getImage(img.Id)
        .remove({ force: true })
        .catch(() => {});
  }
  await d?.destroy();
  await git.stop();
});

describe("build limits", () => {
  it("a limited build runs its steps under the limits; a step over the memory limit fails the build saying so", async () => {
    await d.must("PATCH", "/api/settings", 200, { body: { build_memory_mb: 64, build_cpus: 0.5 } });
    git.commit({ Dockerfile: dockerfile(16) }, "inside the limit");
    const project = await d.must("POST", "/api/projects", 201, { body: { name: "Limited builds" } });
    projectID = project.id;
    const staged = await d.must("POST", `/api/projects/${projectID}/services`, 201, { body: { name: "worker", repo_url: git.url } });
    const applied = await d.must("POST", `/api/projects/${projectID}/deploy`, 200);
    serviceID = applied.temp_id_to_service_id[staged.target_temp_id];

    const inside = await settled(applied.created_deployments[0].id);
    expect(inside.failure_reason ?? null).toBeNull();
    expect(inside.phase).toBe("serving");
    const log = await buildLog(inside.id);
    expect(log).toContain("with the classic builder");
    expect(log).toContain("0.5 CPUs, 64 MiB of memory");
    expect(log).toMatch(/memory 67108864\b/);
    expect(log).toMatch(/cpu 50000\b/);
    expect(log).toContain("allocated-16-MiB");

    git.commit({ Dockerfile: dockerfile(200) }, "over the limit");
    const over = await settled((await d.must("POST", `${base()}/redeploy`, 201)).id);
    expect(over.status).toBe("failed");
    expect(over.failure_reason).toMatch(
      /^build failed while building: a build step was killed \(exit code 137\), most likely for going over the build memory limit of 64 MiB \(admin settings\): The command .*dd if=\/dev\/zero.* returned a non-zero code: 137$/,
    );
    expect(over.log_tail).not.toContain("allocated-200-MiB");

    // Without limits the same step passes: BuildKit, which would not have enforced them.
    await d.must("PATCH", "/api/settings", 200, { body: { build_memory_mb: 0, build_cpus: 0 } });
    const free = await settled((await d.must("POST", `${base()}/redeploy`, 201)).id);
    expect(free.failure_reason ?? null).toBeNull();
    const freeLog = await buildLog(free.id);
    expect(freeLog).toContain("with BuildKit");
    expect(freeLog).toContain("allocated-200-MiB");
  }, 600_000);
});
