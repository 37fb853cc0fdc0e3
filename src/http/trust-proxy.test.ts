import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startServer } from "../../test/http/harness.ts";
import * as deploykit from "../index.ts";
import * as mock from "../mock/index.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Wrong passwords, each claiming a fresh client address at the left end of X-Forwarded-For. */
async function spoofedFailures(trustProxy: boolean | number | string, n: number): Promise<number[]> {
  h = await startServer({
    trustProxy,
    auth: mock.AuthService({
      login: async () => {
        throw deploykit.errorf(deploykit.EUNAUTHORIZED, "Invalid email or password.");
      },
    }),
  });
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${h.url}/api/auth/login`, {
      method: "POST",
      // What the proxy in front appends (the real peer) is the last entry; the rest is the client's to write.
      headers: { "content-type": "application/json", "x-forwarded-for": `10.9.${i >> 8}.${i & 255}, 203.0.113.9` },
      body: JSON.stringify({ email: "ada@example.com", password: "wrong-password" }),
    });
    statuses.push(r.status);
  }
  return statuses;
}

describe("-trust-proxy", () => {
  it.each([
    ["one hop", 1],
    ["the proxy's address", "127.0.0.1"],
    ["the proxy's CIDR", "127.0.0.0/8,::1"],
  ] as const)("trusting %s takes the address the proxy saw, so spoofed entries do not dodge the limit", async (_n, trust) => {
    const statuses = await spoofedFailures(trust, 6);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it("trusting every hop (what -trust-proxy did before) lets each spoofed entry count as a new client", async () => {
    expect(await spoofedFailures(true, 6)).toEqual([401, 401, 401, 401, 401, 401]);
  });
});
