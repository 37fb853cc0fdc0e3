import { describe, expect, it } from "vitest";
import { cronPreview } from "./operations-card.tsx";
import { runDuration } from "./runs-tab.tsx";

describe("cronPreview", () => {
  it("shows the next fire times in UTC and refuses what is not a 5-field schedule", () => {
    const from = new Date("2026-01-01T00:02:30Z");
    expect(cronPreview("*/5 * * * *", 2, from)).toEqual({ next: ["2026-01-01 00:05 UTC", "2026-01-01 00:10 UTC"] });
    expect(cronPreview("", 2, from)).toEqual({ next: [] });
    expect(cronPreview("* * * *", 2, from).error).toContain("Five fields");
    expect(cronPreview("*/10 * * * * *", 2, from).error).toContain("Five fields");
    expect(cronPreview("61 * * * *", 2, from).error).toBeDefined();
  });
});

describe("runDuration", () => {
  it("formats short and long runs, and a running one against now", () => {
    expect(runDuration({ started_at: "2026-01-01T00:00:00Z", finished_at: "2026-01-01T00:00:01.250Z" })).toBe("1.3 s");
    expect(runDuration({ started_at: "2026-01-01T00:00:00Z", finished_at: "2026-01-01T00:03:04Z" })).toBe("3 min 4 s");
    expect(runDuration({ started_at: "2026-01-01T00:00:00Z" }, Date.parse("2026-01-01T00:00:42Z"))).toBe("42 s");
  });
});
