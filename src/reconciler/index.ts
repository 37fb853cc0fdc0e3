/** The reconciler: makes Docker match the database (original §7, PRODUCT.md §4.9–4.10). */
export { CronScheduler, type CronSchedulerOptions, dueTick, nextTick } from "./cron.ts";
export { OUTAGE_GRACE_MS, type ReconcilerStatus } from "./docker-health.ts";
export type { ContainerStore, DeploymentStore, ProjectReader, ServiceStore } from "./pass.ts";
export { WorkQueue, type WorkQueueOptions } from "./queue.ts";
export { BAD_OBSERVATIONS_TO_FAIL, FAILURE_LOG_LINES } from "./readiness.ts";
export {
  DEFAULT_FAST_TICK_MS,
  DEFAULT_INTERVAL_MS,
  DEFAULT_STABLE_WINDOW_MS,
  DEFAULT_WORKERS,
  INSPECT_CONCURRENCY,
  Reconciler,
  type ReconcilerOptions,
  SNAPSHOT_TTL_MS,
  SWEEP_KEY,
} from "./reconciler.ts";
