import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { wrap } from "./errors.ts";

/** The shape docker-modem gives an HTTP error answer. */
function httpError(statusCode: number, message: string) {
  return Object.assign(new Error(`(HTTP code ${statusCode}) server error - ${message} `), { statusCode, json: { message } });
}

describe("wrap", () => {
  // Found by the fault suite (dockerd stopped mid-deploy): a start that failed because containerd was
  // going away was counted as a failed attempt of the deployment instead of "Docker is unreachable".
  it.each([
    "transport is closing: unavailable",
    'connection error: desc = "transport: Error while dialing dial unix /run/containerd.sock: connect: connection refused": unavailable',
  ])("a 5xx caused by the engine's runtime going away is EUNAVAILABLE: %s", (message) => {
    const out = wrap(httpError(500, message), "container start failed");
    expect(deploykit.errorCode(out)).toBe(deploykit.EUNAVAILABLE);
  });

  it("an ordinary 5xx stays EINTERNAL with Docker's message", () => {
    const out = wrap(httpError(500, "driver failed programming external connectivity"), "container start failed");
    expect(deploykit.errorCode(out)).toBe(deploykit.EINTERNAL);
    expect(deploykit.errorMessage(out)).toBe("container start failed: driver failed programming external connectivity");
  });
});
