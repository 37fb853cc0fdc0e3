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
  const projects: { id: string; name: string; point: string }[] = [];

  /** After the restart: the project's Apply happened entirely (only after the commit) or not at all. */
  async function verify(p: { id: string; name: string; point: string }): Promise<void> {
    const at = p.point;
    expect(d.integrity(), at).toEqual({ integrity: "ok", foreignKeyViolations: 0 });
    const pending = await d.must<{ data: unknown[] }>("GET", `/api/projects/${p.id}/pending-changes?limit=100`, 200);
    const services = await d.must<{ data: { name: string }[] }>("GET", `/api/projects/${p.id}/services`, 200);
    const vars = await d.must<{ data: { key: string }[] }>("GET", `/api/projects/${p.id}/env-vars`, 200);
    const project = await d.must<{ name: string }>("GET", `/api/projects/${p.id}`, 200);
    if (at === "apply:after-commit") {
      expect(pending.data, at).toHaveLength(0);
      expect(
        services.data.map((s) => s.name),
        at,
      ).toEqual(["web"]);
      expect(
        vars.data.map((v) => v.key),
        at,
      ).toEqual(["GREETING"]);
      expect(project.name, at).toBe(`${p.name}-renamed`);
    } else {
      expect(pending.data, at).toHaveLength(3);
      expect(services.data, at).toHaveLength(0);
      expect(vars.data, at).toHaveLength(0);
      expect(project.name, at).toBe(p.name);
    }
  }

  it("each step: the restarted daemon finds the database intact and the Apply all-or-nothing", async () => {
    for (const point of POINTS) {
      const name = `ap-${point.replace(/[^a-z0-9]+/g, "-")}`.slice(0, 40);
      const p = await stageProject(d, name, [{ name: "web", image: WORKLOADS.idle.tag }]);
      await d.must("POST", `/api/projects/${p.id}/env-vars`, 201, { body: { key: "GREETING", value: "hello" } });
      await d.must("PATCH", `/api/projects/${p.id}`, 200, { body: { name: `${name}-renamed` } });
      expect(dbState(d).pending.filter((c) => c.project_id === p.id)).toHaveLength(3);
      projects.push({ id: p.id, name, point });
    }
    // Each restart is armed with the next step, so one restart per step both checks the previous
    // step's outcome (reads never reach a fault point) and kills the next Apply.
    for (const [i, p] of projects.entries()) {
      await d.restart({ DEPLOYKIT_FAULT_POINT: p.point });
      if (i > 0) await verify(projects[i - 1]!);
      const res = await d.request("POST", `/api/projects/${p.id}/deploy`).catch((err: Error) => err);
      expect(res, p.point).toBeInstanceOf(Error); // the process died mid-request
      expect((await d.waitExit()).signal, p.point).toBe("SIGKILL");
    }
    await d.restart();
    await verify(projects[projects.length - 1]!);
  });

  it("Docker converges: one running container per service, no leaked or duplicated object, nothing left starting", async () => {
    expect(projects).toHaveLength(POINTS.length);
    // Applying again applies what was rolled back and is a no-op where the commit had happened.
    for (const p of projects) expect((await apply(d, p.id)).applied_count, p.point).toBe(p.point === "apply:after-commit" ? 0 : 3);
    await waitConverged(d, dockerd.socketPath, 60_000);
    const st = dbState(d);
    expect(st.services).toHaveLength(POINTS.length);
    expect(st.deployments.filter((x) => x.status === "healthy")).toHaveLength(POINTS.length);
    // Applying every project again is a no-op for Docker.
    const before = (await dockerd.docker.listContainers({ all: true })).map((c) => c.Id).sort();
    for (const p of projects) expect((await apply(d, p.id)).applied_count).toBe(0);
    await new Promise((r) => setTimeout(r, 3000));
    const after = await dockerd.docker.listContainers({ all: true });
    // On a mismatch, say which containers changed and what the daemon logged meanwhile.
    const changed = after.filter((c) => !before.includes(c.Id)).map((c) => `${c.Names[0]} ${c.State} ${c.Status}`);
    expect(after.map((c) => c.Id).sort(), `new: ${changed.join("; ")}\n${d.log().split("\n").slice(-30).join("\n")}`).toEqual(before);
    expect(await checkInvariants(d, dockerd.socketPath)).toEqual([]);
  });
});
