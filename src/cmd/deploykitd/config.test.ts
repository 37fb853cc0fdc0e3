import { describe, expect, it } from "vitest";
import { parseConfig, parseTrustProxy } from "./config.ts";

describe("parseConfig: where the database is", () => {
  it.each([
    { argv: [], env: {}, db: "deploykit.db", dataDir: ".", from: "default" },
    { argv: ["-db", "/x/a.db"], env: {}, db: "/x/a.db", dataDir: "/x", from: "-db" },
    { argv: ["-data-dir", "/srv/dk"], env: {}, db: "/srv/dk/deploykit.db", dataDir: "/srv/dk", from: "-data-dir" },
    { argv: [], env: { DEPLOYKIT_DATA_DIR: "/srv/dk" }, db: "/srv/dk/deploykit.db", dataDir: "/srv/dk", from: "-data-dir" },
    { argv: ["-data-dir", "/srv/dk"], env: { DEPLOYKIT_DB: "/y/b.db" }, db: "/y/b.db", dataDir: "/srv/dk", from: "DEPLOYKIT_DB" },
    { argv: ["-db", "/x/a.db"], env: { DEPLOYKIT_DB: "/y/b.db" }, db: "/x/a.db", dataDir: "/x", from: "-db" },
  ])("$argv with $env → $db in $dataDir", ({ argv, env, db, dataDir, from }) => {
    for (const sub of [[], ["backup", "f"], ["restore", "f"]]) {
      const parsed = parseConfig([...sub, ...argv], env);
      if (parsed.kind !== "serve" && parsed.kind !== "backup" && parsed.kind !== "restore") throw new Error(parsed.kind);
      expect(parsed.config).toMatchObject({ db, dataDir, dbFrom: from });
    }
  });
});

describe("parseConfig: install-service", () => {
  it("defaults the service's data directory to /var/lib/deploykit, not the current directory", () => {
    expect(parseConfig(["install-service"], {})).toEqual({
      kind: "install-service",
      dataDir: "/var/lib/deploykit",
      addr: ":8080",
      logLevel: "info",
      dryRun: false,
    });
    expect(parseConfig(["install-service", "-dry-run", "-data-dir", "/srv/dk", "-addr", ":80"], {})).toMatchObject({
      dataDir: "/srv/dk",
      addr: ":80",
      dryRun: true,
    });
  });

  it.each([
    [["-dry-run"], "-dry-run applies to install-service only"],
    [["backup", "-dry-run", "f"], "-dry-run applies to install-service only"],
    [["install-service", "x"], "usage: deploykitd install-service [-dry-run]"],
    [["restore", "a", "b"], "usage: deploykitd restore <file>"],
    [["frobnicate"], 'unknown command "frobnicate"'],
  ])("refuses %j", (argv, message) => {
    expect(() => parseConfig(argv, {})).toThrow(message);
  });
});

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

  it("promotes after 10 s of stability unless -stable-window says otherwise, within 1s–10m", () => {
    expect(serve([]).stableWindowMs).toBe(10_000);
    expect(serve(["-stable-window", "3s"]).stableWindowMs).toBe(3_000);
    expect(() => serve(["-stable-window", "100ms"])).toThrow(/-stable-window must be between 1s and 10m/);
  });
});

describe("-proxy flags", () => {
  it("defaults to the caddy:2 proxy on :80 and :443 named deploykit-proxy", () => {
    expect(serve([]).proxy).toEqual({ enabled: true, image: "caddy:2", httpAddr: ":80", httpsAddr: ":443", container: "deploykit-proxy" });
  });

  it.each([
    [["-proxy=false"], {}, false],
    [["--proxy=0"], {}, false],
    [["-proxy"], {}, true],
    [[], { DEPLOYKIT_PROXY: "false" }, false],
    [["-proxy=true"], { DEPLOYKIT_PROXY: "false" }, true],
  ] as const)("%j %j → enabled %j", (argv, env, want) => {
    expect(serve([...argv], env).proxy.enabled).toBe(want);
  });

  it("reads the image, addresses and container name from flags or the environment", () => {
    const c = serve(["-proxy-image", "deploykit-test/caddy:1", "-proxy-http-addr", "127.0.0.1:8081", "-proxy-container", "px"], {
      DEPLOYKIT_PROXY_HTTPS_ADDR: "[::1]:8443",
    });
    expect(c.proxy).toEqual({
      enabled: true,
      image: "deploykit-test/caddy:1",
      httpAddr: "127.0.0.1:8081",
      httpsAddr: "[::1]:8443",
      container: "px",
    });
  });

  it.each([
    [["-proxy=maybe"], /invalid -proxy "maybe"/],
    [["-proxy-https-addr", "443"], /invalid -proxy-https-addr/],
    [["-proxy-container", "../x"], /invalid -proxy-container/],
    [["-proxy-image", "a b"], /invalid -proxy-image/],
  ] as const)("refuses %j", (argv, re) => {
    expect(() => parseConfig([...argv], {})).toThrow(re);
  });
});

describe("-metrics flags", () => {
  it("samples every 10 s and serves /metrics unless told otherwise", () => {
    expect(serve([])).toMatchObject({ metricsIntervalMs: 10_000, metricsEndpoint: true });
  });

  it.each([
    [["-metrics-interval", "30s"], {}, { metricsIntervalMs: 30_000 }],
    [[], { DEPLOYKIT_METRICS_INTERVAL: "2s" }, { metricsIntervalMs: 2_000 }],
    [["-metrics-endpoint=false"], {}, { metricsEndpoint: false }],
    [["-metrics-endpoint"], { DEPLOYKIT_METRICS_ENDPOINT: "false" }, { metricsEndpoint: true }],
    [[], { DEPLOYKIT_METRICS_ENDPOINT: "0" }, { metricsEndpoint: false }],
  ] as const)("%j %j → %j", (argv, env, want) => {
    expect(serve([...argv], env)).toMatchObject(want);
  });

  it.each([
    [["-metrics-interval", "500ms"], /-metrics-interval must be between 1s and 5m/],
    [["-metrics-interval", "10m"], /-metrics-interval must be between 1s and 5m/],
    [["-metrics-endpoint=maybe"], /invalid -metrics-endpoint "maybe"/],
  ] as const)("refuses %j", (argv, re) => {
    expect(() => parseConfig([...argv], {})).toThrow(re);
  });
});
