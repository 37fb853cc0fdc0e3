import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import type { PendingChange } from "../../../../../src/pending-change.ts";
import { addPendingChange, optimisticChange, pendingChangesQueryOptions, removePendingChanges } from "./pending-changes.ts";

const real = (id: string, seq: number, key: string): PendingChange => ({
  id,
  project_id: "p",
  seq,
  op: "env_var.create",
  target_type: "env_var",
  target_id: "s1",
  payload: { scope: "service", key, value: "v" },
  created_at: "",
});

describe("pending-changes cache", () => {
  it("replaces the optimistic stand-in whether the broadcast or the response comes first", () => {
    const qc = new QueryClient();
    const key = pendingChangesQueryOptions("p").queryKey;
    const opt = optimisticChange("p", {
      op: "env_var.create",
      target_type: "env_var",
      target_id: "s1",
      payload: { scope: "service", key: "A", value: "v" },
    });
    const other = optimisticChange("p", {
      op: "env_var.create",
      target_type: "env_var",
      target_id: "s1",
      payload: { scope: "service", key: "B", value: "v" },
    });
    addPendingChange(qc, "p", real("c0", 1, "Z"));
    addPendingChange(qc, "p", opt);
    addPendingChange(qc, "p", other);
    addPendingChange(qc, "p", real("c1", 2, "A"));
    expect(qc.getQueryData(key)?.map((c) => c.id)).toEqual(["c0", "c1", other.id]);
    addPendingChange(qc, "p", real("c1", 2, "A"), opt.id);
    expect(qc.getQueryData(key)?.map((c) => c.id)).toEqual(["c0", "c1", other.id]);
    removePendingChanges(qc, "p", [other.id, "c0"]);
    expect(qc.getQueryData(key)?.map((c) => c.id)).toEqual(["c1"]);
  });
});
