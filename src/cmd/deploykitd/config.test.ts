import { describe, expect, it } from "vitest";
import { parseConfig, parseTrustProxy } from "./config.ts";

const serve = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const p = parseConfig(argv, env);
  if (p.kind !== "serve") throw new Error(p.kind);
  return p.config;
};

describe("-trust-proxy", () => {
  it.each([
    [[], {}, false],
    [["-trust-proxy"], {}, 1],
    [["-trust-proxy=2"], {}, 2],
    [["--trust-proxy=10.0.0.0/8, 127.0.0.1"], {}, "10.0.0.0/8,127.0.0.1"],
    [[], { DEPLOYKIT_TRUST_PROXY: "true" }, 1],
    [[], { DEPLOYKIT_TRUST_PROXY: "3" }, 3],
    [[], { DEPLOYKIT_TRUST_PROXY: "fd00::/8" }, "fd00::/8"],
    [[], { DEPLOYKIT_TRUST_PROXY: "0" }, false],
  ] as const)("%j %j → %j", (argv, env, want) => {
    expect(serve([...argv], env).trustProxy).toEqual(want);
  });

  it.each(["10.0.0.0/33", "example.com", "1.2.3.4/8/1", "99"])("refuses %j", (v) => {
    expect(() => parseTrustProxy(v)).toThrow(/invalid -trust-proxy/);
  });
});

describe("defaults", () => {
  it("CORS is same-origin only and sessions last at most 30 days", () => {
    const c = serve([]);
    expect(c.corsOrigin).toBe("");
    expect(c.sessionMaxAgeMs).toBe(30 * 24 * 3600 * 1000);
  });
});
