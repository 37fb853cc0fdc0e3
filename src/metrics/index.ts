/** The metrics collector (issue 15): one per daemon, sampling every running DeployKit container. */
export { type CollectMode, Collector, type CollectorOptions, MAINTAIN_INTERVAL_MS, READ_CONCURRENCY } from "./collector.ts";
