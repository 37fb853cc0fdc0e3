import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { LOG_FORMATS, type LogFormat } from "./logfmt.ts";

export const VERSION = "0.1.0";

export interface Config {
  addr: string;
  db: string;
  /** Where `db` came from, for messages that must say which file was meant. */
  dbFrom: "-db" | "DEPLOYKIT_DB" | "-data-dir" | "default";
  dataDir: string;
  logLevel: "trace" | "debug" | "info" | "warn" | "error";
  corsOrigin: string;
  reconcileIntervalMs: number;
  /** How long every replica of a new deployment must run unrestarted before it is promoted. */
  stableWindowMs: number;
  /** Refuse connections from workload networks to the daemon's port (iptables rules of its own). */
  isolate: boolean;
  /** Absolute session lifetime: refreshes never extend a session past it. */
  sessionMaxAgeMs: number;
  /** Client addresses from X-Forwarded-For (rate limits): off, N trusted hops, or trusted proxy CIDRs. */
  trustProxy: TrustProxy;
  spaDir: string | null;
  /** auto: text lines when stdout is a terminal (and CI is unset), JSON lines otherwise. */
  logFormat: LogFormat;
  /** Canvas WebSocket ping period; a client that misses two pongs is disconnected. */
  wsPingIntervalMs: number;
  /** The Caddy proxy (issue 12): public HTTPS for services' domains. */
  proxy: ProxyConfig;
  /** Largest upload (gzip tarball) a deployment may be built from, in bytes (issue 13). */
  uploadMaxBytes: number;
  /** How often the metrics collector samples every running container (issue 15). */
  metricsIntervalMs: number;
  /** Serve GET /metrics (Prometheus text format, API key required). */
  metricsEndpoint: boolean;
}

export interface ProxyConfig {
  enabled: boolean;
  image: string;
  /** Published HTTP/HTTPS addresses (host "" = every interface, port 0 = any free port). */
  httpAddr: string;
  httpsAddr: string;
  /** The proxy container's name. */
  container: string;
}

export const HELP = `deploykitd — self-hosted platform-as-a-service daemon

Usage:
  deploykitd [flags]
  deploykitd backup <file>    verified copy of the database (mode 0600), safe while the daemon runs;
                              finds the database like the daemon and refuses if it does not exist;
                              the secret key is copied next to it as <file>.key (0600): keep both
  deploykitd restore <file>   replace the database with a backup (the daemon must be stopped); keeps the
                              replaced one as <db>.<time>.before-restore and migrates an older backup forward;
                              installs <file>.key as the secret key when the backup was sealed with it
  deploykitd rotate-key       re-encrypt every variable value under a new <data-dir>/secret.key (the daemon
                              must be stopped); with DEPLOYKIT_SECRET_KEY set, the new key is read from
                              DEPLOYKIT_NEW_SECRET_KEY
  deploykitd install-service [-dry-run]
                              as root: create the deploykit user (docker group), /etc/deploykit/deploykit.env
                              and the systemd unit deploykit.service (data in /var/lib/deploykit or -data-dir);
                              -dry-run prints them and changes nothing
  deploykitd reset-password <email>
                              set a new random password for a user and print it once (ends their
                              sessions and API keys); for a locked-out admin, run on the host

Flags (Go style: -flag value or -flag=value; each also read from the environment):
  -addr string                 listen address (DEPLOYKIT_ADDR)               default ":8080"
  -db string                   SQLite database file (DEPLOYKIT_DB)            default "<data-dir>/deploykit.db" when -data-dir is set, else "deploykit.db"
  -data-dir string             data directory: database, lock file, secret.key (DEPLOYKIT_DATA_DIR) default: directory of -db
  -log-level string            trace|debug|info|warn|error (DEPLOYKIT_LOG_LEVEL) default "info"
  -cors-origin string          other origin(s) allowed to call the API, comma separated, or "*" (DEPLOYKIT_CORS_ORIGIN)
                               default: none (same origin only)
  -reconcile-interval duration periodic resync, e.g. 30s, 2m (DEPLOYKIT_RECONCILE_INTERVAL) default "30s"
  -stable-window duration      how long a new deployment's containers must run unrestarted before it is
                               promoted and the old one stopped (DEPLOYKIT_STABLE_WINDOW) default "10s"
  -isolate bool                refuse connections from service containers to the daemon's port on every host
                               address, with iptables rules of its own (DEPLOYKIT_ISOLATE) default true
  -session-max-age duration    sign-in lifetime no refresh extends (DEPLOYKIT_SESSION_MAX_AGE) default "720h" (30 days)
  -trust-proxy[=hops|CIDRs]    take client addresses (rate limits) from X-Forwarded-For, trusting only the
                               last hop (bare flag), the last N hops, or proxies in a comma-separated list
                               of addresses/CIDRs, e.g. -trust-proxy=10.0.0.0/8,127.0.0.1 (DEPLOYKIT_TRUST_PROXY)
  -spa-dir string              directory of the built SPA (DEPLOYKIT_SPA_DIR)  default: next to the server
  -log-format string           auto|json|text; auto is text on a terminal, JSON otherwise (DEPLOYKIT_LOG_FORMAT) default "auto"
  -ws-ping-interval duration   canvas WebSocket ping period; two missed pongs disconnect (DEPLOYKIT_WS_PING_INTERVAL) default "30s"
  -proxy[=false]               run the Caddy proxy that serves services' domains over HTTPS (DEPLOYKIT_PROXY) default true;
                               -proxy=false leaves domains unrouted (published TCP ports still work)
  -proxy-image string          the proxy's image (DEPLOYKIT_PROXY_IMAGE)      default "caddy:2"
  -proxy-http-addr string      address the proxy publishes for HTTP (redirects, ACME) (DEPLOYKIT_PROXY_HTTP_ADDR) default ":80"
  -proxy-https-addr string     address the proxy publishes for HTTPS (DEPLOYKIT_PROXY_HTTPS_ADDR) default ":443"
  -proxy-container string      the proxy container's name (DEPLOYKIT_PROXY_CONTAINER) default "deploykit-proxy"
  -upload-max-mb int           largest upload (gzip tarball) a deployment is built from (DEPLOYKIT_UPLOAD_MAX_MB) default 200
  -metrics-interval duration   how often every running service container is sampled for the Metrics tab and
                               /metrics (DEPLOYKIT_METRICS_INTERVAL) default "10s" (1s to 5m)
  -metrics-endpoint[=false]    serve GET /metrics in Prometheus text format to callers with an API key
                               (DEPLOYKIT_METRICS_ENDPOINT) default true
  -version                     print the version and exit
  -help                        print this help and exit

Environment only:
  DEPLOYKIT_SECRET_KEY         the key variable values are encrypted with (32 bytes as base64 or 64 hex
                               digits) instead of <data-dir>/secret.key, which is created (0600) at first start
`;

const LEVELS = ["trace", "debug", "info", "warn", "error"] as const;

/** Parses Go-style durations: "30s", "1m30s", "500ms", "2h". */
export function parseDuration(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * (units[m[2] as string] as number);
    consumed += m[0].length;
  }
  if (consumed !== s.length || s.length === 0) throw new Error(`invalid duration "${s}" (use e.g. 30s, 2m, 500ms)`);
  return total;
}

export type ParsedArgs =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "serve"; config: Config }
  | { kind: "backup"; config: Config; file: string }
  | { kind: "restore"; config: Config; file: string }
  | { kind: "rotate-key"; config: Config }
  | { kind: "install-service"; dataDir: string; addr: string; logLevel: string; dryRun: boolean }
  | { kind: "reset-password"; config: Config; email: string };

/** Go-style single-dash long flags (`-addr :80`) are accepted alongside `--addr`. */
function normalizeArgv(argv: string[]): string[] {
  return argv
    .map((a) => (/^-[a-z][a-z-]+(=.*)?$/.test(a) ? `-${a}` : a))
    .map((a) =>
      a
        .replace(/^--trust-proxy=/, "--trust-proxy-value=")
        .replace(/^--proxy=/, "--proxy-value=")
        .replace(/^--metrics-endpoint=/, "--metrics-endpoint-value="),
    );
}

/** Go-style boolean values: true/false, 1/0, yes/no. */
export function parseBool(flag: string, v: string): boolean {
  const s = v.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(s)) return true;
  if (["0", "false", "no", "off"].includes(s)) return false;
  throw new Error(`invalid ${flag} "${v}" (want true or false)`);
}

/** Off, the number of proxy hops to trust, or the addresses/CIDRs of trusted proxies. */
export type TrustProxy = false | number | string;

/**
 * `-trust-proxy` values: "" / "0" / "false" → off; "true" or a bare flag → the last hop only (never
 * every hop: the left end of X-Forwarded-For is whatever the client wrote); "N" → N hops; otherwise a
 * comma-separated list of IP addresses or CIDRs.
 */
export function parseTrustProxy(v: string): TrustProxy {
  const s = v.trim().toLowerCase();
  if (s === "" || s === "0" || s === "false") return false;
  if (s === "true") return 1;
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n > 32) throw new Error(`invalid -trust-proxy "${v}" (at most 32 hops)`);
    return n;
  }
  const list = s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");
  for (const x of list) {
    const [addr, bits, extra] = x.split("/");
    const family = isIP(addr ?? "");
    const maxBits = family === 4 ? 32 : 128;
    if (family === 0 || extra !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= maxBits)))
      throw new Error(`invalid -trust-proxy "${v}" (want a hop count or addresses/CIDRs, e.g. 10.0.0.0/8,127.0.0.1)`);
  }
  return list.join(",");
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): ParsedArgs {
  const { values, positionals } = parseArgs({
    args: normalizeArgv(argv),
    allowPositionals: true,
    strict: true,
    options: {
      addr: { type: "string" },
      db: { type: "string" },
      "data-dir": { type: "string" },
      "log-level": { type: "string" },
      "cors-origin": { type: "string" },
      "reconcile-interval": { type: "string" },
      "stable-window": { type: "string" },
      isolate: { type: "string" },
      "session-max-age": { type: "string" },
      "trust-proxy": { type: "boolean" },
      "trust-proxy-value": { type: "string" },
      "spa-dir": { type: "string" },
      "log-format": { type: "string" },
      "ws-ping-interval": { type: "string" },
      proxy: { type: "boolean" },
      "proxy-value": { type: "string" },
      "proxy-image": { type: "string" },
      "proxy-http-addr": { type: "string" },
      "proxy-https-addr": { type: "string" },
      "proxy-container": { type: "string" },
      "upload-max-mb": { type: "string" },
      "metrics-interval": { type: "string" },
      "metrics-endpoint": { type: "boolean" },
      "metrics-endpoint-value": { type: "string" },
      version: { type: "boolean" },
      "dry-run": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  if (values["dry-run"] && positionals[0] !== "install-service") throw new Error("-dry-run applies to install-service only");
  const explicitDataDir = values["data-dir"] ?? env.DEPLOYKIT_DATA_DIR;
  // With only a data dir, the database lives in it (what install-service and the Dockerfile rely on).
  const db = values.db ?? env.DEPLOYKIT_DB ?? (explicitDataDir ? join(explicitDataDir, "deploykit.db") : "deploykit.db");
  const logLevel = values["log-level"] ?? env.DEPLOYKIT_LOG_LEVEL ?? "info";
  if (!(LEVELS as readonly string[]).includes(logLevel)) throw new Error(`invalid -log-level "${logLevel}" (want ${LEVELS.join("|")})`);
  const logFormat = values["log-format"] ?? env.DEPLOYKIT_LOG_FORMAT ?? "auto";
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat))
    throw new Error(`invalid -log-format "${logFormat}" (want ${LOG_FORMATS.join("|")})`);
  const wsPing = parseDuration(values["ws-ping-interval"] ?? env.DEPLOYKIT_WS_PING_INTERVAL ?? "30s");
  if (wsPing < 1000) throw new Error("-ws-ping-interval must be at least 1s");
  const interval = parseDuration(values["reconcile-interval"] ?? env.DEPLOYKIT_RECONCILE_INTERVAL ?? "30s");
  if (interval < 1000) throw new Error("-reconcile-interval must be at least 1s");
  const stableWindowMs = parseDuration(values["stable-window"] ?? env.DEPLOYKIT_STABLE_WINDOW ?? "10s");
  if (stableWindowMs < 1000 || stableWindowMs > 600_000) throw new Error("-stable-window must be between 1s and 10m");
  const isolateRaw = (values.isolate ?? env.DEPLOYKIT_ISOLATE ?? "true").trim().toLowerCase();
  if (!["true", "false", "1", "0"].includes(isolateRaw))
    throw new Error(`invalid -isolate "${values.isolate ?? env.DEPLOYKIT_ISOLATE}" (want true or false)`);
  const sessionMaxAgeMs = parseDuration(values["session-max-age"] ?? env.DEPLOYKIT_SESSION_MAX_AGE ?? "720h");
  if (sessionMaxAgeMs < 60_000) throw new Error("-session-max-age must be at least 1m");
  const uploadMaxMb = Number(values["upload-max-mb"] ?? env.DEPLOYKIT_UPLOAD_MAX_MB ?? "200");
  if (!Number.isInteger(uploadMaxMb) || uploadMaxMb < 1 || uploadMaxMb > 100_000)
    throw new Error("-upload-max-mb must be a whole number of MB from 1 to 100000");
  const metricsIntervalMs = parseDuration(values["metrics-interval"] ?? env.DEPLOYKIT_METRICS_INTERVAL ?? "10s");
  if (metricsIntervalMs < 1000 || metricsIntervalMs > 300_000) throw new Error("-metrics-interval must be between 1s and 5m");
  const metricsEndpoint = parseBool(
    "-metrics-endpoint",
    values["metrics-endpoint-value"] ?? (values["metrics-endpoint"] ? "true" : (env.DEPLOYKIT_METRICS_ENDPOINT ?? "true")),
  );
  const dataDir = explicitDataDir ?? (db === ":memory:" ? "." : db.includes("/") ? db.slice(0, db.lastIndexOf("/")) || "/" : ".");
  const config: Config = {
    addr: values.addr ?? env.DEPLOYKIT_ADDR ?? ":8080",
    db,
    dbFrom: values.db ? "-db" : env.DEPLOYKIT_DB ? "DEPLOYKIT_DB" : explicitDataDir ? "-data-dir" : "default",
    dataDir,
    logLevel: logLevel as Config["logLevel"],
    corsOrigin: values["cors-origin"] ?? env.DEPLOYKIT_CORS_ORIGIN ?? "",
    reconcileIntervalMs: interval,
    stableWindowMs,
    isolate: isolateRaw === "true" || isolateRaw === "1",
    sessionMaxAgeMs,
    trustProxy: parseTrustProxy(values["trust-proxy-value"] ?? (values["trust-proxy"] ? "1" : (env.DEPLOYKIT_TRUST_PROXY ?? ""))),
    spaDir: values["spa-dir"] ?? env.DEPLOYKIT_SPA_DIR ?? null,
    logFormat: logFormat as LogFormat,
    wsPingIntervalMs: wsPing,
    uploadMaxBytes: uploadMaxMb * 1024 * 1024,
    proxy: {
      enabled: parseBool("-proxy", values["proxy-value"] ?? (values.proxy ? "true" : (env.DEPLOYKIT_PROXY ?? "true"))),
      image: values["proxy-image"] ?? env.DEPLOYKIT_PROXY_IMAGE ?? "caddy:2",
      httpAddr: values["proxy-http-addr"] ?? env.DEPLOYKIT_PROXY_HTTP_ADDR ?? ":80",
      httpsAddr: values["proxy-https-addr"] ?? env.DEPLOYKIT_PROXY_HTTPS_ADDR ?? ":443",
      container: values["proxy-container"] ?? env.DEPLOYKIT_PROXY_CONTAINER ?? "deploykit-proxy",
    },
    metricsIntervalMs,
    metricsEndpoint,
  };
  if (config.proxy.image.trim() === "" || /\s/.test(config.proxy.image)) throw new Error(`invalid -proxy-image "${config.proxy.image}"`);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(config.proxy.container))
    throw new Error(`invalid -proxy-container "${config.proxy.container}"`);
  for (const [flag, addr] of [
    ["-proxy-http-addr", config.proxy.httpAddr],
    ["-proxy-https-addr", config.proxy.httpsAddr],
  ] as const) {
    try {
      splitAddr(addr);
    } catch {
      throw new Error(`invalid ${flag} "${addr}" (want host:port or :port)`);
    }
  }
  if (positionals[0] === "backup") {
    const file = positionals[1];
    if (!file || positionals.length > 2) throw new Error("usage: deploykitd backup <file>");
    return { kind: "backup", config, file };
  }
  if (positionals[0] === "restore") {
    const file = positionals[1];
    if (!file || positionals.length > 2) throw new Error("usage: deploykitd restore <file>");
    return { kind: "restore", config, file };
  }
  if (positionals[0] === "rotate-key") {
    if (positionals.length > 1) throw new Error("usage: deploykitd rotate-key");
    return { kind: "rotate-key", config };
  }
  if (positionals[0] === "install-service") {
    if (positionals.length > 1) throw new Error("usage: deploykitd install-service [-dry-run]");
    return {
      kind: "install-service",
      // A service keeps its data under /var/lib, not in whatever directory install-service ran from.
      dataDir: explicitDataDir ? resolve(explicitDataDir) : "/var/lib/deploykit",
      addr: config.addr,
      logLevel: config.logLevel,
      dryRun: values["dry-run"] ?? false,
    };
  }
  if (positionals[0] === "reset-password") {
    const email = positionals[1];
    if (!email || positionals.length > 2) throw new Error("usage: deploykitd reset-password <email>");
    return { kind: "reset-password", config, email };
  }
  if (positionals.length > 0) throw new Error(`unknown command "${positionals[0]}"`);
  return { kind: "serve", config };
}

/** Splits ":8080" / "127.0.0.1:8080" / "[::1]:8080" into host and port for Node's listen(). */
export function splitAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new Error(`invalid -addr "${addr}" (want host:port or :port)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in -addr "${addr}"`);
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}
