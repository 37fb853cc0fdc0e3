import type { FastifyReply, FastifyRequest } from "fastify";
import * as deploykit from "../index.ts";
import type { CanvasHub } from "./canvas-hub.ts";
import type { ListCache } from "./list-cache.ts";
import type { Prometheus } from "./prometheus.ts";
import type { LoginLimiter, RateLimiter } from "./ratelimit.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the authentication hook on every authenticated route. */
    principal: deploykit.Principal | null;
  }
}

/** The reconciler as the HTTP layer sees it; `status` is optional (shown in /api/system/status). */
export type ReconcilerHandle = deploykit.Reconciler & { status?: () => unknown };

/** What the build routes need besides the usual deps (issue 13); main provides it. */
export interface BuildDeps {
  builds: deploykit.BuildService;
  builder: deploykit.Builder;
  /** Stores an upload's body where the builder finds it (`upload_id`); rejects past `maxBytes`. */
  saveUpload: (uploadID: string, body: NodeJS.ReadableStream) => Promise<void>;
  /** `-upload-max-mb` in bytes. */
  uploadMaxBytes: number;
  /** Re-pulls an image and returns its id (Redeploy of an image service). */
  pullImage: (image: string) => Promise<string | null>;
  /** The id of the image a deployment runs now, or null. */
  imageID: (image: string) => Promise<string | null>;
  /** A new ed25519 deploy key pair (OpenSSH format). */
  generateDeployKey: (comment: string) => Promise<{ private_key: string; public_key: string }>;
  /** The public URL webhooks are sent to, without the path (default: the request's origin). */
  publicURL?: string;
}

/** What the server is built from: domain services injected by main. */
export interface ServerOptions {
  projects: deploykit.ProjectService;
  users: deploykit.UserService;
  auth: deploykit.AuthService;
  services: deploykit.ServiceService;
  deployments: deploykit.DeploymentService;
  containers: deploykit.ContainerService;
  canvas: deploykit.CanvasService;
  envVars: deploykit.EnvVarService;
  pendingChanges: deploykit.PendingChangeService;
  /** Public domains (issue 12); the domain routes answer 503 without it. */
  domains?: deploykit.DomainService;
  /** The Caddy proxy; absent with `-proxy=false` (the root certificate route answers 503 then). */
  proxy?: deploykit.ProxyControl;
  settings: deploykit.SettingsService;
  system: deploykit.SystemService;
  bus: deploykit.EventBus;
  logs: deploykit.LogStreamer;
  /** Docker exec for the browser shell, and its audit trail. */
  exec: deploykit.ContainerExec;
  shellSessions: deploykit.ShellSessionService;
  reconciler: ReconcilerHandle;
  /** Cron runs (issue 16): the store the Runs tab reads and the scheduler's "Run now". */
  runs?: deploykit.ServiceRunService;
  cron?: deploykit.CronRunner;
  /** Scheduled state backups (issue 20): shown in /api/system/status; absent for an in-memory database. */
  backups?: deploykit.ScheduledBackupRunner;
  /** Service metrics (issue 15); the metrics routes answer 503 without them. */
  metrics?: { store: deploykit.MetricsStore; collector: deploykit.MetricsCollector };
  /** GET /metrics in Prometheus text format; absent (-metrics-endpoint=false) it answers 404. */
  prometheus?: Prometheus;
  logger?: deploykit.Logger;
  /** Required to register the first admin (`setup_token`); main writes it to the data dir. */
  setup: deploykit.SetupGate;
  /** `-cors-origin`: "*" or a comma-separated list of origins; empty means same-origin only. */
  corsOrigin: string;
  /**
   * Client addresses (rate limits) from X-Forwarded-For: false; a number of proxy hops to trust; or a
   * comma-separated list of trusted proxy addresses/CIDRs. `true` trusts every hop: tests only.
   */
  trustProxy: boolean | number | string;
  /** Directory of the built SPA (index.html + assets/); null or missing index.html → "not built" page. */
  spaDir: string | null;
  now?: () => Date;
  version: string;
  /** Tuning, mostly for tests. */
  limits?: Partial<Limits>;
  /** Deploy from source (issue 13): build logs, redeploy, uploads, webhooks; the routes are absent without it. */
  build?: BuildDeps;
}

export interface Limits {
  /** Canvas WebSocket: ms to send the auth frame. */
  wsAuthTimeoutMs: number;
  /** Canvas WebSocket: bytes queued for one client before it is dropped as too slow. */
  wsSendBufferBytes: number;
  /** Canvas WebSocket: how long a successful token check is trusted before it is repeated. */
  wsAuthRecheckMs: number;
  /** How often open WebSockets and SSE streams are checked for revoked credentials. */
  revocationCheckMs: number;
  /** SSE: bytes queued for one viewer before lines are dropped. */
  sseBufferBytes: number;
  /** SSE heartbeat interval. */
  sseHeartbeatMs: number;
  /** How long a serialized service list may be reused at most (0 disables the cache). */
  listCacheMs: number;
  /** A client must finish sending its request headers within this long (slowloris). */
  headersTimeoutMs: number;
  /** A client must finish sending its whole request (headers and body) within this long. */
  requestTimeoutMs: number;
  /** Canvas WebSocket: ms between pings; a client that misses two pongs is closed (half-open sockets). */
  wsPingIntervalMs: number;
  /** Requests that wait on Docker (system about/status) at once; beyond, 503 with Retry-After (D04). */
  dockerWaiting: number;
}

export const DEFAULT_LIMITS: Limits = {
  wsAuthTimeoutMs: 5000,
  wsSendBufferBytes: 1024 * 1024,
  wsAuthRecheckMs: 5000,
  revocationCheckMs: 2000,
  sseBufferBytes: 1024 * 1024,
  sseHeartbeatMs: 15_000,
  listCacheMs: 1000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  wsPingIntervalMs: 30_000,
  dockerWaiting: 16,
};

/** Everything a route file needs. */
export interface Deps extends ServerOptions {
  logger: deploykit.Logger;
  now: () => Date;
  limits: Limits;
  hub: CanvasHub;
  /** Serialized service lists; invalidated by bus events and by the routes that change services. */
  listCache: ListCache;
  /** onRequest hooks of routes any signed-in user may call. */
  authenticated: Hook[];
  /** onRequest hooks of admin-only routes. */
  adminOnly: Hook[];
  loginLimiter: LoginLimiter;
  registerLimiter: RateLimiter;
  refreshLimiter: RateLimiter;
  /** Device logins started per client address (`deploykit login`). */
  deviceLimiter: RateLimiter;
}

export type Hook = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** `Authorization: Bearer <token>` (scheme case-insensitive) → token, else null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^bearer\s+(\S+)\s*$/i.exec(header);
  return m ? (m[1] as string) : null;
}

/** onRequest hook: establishes the principal or answers 401. */
export function authenticateHook(auth: deploykit.AuthService) {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    // Already done by the server-wide deny-by-default hook; the route's own hook is then a no-op.
    if (req.principal) return;
    const token = bearerToken(req.headers.authorization);
    if (!token) throw deploykit.errorf(deploykit.EUNAUTHORIZED, "Authentication required.");
    req.principal = await auth.authenticate(token);
  };
}

/** onRequest hook (after authenticateHook): admins only. */
export async function adminOnlyHook(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (!deploykit.isAdmin(req.principal?.user)) throw deploykit.errorf(deploykit.EFORBIDDEN, "Insufficient permissions.");
}

export function principalOf(req: FastifyRequest): deploykit.Principal {
  if (!req.principal) throw deploykit.errorf(deploykit.EUNAUTHORIZED, "Authentication required.");
  return req.principal;
}

/** The paginated envelope: `{data, total_count, offset, limit}` with the effective paging. */
export function pageBody<T, U>(result: deploykit.PageResult<T>, page: { offset: number; limit: number }, present: (t: T) => U) {
  return { data: result.items.map(present), total_count: result.total, offset: page.offset, limit: page.limit };
}

/** Integer query params arrive as validated digit strings; paging is clamped like the original. */
export function pageOf(q: { offset?: string; limit?: string }): { offset: number; limit: number } {
  return deploykit.normalizePage({
    offset: q.offset === undefined ? undefined : Number(q.offset),
    limit: q.limit === undefined ? undefined : Number(q.limit),
  });
}

/** The service, when it belongs to the project in the URL (PRODUCT §4.7); ENOTFOUND otherwise. */
export async function serviceInProject(d: Pick<Deps, "services">, projectID: string, serviceID: string): Promise<deploykit.Service> {
  const svc = await d.services.findServiceByID(serviceID);
  if (svc.project_id !== projectID) throw deploykit.errorf(deploykit.ENOTFOUND, "Service not found.");
  return svc;
}
