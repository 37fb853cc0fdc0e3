import { randomUUID } from "node:crypto";
import type * as nodeHTTP from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import fastifySwagger from "@fastify/swagger";
import fastifyWebsocket from "@fastify/websocket";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from "fastify";
import * as deploykit from "../index.ts";
import { registerAPIKeyRoutes } from "./apikey.ts";
import { registerAuthRoutes } from "./auth.ts";
import { registerBuildRoutes } from "./builds.ts";
import { CanvasHub } from "./canvas-hub.ts";
import { registerContainerRoutes } from "./container.ts";
import { adminOnlyHook, authenticateHook, DEFAULT_LIMITS, type Deps, type ServerOptions } from "./context.ts";
import { registerDeploymentRoutes } from "./deployment.ts";
import { registerDeviceRoutes } from "./device.ts";
import { registerDocsRoutes } from "./docs.ts";
import { registerDomainRoutes } from "./domains.ts";
import { registerEnvVarRoutes } from "./envvar.ts";
import { registerEnvRawRoutes } from "./envvar-raw.ts";
import { registerRunEnvRoute } from "./envvar-run.ts";
import { formatSchemaError, handleError } from "./errors.ts";
import { setSecurityHeaders } from "./headers.ts";
import { lazySchemaController } from "./lazy-schemas.ts";
import { ListCache } from "./list-cache.ts";
import { registerLogSearchRoutes } from "./log-search.ts";
import { LogStreams, registerLogRoutes } from "./logs.ts";
import { registerMetricsRoutes, registerPrometheusRoute } from "./metrics.ts";
import { openAPIOptions } from "./openapi.ts";
import { registerPendingChangeRoutes } from "./pending-change.ts";
import { registerPresetRoutes } from "./preset.ts";
import { registerProjectRoutes } from "./project.ts";
import { LoginLimiter, RateLimiter } from "./ratelimit.ts";
import { registerRunRoutes } from "./run.ts";
import { ENTITY_SCHEMAS } from "./schemas.ts";
import { registerServiceRoutes } from "./service.ts";
import { registerSettingsRoutes } from "./settings.ts";
import { ShellSessions } from "./shell.ts";
import { SPA } from "./spa.ts";
import { registerSystemRoutes } from "./system.ts";
import { registerUserRoutes } from "./user.ts";

// node:http through require: an ESM import reads every export of it, and its WebSocket getter then
// loads fetch's undici with TLS and HTTP/2 (5.4 MB of an idle daemon, docs/benchmarks.md "Memory").
const { createServer } = createRequire(import.meta.url)("node:http") as typeof nodeHTTP;

export type { ServerOptions } from "./context.ts";

const BODY_LIMIT = 1024 * 1024;
const CLOSE_GRACE_MS = 3000;
const METHODS = "GET, POST, PATCH, DELETE, OPTIONS";

/** Adapts the domain logger to what Fastify expects of a pino-like instance. */
function fastifyLogger(l: deploykit.Logger, level = "info"): FastifyBaseLogger {
  const log = (fn: (o: object | string, m?: string) => void) => (o: object | string, m?: string) => fn.call(l, o, m);
  return {
    level,
    trace: log(l.trace),
    debug: log(l.debug),
    info: log(l.info),
    warn: log(l.warn),
    error: log(l.error),
    fatal: log(l.error),
    silent: () => {},
    child: (bindings: Record<string, unknown>) => fastifyLogger(l.child(bindings), level),
  } as unknown as FastifyBaseLogger;
}

/**
 * Public routes: those whose schema says `security: []` (the login, registration, refresh and health
 * routes, the OpenAPI document, CORS preflight, the canvas socket that authenticates in its first
 * frame) and the docs UI. Everything else requires authentication.
 */
function isPublicRoute(r: { url: string; method: string | string[]; schema?: unknown }): boolean {
  const security = (r.schema as { security?: unknown[] } | undefined)?.security;
  if (Array.isArray(security) && security.length === 0) return true;
  return r.url === "/api/docs" || r.url.startsWith("/api/docs/");
}

function trustHops(hops: number): (addr: string, i: number) => boolean {
  return (_addr, i) => i < hops;
}

/** Parses `-cors-origin`: "*" or a comma-separated list. */
function parseOrigins(s: string): { any: boolean; list: Set<string> } {
  const list = new Set(
    s
      .split(",")
      .map((o) => o.trim().replace(/\/+$/, ""))
      .filter((o) => o !== ""),
  );
  return { any: list.has("*"), list };
}

/**
 * The HTTP server: the JSON API under /api, the canvas WebSocket hub, SSE logs, OpenAPI docs and the
 * SPA. Built from domain interfaces only (main wires the implementations in).
 */
/** How long an idle keep-alive connection is kept open. */
export const KEEP_ALIVE_MS = 72_000;

export class Server {
  readonly app: FastifyInstance;
  readonly hub: CanvasHub;
  private readonly deps: Deps;
  private readonly logStreams: LogStreams;
  readonly shells: ShellSessions;
  private readonly routePatterns: { method: string; re: RegExp }[] = [];
  /** Every route as registered, and whether it is public (for the deny-by-default test). */
  readonly routeTable: { method: string; url: string; public: boolean }[] = [];
  private readonly origins: { any: boolean; list: Set<string> };
  private closing: Promise<void> | null = null;
  private readonly authn: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  private revocationTimer: NodeJS.Timeout | null = null;
  private readonly ready: Promise<void>;

  constructor(opts: ServerOptions) {
    const logger = opts.logger ?? deploykit.nopLogger;
    const now = opts.now ?? (() => new Date());
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    const clock = () => now().getTime();
    this.origins = parseOrigins(opts.corsOrigin);

    this.app = Fastify({
      loggerInstance: fastifyLogger(logger),
      logController: new LogController({ disableRequestLogging: true }),
      genReqId: () => randomUUID(),
      bodyLimit: BODY_LIMIT,
      // A hop count N trusts the N nearest proxies (proxy-addr's hop index), never the client's own entries.
      trustProxy: typeof opts.trustProxy === "number" ? trustHops(opts.trustProxy) : opts.trustProxy,
      onProtoPoisoning: "error",
      onConstructorPoisoning: "error",
      routerOptions: { maxParamLength: 200 },
      ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
      schemaErrorFormatter: formatSchemaError,
      schemaController: lazySchemaController(),
      forceCloseConnections: "idle",
      // Node's defaults (60 s for headers, 300 s per request, checked every 30 s) let a few trickling
      // clients hold sockets for minutes. Long-lived responses (SSE, WebSocket) are not affected:
      // these bound how long a client may take to *send* its request.
      serverFactory: (handler) => {
        const server = createServer(
          {
            headersTimeout: limits.headersTimeoutMs,
            requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
            connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
          },
          handler,
        );
        // Idle keep-alive sockets live 72 s (Fastify's own default; Node's is 5 s). With 5 s, a
        // client that reused a socket just as the server closed it got "other side closed" on a
        // request that never arrived: seen by the CLI-style clients of the test suites.
        server.keepAliveTimeout = KEEP_ALIVE_MS;
        return server;
      },
      frameworkErrors: (err, _req, reply) => {
        void (reply as FastifyReply)
          .code(400)
          .send({ error: deploykit.EINVALID, message: err.code === "FST_ERR_BAD_URL" ? "Malformed URL." : "Bad request." });
      },
    });
    // Responses are serialized with JSON.stringify; response schemas are documentation only.
    this.app.setSerializerCompiler(() => (data) => JSON.stringify(data));
    for (const s of ENTITY_SCHEMAS) this.app.addSchema(s);

    const authn = authenticateHook(opts.auth);
    this.authn = authn;
    const listCache = new ListCache({ ttlMs: limits.listCacheMs, now: clock });
    const message = "Too many attempts. Try again later.";
    this.hub = new CanvasHub({
      auth: opts.auth,
      projects: opts.projects,
      services: opts.services,
      canvas: opts.canvas,
      pendingChanges: opts.pendingChanges,
      bus: opts.bus,
      logger: logger.child({ component: "canvas-hub" }),
      now,
      sendBufferBytes: limits.wsSendBufferBytes,
      authTimeoutMs: limits.wsAuthTimeoutMs,
      authRecheckMs: limits.wsAuthRecheckMs,
      pingIntervalMs: limits.wsPingIntervalMs,
      onEvent: (e) => listCache.invalidate(e.project_id),
    });
    this.deps = {
      ...opts,
      logger,
      now,
      limits,
      hub: this.hub,
      listCache,
      authenticated: [authn],
      adminOnly: [authn, adminOnlyHook],
      loginLimiter: new LoginLimiter(clock),
      registerLimiter: new RateLimiter({ max: 10, windowMs: 60_000, now: clock, message }),
      refreshLimiter: new RateLimiter({ max: 30, windowMs: 60_000, now: clock, message }),
      deviceLimiter: new RateLimiter({ max: 10, windowMs: 60_000, now: clock, message }),
    };
    this.logStreams = new LogStreams(this.deps);
    this.shells = new ShellSessions(this.deps);
    this.ready = this.setup();
  }

  private async setup(): Promise<void> {
    const app = this.app;
    const d = this.deps;
    const authn = this.authn;

    this.parseJSONLeniently();
    app.addHook("onRoute", (r) => {
      if (!r.url.startsWith("/api/") || r.url.includes("*")) return;
      const re = new RegExp(`^${r.url.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/:[A-Za-z_]+/g, "[^/]+")}/?$`);
      for (const m of Array.isArray(r.method) ? r.method : [r.method]) this.routePatterns.push({ method: m, re });
    });
    app.addHook("onRoute", (r) => {
      for (const m of Array.isArray(r.method) ? r.method : [r.method])
        this.routeTable.push({ method: m, url: r.url, public: isPublicRoute(r) });
    });
    app.addHook("onRequest", async (req, reply) => {
      reply.header("X-Request-Id", req.id);
      setSecurityHeaders(req, reply);
      this.cors(req, reply);
    });
    // Deny by default: every route needs a signed-in caller unless it says otherwise (`security: []`
    // in its schema, which the OpenAPI document shows too). Unknown paths fall through to the 404s.
    app.addHook("onRequest", async (req, reply) => {
      if (req.is404 || isPublicRoute({ url: req.routeOptions.url ?? "", method: req.method, schema: req.routeOptions.schema })) return;
      await authn(req, reply);
    });
    const prom = d.prometheus;
    prom?.attach({ wsClients: () => this.hub.clientCount, sseViewers: () => this.logStreams.size });
    app.addHook("onResponse", async (req, reply) => {
      // By route pattern, never the raw URL: ids would make one series per resource.
      prom?.httpDuration.observe(
        {
          method: req.method,
          route: req.is404 ? "(unmatched)" : (req.routeOptions.url ?? "(unmatched)"),
          status: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
      req.log.info(
        { method: req.method, url: req.url.split("?")[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
        "request",
      );
    });
    app.setErrorHandler(handleError);

    await app.register(fastifySwagger, openAPIOptions(d.version));
    registerDocsRoutes(app, () => app.swagger() as unknown as Record<string, unknown>);
    await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });

    app.route({
      method: "OPTIONS",
      url: "*",
      schema: { hide: true, security: [] },
      handler: async (_req, reply) => reply.code(204).send(),
    });
    app.get("/api/openapi.json", { schema: { hide: true, security: [] } }, async () => app.swagger());
    app.get(
      "/api/health",
      {
        schema: {
          tags: ["system"],
          summary: "Liveness",
          security: [],
          response: { 200: { type: "object", properties: { status: { type: "string" } } } },
        },
      },
      async () => ({ status: "ok" }),
    );

    registerAuthRoutes(app, d);
    registerDeviceRoutes(app, d);
    registerProjectRoutes(app, d);
    registerServiceRoutes(app, d);
    registerDeploymentRoutes(app, d);
    registerRunRoutes(app, d);
    registerContainerRoutes(app, d);
    registerLogRoutes(app, d, this.logStreams);
    registerLogSearchRoutes(app, d);
    registerEnvVarRoutes(app, d);
    registerEnvRawRoutes(app, d);
    registerRunEnvRoute(app, d);
    registerDomainRoutes(app, d);
    registerPendingChangeRoutes(app, d);
    registerPresetRoutes(app, d);
    registerAPIKeyRoutes(app, d);
    registerUserRoutes(app, d);
    registerSystemRoutes(app, d);
    registerSettingsRoutes(app, d);
    if (d.build) registerBuildRoutes(app, d, d.build);
    if (d.metrics) registerMetricsRoutes(app, d);
    registerPrometheusRoute(app, d, prom);
    this.hub.register(app, (req) => this.originAllowed(req));
    this.shells.register(app, (req) => this.originAllowed(req));

    const spa = new SPA(d.spaDir);
    app.setNotFoundHandler(async (req, reply) => {
      const path = req.url.split("?")[0] ?? "/";
      if (path === "/api" || path.startsWith("/api/")) return this.apiNotFound(req, reply, path);
      if (req.method === "GET" || req.method === "HEAD") return spa.serve(req, reply, path);
      return reply.code(404).send({ error: deploykit.ENOTFOUND, message: "Not found." });
    });
    this.hub.start();
    this.watchRevocations();
    await app.ready();
  }

  /**
   * Logout, key revocation, password or role changes and user deletion reach long-lived connections
   * too: every few seconds each open WebSocket's and SSE stream's credential is checked again.
   */
  private watchRevocations(): void {
    let running = false;
    this.revocationTimer = setInterval(() => {
      if (running) return;
      running = true;
      Promise.all([this.hub.revalidate(), this.logStreams.revalidate(), this.shells.revalidate()])
        .catch((err) => this.deps.logger.error({ err }, "revocation check failed"))
        .finally(() => {
          running = false;
        });
    }, this.deps.limits.revocationCheckMs);
    this.revocationTimer.unref();
  }

  /** JSON bodies: an empty body is "no body" (clients often send the header anyway). Nothing else is parsed: 415. */
  private parseJSONLeniently(): void {
    // Fastify parses text/plain by default; the API takes JSON only (B10).
    this.app.removeContentTypeParser("text/plain");
    const parse = this.app.getDefaultJsonParser("error", "error");
    this.app.removeContentTypeParser("application/json");
    this.app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
      if (typeof body === "string" && body.trim() === "") return done(null, undefined);
      parse(req, body as string, done);
    });
  }

  private apiNotFound(req: FastifyRequest, reply: FastifyReply, path: string) {
    const allowed = [...new Set(this.routePatterns.filter((p) => p.re.test(path)).map((p) => p.method))];
    if (allowed.length > 0) {
      reply.header("Allow", [...allowed, "OPTIONS"].join(", "));
      return reply.code(405).send({ error: deploykit.EINVALID, message: `Method ${req.method} not allowed.` });
    }
    return reply.code(404).send({ error: deploykit.ENOTFOUND, message: "Not found." });
  }

  private cors(req: FastifyRequest, reply: FastifyReply): void {
    const origin = req.headers.origin;
    if (this.origins.any) reply.header("Access-Control-Allow-Origin", "*");
    else if (origin && this.origins.list.has(origin)) {
      reply.header("Access-Control-Allow-Origin", origin);
      reply.header("Vary", "Origin");
    } else return;
    reply.header("Access-Control-Allow-Methods", METHODS);
    reply.header("Access-Control-Allow-Headers", "Authorization, Content-Type");
    reply.header("Access-Control-Max-Age", "86400");
  }

  /** WebSocket Origin check: absent (non-browser), same origin as the request, or an allowed origin. */
  originAllowed(req: FastifyRequest): boolean {
    const origin = req.headers.origin;
    if (!origin) return true;
    if (this.origins.any || this.origins.list.has(origin)) return true;
    const host = req.headers.host;
    if (!host) return false;
    try {
      const u = new URL(origin);
      return u.host === host && (u.protocol === "http:" || u.protocol === "https:");
    } catch {
      return false;
    }
  }

  /** Starts listening; `port: 0` picks a free port. */
  async listen(addr: { host: string; port: number }): Promise<{ port: number }> {
    await this.ready;
    await this.app.listen({ host: addr.host, port: addr.port });
    const a = this.app.server.address() as AddressInfo;
    return { port: a.port };
  }

  /** Resolves once routes are registered (for `app.inject` in tests). */
  async whenReady(): Promise<void> {
    await this.ready;
  }

  /** Stops accepting, closes WebSockets (1001) and ends SSE streams, then closes the server. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        await this.ready.catch(() => {});
        if (this.revocationTimer) clearInterval(this.revocationTimer);
        await Promise.all([this.hub.close(), this.logStreams.closeAll(), this.shells.close()]);
        // Requests still running after the grace period are cut off rather than holding shutdown.
        const force = setTimeout(() => this.app.server.closeAllConnections(), CLOSE_GRACE_MS);
        await this.app.close();
        clearTimeout(force);
      })();
    }
    return this.closing;
  }
}
