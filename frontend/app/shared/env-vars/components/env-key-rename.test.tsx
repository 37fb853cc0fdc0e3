import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { MaskedEnvVar } from "../../../../../src/envvar.ts";
import { EnvKeyRename } from "./env-key-rename.tsx";

const envVar: MaskedEnvVar = {
  id: "ev1",
  scope: "service",
  scope_id: "s1",
  key: "DB_PASS",
  masked: true,
  sealed: true,
  created_at: "2026-12-04T00:00:00Z",
  updated_at: "2026-12-04T00:00:00Z",
};

const render = () =>
  renderToStaticMarkup(
    <QueryClientProvider client={new QueryClient()}>
      <EnvKeyRename projectID="p1" owner={{ scope: "service", id: "s1" }} envVar={envVar} taken={new Set(["PORT"])} onDone={() => {}} />
    </QueryClientProvider>,
  );

describe("EnvKeyRename", () => {
  it("starts from the current key, with stage and cancel, and no error while the key is unchanged", () => {
    const html = render();
    expect(html).toContain('aria-label="Rename DB_PASS"');
    expect(html).toMatch(/<input[^>]*aria-label="New key for DB_PASS"[^>]*value="DB_PASS"/);
    expect(html).toContain('aria-label="Stage rename"');
    expect(html).toContain('aria-label="Cancel rename"');
    expect(html).not.toContain('role="alert"');
  });
});
