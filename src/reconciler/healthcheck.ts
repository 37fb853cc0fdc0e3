import type * as nodeHTTP from "node:http";
import { createRequire } from "node:module";

// node:http through require: an ESM import reads every export of it, and its WebSocket getter then
// loads fetch's undici with TLS and HTTP/2 (5.4 MB of an idle daemon, docs/benchmarks.md "Memory").
const http = createRequire(import.meta.url)("node:http") as typeof nodeHTTP;

/**
 * The HTTP health check of the readiness gate (issue 12). The daemon itself sends
 * `GET http://<container ip>:<first TCP container port><path>` across the project network (container
 * addresses on a Docker bridge network are reachable from the host), so no image needs curl. A
 * 2xx/3xx answer is healthy; anything else, or no answer within the per-request timeout, is not.
 */

/** How long one probe may take: a slow answer counts as a failure and the gate asks again. */
export const PROBE_REQUEST_TIMEOUT_MS = 2_000;
/** Longest failure detail kept (an odd error message must not bloat the deployment record). */
const MAX_DETAIL = 200;

export interface ProbeResult {
  ok: boolean;
  /** The HTTP status, when the container answered. */
  status?: number;
  /** Why there was no answer (ECONNREFUSED, a timeout, …). */
  error?: string;
}

/** Sends one probe; `probe` is the seam the unit tests fake. */
export type Probe = (url: string, timeoutMs: number) => Promise<ProbeResult>;

/** 2xx and 3xx are healthy (a redirect to a login page still means the app is up). */
export function healthyStatus(status: number): boolean {
  return status >= 200 && status < 400;
}

/** The probe URL: an IPv6 address goes in brackets. */
export function probeURL(ip: string, port: number, path: string): string {
  const host = ip.includes(":") ? `[${ip}]` : ip;
  return `http://${host}:${port}${path}`;
}

/** One GET with node:http, no keep-alive, no redirects followed, the body discarded. */
export const httpProbe: Probe = (url, timeoutMs) =>
  new Promise<ProbeResult>((resolve) => {
    let done = false;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    let req: nodeHTTP.ClientRequest;
    try {
      req = http.get(url, { agent: false, headers: { "user-agent": "deploykit-healthcheck", accept: "*/*" } }, (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        req.destroy();
        finish({ ok: healthyStatus(status), status });
      });
    } catch (err) {
      finish({ ok: false, error: short(err) });
      return;
    }
    // Covers the whole request (connect included), not only socket idleness.
    const timer = setTimeout(() => {
      finish({ ok: false, error: `no answer within ${Math.round(timeoutMs / 100) / 10} s` });
      req.destroy();
    }, timeoutMs);
    req.on("error", (err) => finish({ ok: false, error: short(err) }));
  });

/** What the gate remembers of one replica's health check (in memory; a daemon restart starts the clock again). */
export interface HealthState {
  /** When the first probe of this container was sent (ms). */
  since: number;
  /** A probe answered 2xx/3xx. */
  ok: boolean;
  /** The container run (Docker's StartedAt, ms) the healthy answer came from. */
  started?: number;
  /** The last failed probe, in words: "answered 500", "connect ECONNREFUSED 172.18.0.2:8080". */
  last?: string;
  probes: number;
}

/** "answered 404" or the error, for a failure reason. */
export function describeProbe(r: ProbeResult): string {
  if (r.status !== undefined) return `answered ${r.status}`;
  return r.error ?? "no answer";
}

/** The deployment's failure reason once the timeout has passed without a healthy answer. */
export function healthFailureReason(path: string, port: number, timeoutSeconds: number, state: HealthState | undefined): string {
  const last = state?.last ?? "no probe could be sent";
  return `health check failed: GET ${path} on port ${port} ${last} (no 2xx/3xx within ${timeoutSeconds} s)`;
}

function short(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const msg = e?.message ?? String(err);
  const text = e?.code && !msg.includes(e.code) ? `${e.code}: ${msg}` : msg;
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}…` : text;
}
