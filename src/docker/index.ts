/** The Docker adapter: one Client per daemon, exposing the domain's Docker-facing interfaces. */
export { Client, type ClientOptions, defaultSocketPath } from "./client.ts";
export { API_TIMEOUT_MS, SLOW_TIMEOUT_MS, STOP_GRACE_SECONDS } from "./conn.ts";
export { ContainerRuntime, createOptions } from "./container.ts";
export { ContainerExec } from "./exec.ts";
export { Introspector } from "./introspect.ts";
export { MAX_LINE_BYTES } from "./lines.ts";
export { LogStreamer, RING_SIZE } from "./logs.ts";
export { Provisioner } from "./network.ts";
export { countersFromStats, cpuLimitCores, StatsReader } from "./stats.ts";
