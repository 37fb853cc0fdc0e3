/** The HTTP layer: API server, canvas hub, SSE logs, SPA, OpenAPI, and the typed client. */
export { CanvasHub, type CanvasHubOptions } from "./canvas-hub.ts";
export { Client, type EnvOwner, errorFromResponse, type LogEvent, type ServiceCreateInput } from "./client.ts";
export { DEFAULT_LIMITS, type Limits, type ReconcilerHandle, type ServerOptions } from "./context.ts";
export { STATUS_BY_CODE } from "./errors.ts";
export { Prometheus, type PrometheusOptions } from "./prometheus.ts";
export { RateLimiter } from "./ratelimit.ts";
export { Server } from "./server.ts";
