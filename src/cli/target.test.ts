import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { CliError, EXIT_AUTH, EXIT_FAILURE, EXIT_NOT_FOUND, EXIT_USAGE, exitCodeOf, usage } from "./context.ts";
import { describeChange } from "./deploy.ts";
import { pick } from "./target.ts";

const items = [
  { id: "p1", name: "Shop" },
  { id: "p2", name: "shop" },
  { id: "p3", name: "Blog" },
];

describe("pick", () => {
  it.each([
    ["p3", "p3"],
    ["Shop", "p1"],
    ["shop", "p2"],
    ["BLOG", "p3"],
  ])("%s → %s", (wanted, id) => {
    expect(pick(items, wanted, "project").id).toBe(id);
  });

  it("an ambiguous name is a usage error listing the ids; an unknown one is not found", () => {
    expect(() => pick(items, "SHOP", "project")).toThrow(
      expect.objectContaining({ exitCode: EXIT_USAGE, message: expect.stringContaining("p1, p2") }),
    );
    expect(() => pick(items, "nope", "project")).toThrow(expect.objectContaining({ exitCode: EXIT_NOT_FOUND }));
  });
});

describe("exit codes", () => {
  it.each([
    [new deploykit.DeployKitError(deploykit.EUNAUTHORIZED, "x"), EXIT_AUTH],
    [new deploykit.DeployKitError(deploykit.EFORBIDDEN, "x"), EXIT_AUTH],
    [new deploykit.DeployKitError(deploykit.ENOTFOUND, "x"), EXIT_NOT_FOUND],
    [new deploykit.DeployKitError(deploykit.EINVALID, "x"), EXIT_FAILURE],
    [usage("x"), EXIT_USAGE],
    [new CliError("x"), EXIT_FAILURE],
    [new Error("x"), EXIT_FAILURE],
  ])("%s → %i", (err, code) => {
    expect(exitCodeOf(err)).toBe(code);
  });
});

describe("describeChange", () => {
  const base = { id: "c", project_id: "p", seq: 1, created_at: "" };
  const names = new Map([["s1", "web"]]);
  it("names the change and its target, never a value", () => {
    const line = describeChange(
      {
        ...base,
        op: "env_var.create",
        target_type: "env_var",
        target_id: "s1",
        payload: { scope: "service", key: "TOKEN", value: "s3cret" },
      },
      names,
    );
    expect(line).toBe("+ env_var.create   TOKEN (service variable) on web");
    const upd = describeChange(
      { ...base, op: "service.update", target_type: "service", target_id: "s1", payload: { image: "x", replicas: 2 } },
      names,
    );
    expect(upd).toBe("~ service.update   web: image, replicas");
  });
});
