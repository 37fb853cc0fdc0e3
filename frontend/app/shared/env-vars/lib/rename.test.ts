import { describe, expect, it } from "vitest";
import { renameKeyError } from "./rename.ts";

describe("renameKeyError", () => {
  const taken = new Set(["DATABASE_URL", "PORT"]);
  it.each([
    { next: "DB_URL", want: null },
    { next: "API_KEY", want: null },
    { next: "", want: "Key is required." },
    { next: "1ABC", want: "Key must contain only letters, digits and underscores, and cannot start with a digit." },
    { next: "A-B", want: "Key must contain only letters, digits and underscores, and cannot start with a digit." },
    { next: "PORT", want: 'Env var "PORT" already exists.' },
  ])("$next → $want", ({ next, want }) => {
    expect(renameKeyError(next, "API_KEY", taken)).toBe(want);
  });
});
