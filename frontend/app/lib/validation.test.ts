import { describe, expect, it } from "vitest";
import { iconURLError } from "./validation.ts";

describe("iconURLError", () => {
  it.each([
    ["", null],
    ["https://example.com/icon.svg", null],
    ["http://example.com/icon.png", null],
    ["ftp://example.com/icon.png", "Icon URL must use http or https."],
    ["example.com/icon.png", "Icon URL is not a valid URL."],
    [`https://example.com/${"a".repeat(2048)}`, "Icon URL is too long (max 2048 characters)."],
  ])("%s → %s (the domain's rule)", (icon, want) => {
    expect(iconURLError(icon)).toBe(want);
  });
});
