/** The Caddy data plane (issue 12): the proxy container, its admin API and the config the daemon pushes. */
export { CaddyAdmin } from "./admin.ts";
export { buildConfig, canonicalJSON, initialConfig, LB_TRY_DURATION, routesOf } from "./caddy.ts";
export { DEFAULT_PROXY_CONTAINER, DEFAULT_PROXY_IMAGE, type ListenAddr } from "./container.ts";
export { CaddyProxy, type ProxyOptions } from "./proxy.ts";
