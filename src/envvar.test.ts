import { describe, expect, it } from "vitest";
import { referencedServices, rewriteReferences, validateEnvVarInput } from "./envvar.ts";
import { EINVALID } from "./errors.ts";

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
    ["${{old.PASSWORD}} $${{old.HOST}}", "${{new.PASSWORD}} $${{old.HOST}}"],
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
