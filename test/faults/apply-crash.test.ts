import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../harness/daemon.ts";
import { Dockerd } from "../harness/dockerd.ts";
import { buildWorkloads, WORKLOADS } from "../harness/images.ts";
import { apply, checkInvariants, dbState, stageProject, waitConverged } from "../harness/invariants.ts";

// D05/F03: deploykitd SIGKILLs itself at each step of Apply (a test-only fault point), is restarted
// on the same data, and must show all-or-nothing: the staged log intact and nothing applied, or
// everything applied and the log empty. Docker then converges with nothing leaked or duplicated.
const POINTS = [
  "apply:begin",
  "apply:after-entry:1",
  "apply:after-entry:2",
  "apply:after-entry:3",
  "apply:before-commit",
  "apply:after-commit",
];

let dockerd: Dockerd;
let d: Daemon;

beforeAll(async () => {
  dockerd = await Dockerd.start();
  await buildWorkloads(dockerd.socketPath, ["idle"]);
  d = await Daemon.start({ dockerSocket: dockerd.socketPath });
});

afterAll(async () => {
  await d?.destroy();
  await dockerd?.destroy();
});

describe("SIGKILL at every step of Apply", () => {
  const projects: { id: string; point: string }[] = [];

  it.each(POINTS)("%s: restart finds the database intact and Apply all-or-nothing", async (point) => {
    const name = `ap-${point.replace(/[^a-z0-9]+/g, "-")}`.slice(0, 40);
    const p = await stageProject(d, name, [{ name: "web", image: WORKLOADS.idle.tag }]);
    await d.must("POST", `/api/projects/${p.id}/env-vars`, 201, { body: { key: "GREETING", value: "hello" } });
    await d.must("PATCH", `/api/projects/${p.id}`, 200, { body: { name: `${name}-renamed` } });
    expect(dbState(d).pending.filter((c) => c.project_id === p.id)).toHaveLength(3);

    await d.restart({ DEPLOYKIT_FAULT_POINT: point });
    const res = await d.request("POST", `/api/projects/${p.id}/deploy`).catch((err: Error) => err);
    expect(res).toBeInstanceOf(Error); // the process died mid-request
    expect((await d.waitExit()).signal).toBe("SIGKILL");

    await d.restart();
    expect(d.integrity()).toEqual({ integrity: "ok", foreignKeyViolations: 0 });
    const pending = await d.must<{ data: unknown[] }>("GET", `/api/projects/${p.id}/pending-changes`, 200);
    const services = await d.must<{ data: { name: string }[] }>("GET", `/api/projects/${p.id}/services`, 200);
    const vars = await d.must<{ data: { key: string }[] }>("GET", `/api/projects/${p.id}/env-vars`, 200);
    const project = await d.must<{ name: string }>("GET", `/api/projects/${p.id}`, 200);
    if (point === "apply:after-commit") {
      expect(pending.data).toHaveLength(0);
      expect(services.data.map((s) => s.name)).toEqual(["web"]);
      expect(vars.data.map((v) => v.key)).toEqual(["GREETING"]);
      expect(project.name).toBe(`${name}-renamed`);
      // A second Apply finds nothing to do.
      expect((await apply(d, p.id)).applied_count).toBe(0);
    } else {
      expect(pending.data).toHaveLength(3);
      expect(services.data).toHaveLength(0);
      expect(vars.data).toHaveLength(0);
      expect(project.name).toBe(name);
      expect((await apply(d, p.id)).applied_count).toBe(3);
    }
    projects.push({ id: p.id, point });
  });

  it("Docker converges: one running container per service, no leaked or duplicated object, nothing left starting", async () => {
    expect(projects).toHaveLength(POINTS.length);
    await waitConverged(d, dockerd.socketPath, 60_000);
    const st = dbState(d);
    expect(st.services).toHaveLength(POINTS.length);
    expect(st.deployments.filter((x) => x.status === "healthy")).toHaveLength(POINTS.length);
    // Applying every project again is a no-op for Docker.
    const before = (await dockerd.docker.listContainers({ all: true })).map((c) => c.Id).sort();
    for (const p of projects) expect((await apply(d, p.id)).applied_count).toBe(0);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await dockerd.docker.listContainers({ all: true })).map((c) => c.Id).sort()).toEqual(before);
    expect(await checkInvariants(d, dockerd.socketPath)).toEqual([]);
  });
});
