import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon, MAIN } from "../harness/daemon.ts";
import { Dockerd } from "../harness/dockerd.ts";
import { buildWorkloads, instanceFilter, WORKLOADS } from "../harness/images.ts";
import { apply, dbState, stageProject, waitConverged } from "../harness/invariants.ts";

// Issue 20: `deploykitd restore` on the same host, then the reconciler converges Docker to the
// restored state — a service created after the backup is removed, one deleted after it is recreated.

const run = promisify(execFile);
let host: Dockerd;
let d: Daemon;
const tmp = mkdtempSync(join(tmpdir(), "dk-restore-"));

beforeAll(async () => {
  host = await Dockerd.start();
  await buildWorkloads(host.socketPath, ["idle"]);
  d = await Daemon.start({ dockerSocket: host.socketPath });
});

afterAll(async () => {
  await d?.destroy();
  await host?.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

/** Names of the services whose containers run in Docker for this instance. */
async function runningServices(): Promise<string[]> {
  const names = new Map(dbState(d).services.map((s) => [s.id as string, s.name as string]));
  const list = await host.docker.listContainers({ all: true, filters: instanceFilter(d.instanceID()) });
  return list
    .filter((c) => c.State === "running")
    .map((c) => names.get(c.Labels["deploykit.service-id"] as string) ?? `unknown:${c.Names[0]}`)
    .sort();
}

const cli = (args: string[]) => run(process.execPath, [MAIN, ...args], { env: { ...process.env, NODE_ENV: "test" } });

describe("restore, then convergence on a real dockerd", () => {
  it("removes a service created after the backup and recreates one deleted after it", async () => {
    const p = await stageProject(d, "shop", [
      { name: "keep", image: WORKLOADS.idle.tag },
      { name: "doomed", image: WORKLOADS.idle.tag },
    ]);
    await apply(d, p.id);
    await waitConverged(d, host.socketPath);
    expect(await runningServices()).toEqual(["doomed", "keep"]);

    const file = join(tmp, "backup.db");
    const { stdout } = await cli(["backup", "-data-dir", d.dataDir, file]);
    expect(stdout).toContain("rows: projects 1, services 2,");

    // After the backup: one service deleted, one created.
    const doomed = dbState(d).services.find((s) => s.name === "doomed")!;
    await d.must("DELETE", `/api/projects/${p.id}/services/${doomed.id}`, 200);
    await d.must("POST", `/api/projects/${p.id}/services`, 201, { body: { name: "late", image: WORKLOADS.idle.tag } });
    await apply(d, p.id);
    await waitConverged(d, host.socketPath);
    expect(await runningServices()).toEqual(["keep", "late"]);

    // While the daemon runs, restore refuses and changes nothing.
    const refused = await cli(["restore", "-data-dir", d.dataDir, file]).catch((err: { code: number; stderr: string }) => err);
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr).toContain(`is in use by deploykitd daemon (pid ${d.pid}`);

    await d.stop();
    const restored = await cli(["restore", "-data-dir", d.dataDir, file]);
    expect(restored.stdout).toContain(`restored ${file} into ${d.dbPath}`);
    expect(readdirSync(d.dataDir).filter((f) => f.endsWith(".before-restore"))).toHaveLength(1);
    await d.restart();

    await waitConverged(d, host.socketPath);
    expect(
      dbState(d)
        .services.map((s) => s.name)
        .sort(),
    ).toEqual(["doomed", "keep"]);
    expect(await runningServices()).toEqual(["doomed", "keep"]);
  });
});
