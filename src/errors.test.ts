import { describe, expect, it } from "vitest";
import {
  DeployKitError,
  ECONFLICT,
  EINTERNAL,
  EINVALID,
  ENOTFOUND,
  ERATELIMIT,
  errorCode,
  errorf,
  errorMessage,
  FieldErrorCollector,
  fieldError,
} from "./errors.ts";

describe("errorCode / errorMessage", () => {
  it.each([
    [errorf(ENOTFOUND, "Project not found."), ENOTFOUND, "Project not found."],
    [errorf(ECONFLICT, "Taken."), ECONFLICT, "Taken."],
    [new Error("disk I/O error at /var/lib/secret"), EINTERNAL, "Internal error."],
    ["a string", EINTERNAL, "Internal error."],
    [null, EINTERNAL, "Internal error."],
    [undefined, EINTERNAL, "Internal error."],
  ])("%o → %s / %s", (err, code, message) => {
    expect(errorCode(err)).toBe(code);
    expect(errorMessage(err)).toBe(message);
  });
});

describe("fieldError", () => {
  it("carries fields and the standard message", () => {
    const err = fieldError({ email: ["Email is required."] });
    expect(err).toBeInstanceOf(DeployKitError);
    expect(err.code).toBe(EINVALID);
    expect(err.message).toBe("Validation failed.");
    expect(err.fields).toEqual({ email: ["Email is required."] });
  });
});

describe("FieldErrorCollector", () => {
  it("collects several messages per field and throws them together", () => {
    const v = new FieldErrorCollector();
    expect(v.any).toBe(false);
    v.throwIfAny();
    v.add("a", "one");
    v.add("a", "two");
    v.add("b", "three");
    expect(() => v.throwIfAny()).toThrow(expect.objectContaining({ code: EINVALID, fields: { a: ["one", "two"], b: ["three"] } }));
  });
});

describe("rate limit errors", () => {
  it("carry retryAfterSeconds", () => {
    const err = new DeployKitError(ERATELIMIT, "Too many login attempts. Try again later.", { retryAfterSeconds: 60 });
    expect(err.retryAfterSeconds).toBe(60);
  });
});
