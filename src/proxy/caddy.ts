import * as deploykit from "../index.ts";

/** Where the daemon's directory is mounted in the proxy container, and the admin socket in it. */
export const MOUNT = "/deploykit";
export const ADMIN_SOCKET_IN_CONTAINER = `${MOUNT}/admin/admin.sock`;
export const INITIAL_CONFIG_IN_CONTAINER = `${MOUNT}/admin/caddy.json`;
/** A request waits this long for an upstream to answer a dial (a stop-first switch, a restart). */
export const LB_TRY_DURATION = "30s";
export const LB_TRY_INTERVAL = "250ms";

export interface RouteInput {
  hostname: string;
  tls: deploykit.TlsIssuer;
  /** `host:port` dial addresses; empty = the service serves nowhere now (503). */
  upstreams: string[];
}

export interface ConfigInput {
  routes: RouteInput[];
  acmeEmail: string;
  acmeDirectory: string;
  /** PEM files (in the container) the ACME client trusts besides the system roots (tests: Pebble's). */
  acmeTrustedRoots?: string[];
}

/** The admin section every pushed config carries: a /load without it would move the API to TCP :2019. */
export function adminSection(): Record<string, unknown> {
  return {
    listen: `unix/${ADMIN_SOCKET_IN_CONTAINER}`,
    // Requests over the socket carry an empty Host.
    origins: [""],
    config: { persist: true },
  };
}

/** The minimal config the container starts with: the admin socket only, routes come by /load. */
export function initialConfig(): Record<string, unknown> {
  return { admin: adminSection() };
}

/**
 * The whole Caddy JSON config for the routes. No active health checks: a route has one upstream, the
 * service's alias, and Caddy marks it down on one failed probe until the next passes, so a probe that
 * falls into a switch-over takes the whole service off the route while its new container answers
 * (bench/ingress-redeploy.ts: with probes every 10 s, 1,126 502s in 20 stop-first redeploys at
 * 200 req/s; every 2 s, requests held 13 s at the median during start-first ones). Readiness is the
 * reconciler's health check; only ready containers carry the alias. The config: one server on :443 with a route per hostname
 * (automatic HTTPS adds the :80 server that redirects to HTTPS and answers ACME HTTP-01), reverse
 * proxying to every serving replica with retries, and TLS automation per issuer.
 */
export function buildConfig(input: ConfigInput): Record<string, unknown> {
  const routes = [...input.routes].sort((a, b) => a.hostname.localeCompare(b.hostname));
  const caddyRoutes = routes.map((r) => ({
    match: [{ host: [r.hostname] }],
    handle: [
      r.upstreams.length > 0
        ? {
            handler: "reverse_proxy",
            upstreams: [...r.upstreams].sort().map((dial) => ({ dial })),
            load_balancing: {
              selection_policy: { policy: "round_robin" },
              try_duration: LB_TRY_DURATION,
              try_interval: LB_TRY_INTERVAL,
            },
          }
        : {
            handler: "static_response",
            status_code: 503,
            headers: { "Retry-After": ["5"] },
            body: "This service is not running.\n",
          },
    ],
    terminal: true,
  }));
  const internal = routes.filter((r) => r.tls === deploykit.TLS_INTERNAL).map((r) => r.hostname);
  const acme = routes.filter((r) => r.tls === deploykit.TLS_ACME).map((r) => r.hostname);
  const policies: Record<string, unknown>[] = [];
  if (internal.length > 0) policies.push({ subjects: internal, issuers: [{ module: "internal" }] });
  if (acme.length > 0) {
    const issuer: Record<string, unknown> = { module: "acme", ca: input.acmeDirectory };
    if (input.acmeEmail) issuer.email = input.acmeEmail;
    if (input.acmeTrustedRoots && input.acmeTrustedRoots.length > 0) issuer.trusted_roots_pem_files = input.acmeTrustedRoots;
    policies.push({ subjects: acme, issuers: [issuer] });
  }
  const apps: Record<string, unknown> = {
    http: {
      http_port: 80,
      https_port: 443,
      servers: { deploykit: { listen: [":443"], routes: caddyRoutes } },
    },
    // The internal CA is created on demand; its root is what users download.
    pki: { certificate_authorities: { local: { install_trust: false } } },
  };
  if (policies.length > 0) apps.tls = { automation: { policies } };
  return { admin: adminSection(), apps };
}

/** JSON with object keys sorted: Caddy answers GET /config/ with Go's sorted map keys. */
export function canonicalJSON(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** The upstream addresses each hostname's route dials in a config this daemon pushed (adoption). */
export function routesOf(config: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const servers = (config as { apps?: { http?: { servers?: Record<string, { routes?: unknown[] }> } } })?.apps?.http?.servers;
  for (const route of servers?.deploykit?.routes ?? []) {
    const r = route as { match?: { host?: string[] }[]; handle?: { handler?: string; upstreams?: { dial?: string }[] }[] };
    const host = r.match?.[0]?.host?.[0];
    if (!host) continue;
    const h = r.handle?.[0];
    out.set(host, h?.handler === "reverse_proxy" ? (h.upstreams ?? []).map((u) => u.dial ?? "").filter((d) => d !== "") : []);
  }
  return out;
}
