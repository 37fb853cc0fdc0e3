import { describe, expect, it } from "vitest";
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
