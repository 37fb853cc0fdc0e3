import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { BuildLimitsCard, buildLimitChanges, buildLimitValues } from "./build-limits.tsx";

// The server's defaults (src/settings.ts DEFAULT_SETTINGS).
const DEFAULTS = {
  build_concurrency: 1,
  build_cpus: 0,
  build_memory_mb: 0,
  build_timeout_minutes: 30,
  images_kept: 5,
  build_cache_max_mb: 10240,
};
const saved = buildLimitValues(DEFAULTS);

describe("build limit settings", () => {
  it.each([
    { edit: {}, changes: {}, notNumbers: [] },
    { edit: { build_cpus: "0.5", build_memory_mb: " 512 " }, changes: { build_cpus: 0.5, build_memory_mb: 512 }, notNumbers: [] },
    { edit: { build_timeout_minutes: "30 " }, changes: {}, notNumbers: [] },
    { edit: { build_memory_mb: "", build_cpus: "two" }, changes: {}, notNumbers: ["build_cpus", "build_memory_mb"] },
  ])("sends only what changed, as numbers: $edit", ({ edit, changes, notNumbers }) => {
    expect(buildLimitChanges(saved, { ...saved, ...edit })).toEqual({ changes, notNumbers });
  });

  it("renders one labelled input per limit with its current value, and says limited builds use the classic builder", () => {
    const html = renderToStaticMarkup(
      <QueryClientProvider client={new QueryClient()}>
        <BuildLimitsCard settings={{ ...DEFAULTS, build_memory_mb: 2048 }} />
      </QueryClientProvider>,
    );
    for (const key of Object.keys(DEFAULTS)) expect(html).toContain(`id="${key}"`);
    expect(html).toContain('value="2048"');
    expect(html).toContain("classic builder");
  });
});
