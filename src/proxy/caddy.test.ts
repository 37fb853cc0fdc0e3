import { describe, expect, it } from "vitest";
import { buildConfig, canonicalJSON, initialConfig, routesOf } from "./caddy.ts";

type Route = { match: { host: string[] }[]; handle: Record<string, unknown>[] };
type Cfg = {
  apps: { http: { servers: { deploykit: { listen: string[]; routes: Route[] } } }; tls?: { automation: { policies: unknown[] } } };
};
const cfg = (i: Parameters<typeof buildConfig>[0]) => buildConfig(i) as unknown as Cfg;

const input = {
  routes: [
    { hostname: "shop.example.com", tls: "acme" as const, upstreams: ["172.20.0.3:8080", "172.20.0.2:8080"] },
    { hostname: "app.localhost", tls: "internal" as const, upstreams: [] },
  ],
  acmeEmail: "ops@example.com",
  acmeDirectory: "https://acme-staging-v02.api.letsencrypt.org/directory",
};

describe("caddy config", () => {
  it("keeps the admin API on the unix socket in every config, the initial one too", () => {
    for (const c of [initialConfig(), buildConfig(input), buildConfig({ ...input, routes: [] })])
      expect(c.admin).toEqual({ listen: "unix//deploykit/admin/admin.sock", origins: [""], config: { persist: true } });
  });

  it("routes each hostname to every replica with retries, or 503 while nothing serves", () => {
    const c = cfg(input);
    const server = c.apps.http.servers.deploykit;
    expect(server.listen).toEqual([":443"]);
    expect(server.routes.map((r) => r.match[0]?.host[0])).toEqual(["app.localhost", "shop.example.com"]);
    expect(server.routes[0]?.handle[0]).toMatchObject({ handler: "static_response", status_code: 503 });
    expect(server.routes[1]?.handle[0]).toEqual({
      handler: "reverse_proxy",
      upstreams: [{ dial: "172.20.0.2:8080" }, { dial: "172.20.0.3:8080" }],
      load_balancing: { selection_policy: { policy: "round_robin" }, try_duration: "30s", try_interval: "250ms" },
    });
  });

  it("asks the ACME directory for public names and the internal CA for the rest", () => {
    const c = cfg(input);
    expect(c.apps.tls?.automation.policies).toEqual([
      { subjects: ["app.localhost"], issuers: [{ module: "internal" }] },
      {
        subjects: ["shop.example.com"],
        issuers: [{ module: "acme", ca: input.acmeDirectory, email: "ops@example.com" }],
      },
    ]);
    expect(cfg({ ...input, routes: [] }).apps.tls).toBeUndefined();
  });

  it("reads the upstreams back from a running config, whatever its key order", () => {
    const c = buildConfig(input);
    const roundTrip = JSON.parse(canonicalJSON(c));
    expect(canonicalJSON(roundTrip)).toBe(canonicalJSON(c));
    expect(routesOf(roundTrip)).toEqual(
      new Map([
        ["app.localhost", []],
        ["shop.example.com", ["172.20.0.2:8080", "172.20.0.3:8080"]],
      ]),
    );
    expect(routesOf(null)).toEqual(new Map());
  });
});
