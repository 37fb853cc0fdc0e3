import { describe, expect, it } from "vitest";
import { EINVALID } from "./errors.ts";
import { PENDING_OPS } from "./pending-change.ts";
import { isPureReparent, PENDING_OP_TARGETS, parentOrNull, pickPayload, validatePendingShape } from "./pending-rules.ts";

describe("the staged-change log's pure rules", () => {
  it("names a target type for every op", () => {
    expect(Object.keys(PENDING_OP_TARGETS).sort()).toEqual([...PENDING_OPS].sort());
  });

  it.each([
    ["a non-object", null, "Pending change must be an object."],
    ["an unknown op", { op: "service.explode", target_type: "service" }, "Unknown pending change op."],
    [
      "a target type that does not match",
      { op: "group.delete", target_type: "service", target_id: "g" },
      "Target type does not match the op.",
    ],
    [
      "a payload that is a list",
      { op: "service.delete", target_type: "service", target_id: "s", payload: [] },
      "Payload must be a JSON object.",
    ],
    ["an empty id", { op: "service.delete", target_type: "service", target_id: "" }, "Target id is invalid."],
    ["a long id", { op: "service.delete", target_type: "service", target_id: "x".repeat(129) }, "Target id is invalid."],
    ["a numeric temp id", { op: "service.create", target_type: "service", target_temp_id: 7 }, "Target id is invalid."],
  ])("refuses %s", (_what, change, message) => {
    expect(() => validatePendingShape(change as never)).toThrow(expect.objectContaining({ code: EINVALID, message }));
  });

  it("accepts a well-formed entry", () => {
    expect(() => validatePendingShape({ op: "group.delete", target_type: "group", target_id: "g1" })).not.toThrow();
  });

  it("tells a pure move between groups from a move with settings", () => {
    expect(isPureReparent({ reparented: true, previous_parent_id: "g1" })).toBe(true);
    expect(isPureReparent({ reparented: true })).toBe(true);
    expect(isPureReparent({ reparented: true, image: "x:1" })).toBe(false);
    expect(isPureReparent({ previous_parent_id: "g1" })).toBe(false);
  });

  it("reads a parent id and picks set keys", () => {
    expect(parentOrNull("g1")).toBe("g1");
    expect(parentOrNull("")).toBeNull();
    expect(parentOrNull(3)).toBeNull();
    expect(pickPayload({ a: 1, b: undefined, c: 3 }, ["a", "b", "d"])).toEqual({ a: 1 });
  });
});
