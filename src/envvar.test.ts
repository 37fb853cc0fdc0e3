import { describe, expect, it } from "vitest";
import type { ServiceEndpoint } from "./envvar.ts";
import { referencedServices, resolveEnv, resolveReferences, rewriteReferences, validateEnvVarInput } from "./envvar.ts";
import { EINVALID } from "./errors.ts";

const services = new Map<string, ServiceEndpoint>([
  ["db", { host: "db", port: 5432 }],
  ["cache", { host: "cache" }],
  ["api-v2", { host: "api-v2", port: 8080 }],
]);

describe("resolveReferences", () => {
  it.each([
    ["no refs", "plain", "plain", []],
    ["host", "${{db.HOST}}", "db", ["db"]],
    ["port", "${{db.PORT}}", "5432", ["db"]],
    ["embedded", "postgres://u:p@${{db.HOST}}:${{db.PORT}}/app", "postgres://u:p@db:5432/app", ["db"]],
    ["multiple", "${{db.HOST}},${{cache.HOST}}", "db,cache", ["db", "cache"]],
    ["duplicates collapse", "${{db.HOST}}/${{db.HOST}}", "db/db", ["db"]],
    ["unknown stays literal", "${{nope.HOST}}", "${{nope.HOST}}", ["nope"]],
    ["port of a service without ports stays literal", "${{cache.PORT}}", "${{cache.PORT}}", ["cache"]],
    ["shell style untouched", "${PATH}:${{db.HOST}}", "${PATH}:db", ["db"]],
    ["whitespace inside braces", "${{  db.HOST  }}", "db", ["db"]],
    ["hyphenated names", "${{api-v2.HOST}}:${{api-v2.PORT}}", "api-v2:8080", ["api-v2"]],
    ["other fields are not references", "${{db.USER}}", "${{db.USER}}", []],
    ["case-sensitive names", "${{DB.HOST}}", "${{DB.HOST}}", ["DB"]],
  ])("%s", (_name, input, want, refs) => {
    const r = resolveReferences(input, services);
    expect(r.value).toBe(want);
    expect(r.refs).toEqual(refs);
  });
});

describe("resolveEnv", () => {
  it("overlays project < group < service and resolves every merged value", () => {
    const project = { A: "project", B: "project", URL: "http://${{db.HOST}}" };
    const group = { B: "group", C: "group" };
    const service = { C: "service", D: "${{cache.HOST}}" };
    const r = resolveEnv([project, group, service], services);
    expect(r.env).toEqual({ A: "project", B: "group", C: "service", D: "cache", URL: "http://db" });
    expect(r.refs).toEqual({ D: ["cache"], URL: ["db"] });
  });
  it("is safe against prototype keys", () => {
    const r = resolveEnv([{ ["__proto__"]: "x", constructor: "y" } as Record<string, string>], services);
    expect(Object.keys(r.env).sort()).toEqual(["__proto__", "constructor"]);
    expect(r.env.__proto__).toBe("x");
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe("referencedServices", () => {
  it("groups keys by referenced name, sorted", () => {
    expect(referencedServices({ Z: ["db"], A: ["db", "cache"] })).toEqual(
      new Map([
        ["db", ["A", "Z"]],
        ["cache", ["A"]],
      ]),
    );
  });
});

describe("rewriteReferences", () => {
  it.each([
    ["${{old.HOST}}", "${{new.HOST}}"],
    ["${{ old.HOST }}:${{old.PORT}}", "${{new.HOST}}:${{new.PORT}}"],
    ["${{older.HOST}}", "${{older.HOST}}"],
    ["old.HOST", "old.HOST"],
  ])("%s → %s", (input, want) => {
    expect(rewriteReferences(input, "old", "new")).toBe(want);
  });
});

describe("validateEnvVarInput", () => {
  it.each([
    [{ key: "GOOD_KEY", value: "" }, null],
    [{ key: "_x1", value: "v" }, null],
    [{ key: "", value: "v" }, { key: ["Key is required."] }],
    [{ key: "1ABC", value: "v" }, { key: ["Key must contain only letters, digits and underscores, and cannot start with a digit."] }],
    [{ key: "A-B", value: "v" }, { key: ["Key must contain only letters, digits and underscores, and cannot start with a digit."] }],
    [{ key: "A", value: undefined }, { value: ["value is required."] }],
    [{ key: "A", value: "a\u0000b" }, { value: ["Value cannot contain NUL characters."] }],
    [{ key: "K".repeat(300), value: "v" }, { key: ["Key is too long (max 256 characters)."] }],
  ])("%j", (input, fields) => {
    if (fields === null) expect(() => validateEnvVarInput(input)).not.toThrow();
    else expect(() => validateEnvVarInput(input)).toThrow(expect.objectContaining({ code: EINVALID, fields }));
  });
});
