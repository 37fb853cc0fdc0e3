import { describe, expect, it } from "vitest";
import type { ReferenceCatalog } from "../../../../../src/envvar.ts";
import { applySuggestion, referencedBy, suggestAt } from "./autocomplete.ts";

const catalog: ReferenceCatalog = {
  services: [
    {
      name: "db",
      variables: [
        { key: "HOST", value: "db", builtin: true },
        { key: "PASSWORD", masked: true },
        { key: "USER", value: "app" },
      ],
    },
    { name: "web", variables: [{ key: "HOST", value: "web", builtin: true }] },
  ],
  shared: [{ key: "REGION", value: "eu" }],
  uses: [
    { owner: "web", key: "URL", target: "db", target_key: "USER", reference: "${{db.USER}}" },
    { owner: "db", key: "X", target: "db", target_key: "USER", reference: "${{USER}}" },
  ],
};

describe("suggestAt", () => {
  it.each([
    ["outside a reference", "plain", null],
    ["closed reference", "${{db.HOST}} ", null],
    ["escaped", "$${{", null],
    ["services after ${{", "x${{", ["db", "web", "shared"]],
    ["services filtered", "${{w", ["web"]],
    ["variables after name.", "${{db.", ["HOST", "PASSWORD", "USER"]],
    ["variables filtered", "${{db.U", ["USER"]],
    ["shared", "${{shared.", ["REGION"]],
    ["unknown service", "${{nope.", []],
  ])("%s", (_n, text, want) => {
    const r = suggestAt(text, text.length, catalog);
    expect(r === null ? null : r.items.map((s) => s.label)).toEqual(want);
  });

  it("previews resolved values and masks masked ones", () => {
    const r = suggestAt("${{db.", 6, catalog);
    expect(r?.items.find((s) => s.label === "USER")).toMatchObject({ preview: "app" });
    expect(r?.items.find((s) => s.label === "PASSWORD")).toEqual({ label: "PASSWORD", insert: "db.PASSWORD}}", masked: true });
  });
});

describe("applySuggestion", () => {
  it("completes a service then a variable", () => {
    const s1 = suggestAt("a${{d", 5, catalog)?.items[0];
    const a = applySuggestion("a${{d", 5, 4, s1!);
    expect(a).toEqual({ text: "a${{db.", caret: 7 });
    const r = suggestAt(a.text, a.caret, catalog);
    const b = applySuggestion(`${a.text}}}`, a.caret, r!.from, r!.items.find((s) => s.label === "USER")!);
    expect(b).toEqual({ text: "a${{db.USER}}", caret: 13 });
  });
});

describe("referencedBy", () => {
  it("lists other owners' references", () => {
    expect(referencedBy(catalog, "db", "USER")).toEqual(["web.URL"]);
    expect(referencedBy(catalog, "db", "HOST")).toEqual([]);
  });
});
