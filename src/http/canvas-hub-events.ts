import * as deploykit from "../index.ts";
import * as present from "./present.ts";

/** Bus event type → canvas message type (original §9). */
export const EVENT_MESSAGES: Record<deploykit.EventType, deploykit.CanvasServerMessageType> = {
  [deploykit.EVENT_SERVICE_CREATED]: "service:upserted",
  [deploykit.EVENT_SERVICE_UPDATED]: "service:upserted",
  [deploykit.EVENT_SERVICE_DELETED]: "service:deleted",
  [deploykit.EVENT_SERVICE_STATUS_CHANGED]: "service:status-changed",
  [deploykit.EVENT_SERVICE_RESTARTED]: "service:restarted",
  [deploykit.EVENT_CONTAINER_CREATED]: "container:created",
  [deploykit.EVENT_CONTAINER_DELETED]: "container:deleted",
  [deploykit.EVENT_DEPLOYMENT_CREATED]: "deployment:created",
  [deploykit.EVENT_DEPLOYMENT_STARTING]: "deployment:starting",
  [deploykit.EVENT_DEPLOYMENT_HEALTHY]: "deployment:healthy",
  [deploykit.EVENT_DEPLOYMENT_FAILED]: "deployment:failed",
  [deploykit.EVENT_RUN_STARTED]: "run:started",
  [deploykit.EVENT_RUN_SKIPPED]: "run:skipped",
  [deploykit.EVENT_RUN_FINISHED]: "run:finished",
  [deploykit.EVENT_PENDING_CHANGES_APPLIED]: "pending-changes:applied",
};

/** The canvas message's payload: entities in their presented (API) form. */
export function eventPayload(e: deploykit.Event): unknown {
  switch (e.type) {
    case deploykit.EVENT_SERVICE_CREATED:
    case deploykit.EVENT_SERVICE_UPDATED:
      return { service: present.service(e.payload.service) };
    case deploykit.EVENT_DEPLOYMENT_CREATED:
      return { deployment: present.deployment(e.payload.deployment) };
    case deploykit.EVENT_PENDING_CHANGES_APPLIED:
      return present.applyResult(e.payload.result);
    case deploykit.EVENT_RUN_STARTED:
    case deploykit.EVENT_RUN_SKIPPED:
    case deploykit.EVENT_RUN_FINISHED:
      return { service_id: e.payload.service_id, run: present.run(e.payload.run) };
    default:
      return e.payload;
  }
}
