import { describe, expect, it } from "vitest";
import { createOptions, PIDS_LIMIT } from "./container.ts";

const spec = {
  name: "dk-web-1",
  image: "nginx:1.27",
  network: "dk-net",
  aliases: ["web"],
  env: {},
  ports: [],
  volumes: [],
  labels: {},
};

describe("container limits", () => {
  it("every container gets a PID limit, so a fork bomb stays inside it", () => {
    expect(createOptions(spec, "i1").HostConfig?.PidsLimit).toBe(PIDS_LIMIT);
    expect(createOptions({ ...spec, resources: { memory_mb: 256, cpus: 0.5 } }, "i1").HostConfig).toMatchObject({
      PidsLimit: PIDS_LIMIT,
      Memory: 256 * 1024 * 1024,
      NanoCpus: 500_000_000,
    });
  });

  it("a spec's own process limit replaces the default", () => {
    expect(createOptions({ ...spec, pids_limit: 256 }, "i1").HostConfig?.PidsLimit).toBe(256);
  });
});
