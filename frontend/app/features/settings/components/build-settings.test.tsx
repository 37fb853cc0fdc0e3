import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { BuildBasesCard, buildBaseChanges, buildBaseValues } from "./build-settings.tsx";

// The server's defaults (src/system.ts DEFAULT_SETTINGS; the SPA imports the domain for types only).
const DEFAULTS = {
  build_base_node: "node:22-bookworm-slim",
  build_base_python: "python:3.12-slim",
  build_base_go: "golang:1.23-bookworm",
  build_base_static: "busybox:1.37",
};
const saved = buildBaseValues(DEFAULTS);

describe("build base settings", () => {
  it("reads the four settings, blank for a server that has none yet", () => {
    expect(saved).toEqual({
      build_base_node: "node:22-bookworm-slim",
      build_base_python: "python:3.12-slim",
      build_base_go: "golang:1.23-bookworm",
      build_base_static: "busybox:1.37",
    });
    expect(buildBaseValues({})).toEqual({ build_base_node: "", build_base_python: "", build_base_go: "", build_base_static: "" });
  });

  it.each([
    { edit: {}, want: {} },
    { edit: { build_base_node: " deploykit-test/node:1 " }, want: { build_base_node: "deploykit-test/node:1" } },
    { edit: { build_base_go: "" }, want: {} },
    { edit: { build_base_static: "busybox:1.37 " }, want: {} },
  ])("sends only what changed: $edit", ({ edit, want }) => {
    expect(buildBaseChanges(saved, { ...saved, ...edit })).toEqual(want);
  });

  it("renders one labelled input per base image with its current value", () => {
    const html = renderToStaticMarkup(
      <QueryClientProvider client={new QueryClient()}>
        <BuildBasesCard settings={{ ...DEFAULTS, build_base_node: "deploykit-test/node:1" }} />
      </QueryClientProvider>,
    );
    for (const id of ["build_base_node", "build_base_python", "build_base_go", "build_base_static"]) expect(html).toContain(`id="${id}"`);
    expect(html).toContain('value="deploykit-test/node:1"');
    expect(html).toContain('value="busybox:1.37"');
    expect(html).toContain("Build base images");
  });
});
