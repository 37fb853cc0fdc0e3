import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parsePushBody, verifyWebhook } from "./webhook-verify.ts";

const secret = "s3cret";
const body = Buffer.from('{"ref":"refs/heads/main","after":"abc1234"}');
const hmac = createHmac("sha256", secret).update(body).digest("hex");

describe("verifyWebhook", () => {
  it.each([
    [{ "x-hub-signature-256": `sha256=${hmac}` }, "github"],
    [{ "x-gitea-signature": hmac }, "gitea"],
    [{ "x-gitlab-token": secret }, "gitlab"],
  ])("accepts %o", (headers, provider) => {
    expect(verifyWebhook(headers, body, secret)).toEqual({ ok: true, provider });
  });
  it.each([{}, { "x-hub-signature-256": "sha256=00" }, { "x-gitea-signature": hmac.slice(1) }, { "x-gitlab-token": "nope" }])(
    "refuses %o",
    (headers) => {
      expect(verifyWebhook(headers, body, secret).ok).toBe(false);
    },
  );
  it("parses a push", () => {
    expect(parsePushBody(body)).toEqual({ ref: "refs/heads/main", after: "abc1234" });
    expect(() => parsePushBody(Buffer.from("nope"))).toThrow("not JSON");
  });
});
