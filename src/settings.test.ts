import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS, effectiveLimits } from "./settings.ts";

describe("effectiveLimits", () => {
  const defaults = { default_memory_mb: 512, default_cpus: 1, default_pids_limit: 300 };

  it("fills in the admin's defaults where a service sets none, 0 included", () => {
    expect(effectiveLimits(null, defaults)).toEqual({ memory_mb: 512, cpus: 1, cpu_shares: 0, pids_limit: 300 });
    expect(effectiveLimits({ memory_mb: 0, cpus: 0 }, defaults)).toEqual({ memory_mb: 512, cpus: 1, cpu_shares: 0, pids_limit: 300 });
  });

  it("keeps a service's own limits, higher or lower than the defaults", () => {
    expect(effectiveLimits({ memory_mb: 4096, cpus: 0.25, cpu_shares: 512 }, defaults)).toEqual({
      memory_mb: 4096,
      cpus: 0.25,
      cpu_shares: 512,
      pids_limit: 300,
    });
  });

  it("no default means no limit, but the process limit never goes away", () => {
    expect(effectiveLimits({}, { default_memory_mb: 0, default_cpus: 0, default_pids_limit: 0 })).toEqual({
      memory_mb: 0,
      cpus: 0,
      cpu_shares: 0,
      pids_limit: DEFAULT_SETTINGS.default_pids_limit,
    });
  });
});
