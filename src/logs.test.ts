import { describe, expect, it } from "vitest";
import { EINVALID } from "./errors.ts";
import { parseLogSince } from "./logs.ts";

describe("parseLogSince", () => {
  const now = new Date("2026-01-02T03:04:05.000Z");
  it.each([
    ["90s", now.getTime() - 90_000],
    ["10m", now.getTime() - 600_000],
    ["2h", now.getTime() - 7_200_000],
    ["1d", now.getTime() - 86_400_000],
    ["2026-01-01T00:00:00Z", Date.parse("2026-01-01T00:00:00Z")],
    ["2026-01-01T00:00:00.123456789Z", Date.parse("2026-01-01T00:00:00.123Z")],
  ])("%s", (raw, want) => {
    expect(parseLogSince(raw, now)).toBe(want);
  });

  it("is null when absent", () => {
    expect(parseLogSince(undefined, now)).toBeNull();
    expect(parseLogSince("", now)).toBeNull();
  });

  it.each(["10", "10y", "-5m", "yesterday", "2026-13-45T99:00:00Z"])("refuses %s with EINVALID on since", (raw) => {
    expect(() => parseLogSince(raw, now)).toThrow(expect.objectContaining({ code: EINVALID, fields: { since: [expect.any(String)] } }));
  });
});
