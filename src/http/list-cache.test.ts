import { describe, expect, it } from "vitest";
import { ListCache } from "./list-cache.ts";

describe("ListCache", () => {
  it("does not store a result read before an invalidation", () => {
    const c = new ListCache({ ttlMs: 1000, now: () => 0 });
    const gen = c.generation("p1");
    c.invalidate("p1");
    c.set("p1", "k", gen, "stale");
    expect(c.get("p1", "k")).toBeUndefined();
    c.set("p1", "k", c.generation("p1"), "fresh");
    expect(c.get("p1", "k")).toBe("fresh");
  });

  it("expires entries, keeps projects apart and bounds its size", () => {
    let now = 0;
    const c = new ListCache({ ttlMs: 100, now: () => now, maxEntries: 3 });
    c.set("p1", "a", 0, "A");
    c.set("p2", "a", 0, "B");
    c.invalidate("p2");
    expect([c.get("p1", "a"), c.get("p2", "a")]).toEqual(["A", undefined]);
    now = 100;
    expect(c.get("p1", "a")).toBeUndefined();
    for (const k of ["1", "2", "3", "4"]) c.set("p3", k, c.generation("p3"), k);
    expect(["1", "2", "3", "4"].filter((k) => c.get("p3", k) !== undefined).length).toBeLessThanOrEqual(3);
  });

  it("stores nothing when disabled", () => {
    const c = new ListCache({ ttlMs: 0, now: () => 0 });
    c.set("p1", "a", 0, "A");
    expect(c.get("p1", "a")).toBeUndefined();
  });
});
