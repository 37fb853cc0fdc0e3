import { describe, expect, it } from "vitest";
import { generateSlug, SLUG_PATTERN, slugBase } from "./slug.ts";

describe("slugBase", () => {
  it.each([
    ["My Project", "my-project"],
    ["  --Hello,  World!!--  ", "hello-world"],
    ["Café Crème", "cafe-creme"],
    ["日本語", "project"],
    ["", "project"],
    ["a.b_c/d", "a-b-c-d"],
    ["x".repeat(60), "x".repeat(40)],
    [`${"a".repeat(39)} b`, "a".repeat(39)],
    ["$(rm -rf /); `id`", "rm-rf-id"],
  ])("%j → %j", (name, want) => {
    expect(slugBase(name)).toBe(want);
  });
});

describe("generateSlug", () => {
  it("appends six hex characters and stays DNS-safe", () => {
    const slug = generateSlug("My Project", "a1b2c3");
    expect(slug).toBe("my-project-a1b2c3");
    expect(slug).toMatch(SLUG_PATTERN);
  });
  it("is at most 47 characters", () => {
    expect(generateSlug("y".repeat(100), "ffffff")).toHaveLength(47);
  });
  it.each(["Ünïcödé", "🚀 rocket", "UPPER lower", "--"])("output of %j matches the slug pattern", (name) => {
    expect(generateSlug(name, "0a0b0c")).toMatch(SLUG_PATTERN);
  });
  it("sanitizes the random part", () => {
    expect(generateSlug("p", "ZZ")).toBe("p-000000");
  });
});
