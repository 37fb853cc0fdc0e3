import type { Deployment, DeploymentStatus } from "./deployment.ts";
import type { ServiceRun } from "./ops.ts";
import type { Service, ServiceStatus } from "./service.ts";

export const EVENT_SERVICE_CREATED = "service.created";
export const EVENT_SERVICE_UPDATED = "service.updated";
export const EVENT_SERVICE_DELETED = "service.deleted";
export const EVENT_SERVICE_STATUS_CHANGED = "service.status.changed";
/** The Restart action was asked for (the reconciler restarts the serving containers one by one). */
export const EVENT_SERVICE_RESTARTED = "service.restarted";
export const EVENT_CONTAINER_CREATED = "container.created";
export const EVENT_CONTAINER_DELETED = "container.deleted";
export const EVENT_DEPLOYMENT_CREATED = "deployment.created";
export const EVENT_DEPLOYMENT_STARTING = "deployment.starting";
export const EVENT_DEPLOYMENT_HEALTHY = "deployment.healthy";
export const EVENT_DEPLOYMENT_FAILED = "deployment.failed";
/** A cron run started, was skipped (one was still going) or finished. */
export const EVENT_RUN_STARTED = "run.started";
export const EVENT_RUN_SKIPPED = "run.skipped";
export const EVENT_RUN_FINISHED = "run.finished";
/** Deploy applied a project's staged changes (published after the commit, whoever called Apply). */
export const EVENT_PENDING_CHANGES_APPLIED = "pending-changes.applied";

/** What one Apply did (the same shape as ApplyResult). */
export interface AppliedPayload {
  applied_count: number;
  temp_id_to_service_id: Record<string, string>;
  redeployed_service_ids: string[];
  created_deployments: Deployment[];
}

export interface DeploymentStatusPayload {
  deployment_id: string;
  service_id: string;
  status: DeploymentStatus;
  failure_reason?: string;
  attempt_count?: number;
}

/** Event payloads by type. */
export interface EventPayloads {
  [EVENT_SERVICE_CREATED]: { service: Service };
  [EVENT_SERVICE_UPDATED]: { service: Service };
  [EVENT_SERVICE_DELETED]: { service_id: string };
  /** `requested`: a user's Stop or Start made the change (the reconciler's own changes leave it out). */
  [EVENT_SERVICE_STATUS_CHANGED]: { service_id: string; old_status: ServiceStatus; new_status: ServiceStatus; requested?: true };
  [EVENT_SERVICE_RESTARTED]: { service_id: string; requested_at: string };
  [EVENT_CONTAINER_CREATED]: { service_id: string; container_id: string; status: string };
  [EVENT_CONTAINER_DELETED]: { service_id: string; container_id: string };
  [EVENT_DEPLOYMENT_CREATED]: { deployment: Deployment };
  [EVENT_DEPLOYMENT_STARTING]: DeploymentStatusPayload;
  [EVENT_DEPLOYMENT_HEALTHY]: DeploymentStatusPayload;
  [EVENT_DEPLOYMENT_FAILED]: DeploymentStatusPayload;
  [EVENT_RUN_STARTED]: { service_id: string; run: ServiceRun };
  [EVENT_RUN_SKIPPED]: { service_id: string; run: ServiceRun };
  [EVENT_RUN_FINISHED]: { service_id: string; run: ServiceRun };
  [EVENT_PENDING_CHANGES_APPLIED]: { result: AppliedPayload };
}

export type EventType = keyof EventPayloads;

/** Something that happened in a project. `at` is stamped by the bus when empty (RFC 3339). */
export type Event = {
  [K in EventType]: { type: K; project_id: string; payload: EventPayloads[K]; at?: string };
}[EventType];

export function newEvent<K extends EventType>(type: K, projectID: string, payload: EventPayloads[K]): Event {
  return { type, project_id: projectID, payload } as Event;
}

export interface Subscription {
  /** Idempotent; no delivery after it returns. */
  close(): void;
  /** Events dropped because this subscriber's buffer was full. */
  readonly dropped: number;
}

/**
 * EventBus is in-process pub/sub. `publish` never blocks and never throws: each subscriber has a
 * bounded buffer, and a slow subscriber loses events instead of slowing anyone else.
 */
export interface EventBus {
  publish(event: Event): void;
  /** `handler` is called asynchronously, in order, for each event; `bufferSize` bounds the backlog. */
  subscribe(handler: (event: Event) => void | Promise<void>, opts?: { bufferSize?: number }): Subscription;
}
