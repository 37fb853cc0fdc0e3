/** The Docker adapter: one Client per daemon, exposing the domain's Docker-facing interfaces. */
export { API_TIMEOUT_MS, Client, type ClientOptions, defaultSocketPath, SLOW_TIMEOUT_MS, STOP_GRACE_SECONDS } from "./client.ts";
export { ContainerRuntime, createOptions } from "./container.ts";
export { Introspector } from "./introspect.ts";
export { LogStreamer, MAX_LINE_BYTES, RING_SIZE } from "./logs.ts";
export { Provisioner } from "./network.ts";
