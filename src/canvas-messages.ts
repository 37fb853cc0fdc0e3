import type { DeploymentStatusPayload } from "./bus.ts";
import type { CanvasEdge, CanvasEdgeUpsert, CanvasNode, CanvasNodeUpsert, CanvasState, NodePosition } from "./canvas.ts";
import type { Deployment } from "./deployment.ts";
import type { ServiceRun } from "./ops.ts";
import type { ApplyResult, PendingChange } from "./pending-change.ts";
import type { Service, ServiceCreate, ServiceStatus } from "./service.ts";

/**
 * The canvas WebSocket's frames (original §3.5), both directions: every frame is the JSON object
 * `{type, payload}`. The hub (src/http/canvas-hub*.ts) sends the server messages and reads the
 * client ones; the SPA (frontend/app/lib/ws-client.ts) the other way round. Payloads carry the
 * presented JSON shapes of the domain types (sealed values redacted).
 */

/** Someone in a project's room. */
export interface CanvasPresenceUser {
  user_id: string;
  user_name: string;
}

/** The ghost of a service someone is creating (a draft on their canvas, shown to the others). */
export interface CanvasDraft {
  draft_id: string;
  user_id: string;
  user_name: string;
  x: number;
  y: number;
}

/** A service created from a draft: its settings, the draft it replaces and where its node goes. */
export type CanvasServiceCreate = {
  draft_id: string;
  x: number;
  y: number;
  name: string;
  image: string;
  icon_url?: string;
  env_vars?: { key: string; value: string; sealed?: boolean }[];
} & Pick<
  ServiceCreate,
  | "ports"
  | "volumes"
  | "resources"
  | "replicas"
  | "stop_grace_seconds"
  | "start_command"
  | "entrypoint"
  | "restart_policy"
  | "restart_max_retries"
  | "pre_deploy_command"
  | "cron_schedule"
  | "cron_timeout_seconds"
  | "healthcheck_path"
  | "healthcheck_timeout_seconds"
  | "drain_seconds"
>;

/** What the hub sends, by message type. */
export interface CanvasServerPayloads {
  /** The auth frame was accepted (also after a re-auth). */
  "auth:ok": { expires_at: string | null };
  /** The whole canvas: first after auth, and again after Deploy or a discard. */
  "canvas:state": CanvasState;
  "users:list": { users: CanvasPresenceUser[] };
  "user:joined": CanvasPresenceUser;
  "user:left": { user_id: string };
  "service:drafts": { drafts: CanvasDraft[] };
  "service:drafting": CanvasDraft;
  "service:draft-cancelled": { draft_id: string };
  /** To the sender of `service:create` only; everyone gets `node:upserted` and `pending-change:added`. */
  "service:created": { draft_id: string; node: CanvasNode; pending_change: PendingChange };
  "service:create-error": { draft_id: string; message: string };
  "node:upserted": CanvasNode;
  "node:deleted": { id: string };
  /** Another user's drag; `user_id` is the mover. */
  "node:moved": { positions: NodePosition[]; user_id: string };
  "edge:upserted": CanvasEdge;
  "edge:deleted": { id: string };
  "cursor:updated": CanvasPresenceUser & { x: number; y: number };
  "pending-changes:state": { changes: PendingChange[] };
  "pending-change:added": PendingChange;
  "pending-changes:removed": { ids: string[] };
  "pending-changes:cleared": Record<string, never>;
  "pending-changes:applied": ApplyResult;
  /** To the sender of `domain:create`/`domain:delete`. */
  "domain:staged": { pending_change: PendingChange };
  "domain:error": { message: string };
  // Bus events, forwarded to the project's room (src/bus.ts).
  "service:upserted": { service: Service };
  "service:deleted": { service_id: string };
  /** `requested`: a user's Stop or Start made the change. */
  "service:status-changed": { service_id: string; old_status: ServiceStatus; new_status: ServiceStatus; requested?: true };
  "service:restarted": { service_id: string; requested_at: string };
  "container:created": { service_id: string; container_id: string; status: string };
  "container:deleted": { service_id: string; container_id: string };
  "deployment:created": { deployment: Deployment };
  "deployment:starting": DeploymentStatusPayload;
  "deployment:healthy": DeploymentStatusPayload;
  "deployment:failed": DeploymentStatusPayload;
  "run:started": { service_id: string; run: ServiceRun };
  "run:skipped": { service_id: string; run: ServiceRun };
  "run:finished": { service_id: string; run: ServiceRun };
  /** A refused client message, to its sender. */
  error: { message: string };
}

export type CanvasServerMessageType = keyof CanvasServerPayloads;

/** A frame from the hub: switching on `type` narrows `payload`. */
export type CanvasServerMessage = {
  [K in CanvasServerMessageType]: { type: K; payload: CanvasServerPayloads[K] };
}[CanvasServerMessageType];

/** What a browser sends, by message type. Anything else is answered with `error`. */
export interface CanvasClientPayloads {
  /** First frame of a socket, and again after a token refresh. */
  auth: { token: string };
  "node:upsert": CanvasNodeUpsert;
  "node:delete": { id: string };
  "node:move": { positions: NodePosition[] };
  "edge:upsert": CanvasEdgeUpsert;
  "edge:delete": { id: string };
  "cursor:move": { x: number; y: number };
  "service:draft-start": { draft_id: string; x: number; y: number };
  "service:draft-cancel": { draft_id: string };
  "service:create": CanvasServiceCreate;
  "domain:create": { service_id: string; hostname?: string; target_port?: number; generate?: boolean };
  "domain:delete": { domain_id: string };
}

export type CanvasClientMessageType = keyof CanvasClientPayloads;

/** A frame to the hub. */
export type CanvasClientMessage = {
  [K in CanvasClientMessageType]: { type: K; payload: CanvasClientPayloads[K] };
}[CanvasClientMessageType];
