import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import * as mock from "../mock/index.ts";
import { DockerSnapshot } from "./snapshot.ts";

describe("DockerSnapshot", () => {
  // Found by the fault suite (dockerd stopped mid-deploy): an invalidate() while a list call was in
  // flight made every waiting reader throw "… is not iterable", failing the sweep in a loop.
  it("a reader waiting on a list still gets it when the snapshot is invalidated meanwhile", async () => {
    let release: (v: []) => void = () => {};
    const snap = new DockerSnapshot({
      runtime: mock.ContainerRuntime({ listContainers: () => new Promise((r) => (release = r)) }),
      provisioner: mock.Provisioner(),
      ttlMs: 1000,
      now: () => 0,
      observe: () => {},
    });
    const reading = snap.containers();
    snap.invalidate();
    release([]);
    await expect(reading).resolves.toEqual([]);
  });
});

describe("DockerSnapshot caching", () => {
  const running = (id: string): deploykit.RunningContainer => ({
    docker_id: id,
    name: id,
    project_id: "p",
    service_id: "s",
    deployment_id: "d",
    replica_index: 0,
    state: "running",
    labels: {},
  });

  function snapshot(list: () => Promise<deploykit.RunningContainer[]>, clock = { t: 0 }) {
    let calls = 0;
    const snap = new DockerSnapshot({
      runtime: mock.ContainerRuntime({
        listContainers: () => {
          calls++;
          return list();
        },
      }),
      provisioner: mock.Provisioner(),
      ttlMs: 1000,
      now: () => clock.t,
      observe: () => {},
    });
    return { snap, calls: () => calls, clock };
  }

  it("lists once per TTL, and not at all while pinned", async () => {
    const h = snapshot(async () => [running("a")]);
    await h.snap.containers();
    await h.snap.containers();
    expect(h.calls()).toBe(1);
    h.clock.t = 1000;
    await h.snap.containers();
    expect(h.calls()).toBe(2);
    h.snap.pin();
    h.clock.t = 60_000;
    await h.snap.containers();
    expect(h.calls()).toBe(2);
    h.snap.unpin();
    await h.snap.containers();
    expect(h.calls()).toBe(3);
  });

  it("caches a failed list for the TTL instead of asking again per reader", async () => {
    const h = snapshot(async () => {
      throw deploykit.errorf(deploykit.EUNAVAILABLE, "Docker is unreachable");
    });
    await expect(h.snap.containers()).rejects.toMatchObject({ code: deploykit.EUNAVAILABLE });
    await expect(h.snap.containers()).rejects.toMatchObject({ code: deploykit.EUNAVAILABLE });
    expect(h.calls()).toBe(1);
    // Even pinned, a cached failure expires so a resync notices Docker coming back.
    h.snap.pin();
    h.clock.t = 1000;
    await expect(h.snap.containers()).rejects.toThrow();
    expect(h.calls()).toBe(2);
  });

  it("applies its own creates and removes, including those made while a list was in flight", async () => {
    let release: (v: deploykit.RunningContainer[]) => void = () => {};
    const h = snapshot(() => new Promise((r) => (release = r)));
    const reading = h.snap.containers();
    h.snap.addContainer(running("new"));
    h.snap.removeContainer("old");
    release([running("old"), running("kept")]);
    expect((await reading).map((c) => c.docker_id)).toEqual(["kept", "new"]);
    h.snap.addContainer(running("new"));
    expect((await h.snap.containers()).map((c) => c.docker_id)).toEqual(["kept", "new"]);
    expect(h.calls()).toBe(1);
  });

  // Found by the volume-safety suite: a list taken while the pass created a container held it as
  // "created"; the pass's own entry was dropped as a duplicate, and the next pass replaced the
  // just-started container (a stopped one is replaced), restarting a database for nothing.
  it("a container it created replaces the stale 'created' entry a list took mid-create", async () => {
    const h = snapshot(async () => [{ ...running("new"), state: "created" }]);
    expect((await h.snap.containers())[0]?.state).toBe("created");
    h.snap.addContainer(running("new"));
    expect((await h.snap.containers()).map((c) => [c.docker_id, c.state])).toEqual([["new", "running"]]);
  });

  it("creates a network once when passes ask for it concurrently", async () => {
    let creates = 0;
    const snap = new DockerSnapshot({
      runtime: mock.ContainerRuntime(),
      provisioner: mock.Provisioner({ listNetworks: async () => [] }),
      ttlMs: 1000,
      now: () => 0,
      observe: () => {},
    });
    const create = async () => {
      creates++;
      await new Promise((r) => setTimeout(r, 5));
      return { id: "n1", name: "dk-shop", labels: {} };
    };
    await Promise.all([
      snap.ensureNetwork("dk-shop", create),
      snap.ensureNetwork("dk-shop", create),
      snap.ensureNetwork("dk-shop", create),
    ]);
    await snap.ensureNetwork("dk-shop", create);
    expect(creates).toBe(1);
  });
});
