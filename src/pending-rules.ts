import { EINVALID, errorf } from "./errors.ts";
import {
  OP_DOMAIN_CREATE,
  OP_DOMAIN_DELETE,
  OP_ENV_CREATE,
  OP_ENV_DELETE,
  OP_ENV_UPDATE,
  OP_GROUP_DELETE,
  OP_PROJECT_UPDATE,
  OP_SERVICE_CREATE,
  OP_SERVICE_DELETE,
  OP_SERVICE_UPDATE,
  PENDING_OPS,
  type PendingChangeAppend,
  type PendingOp,
  TARGET_DOMAIN,
  TARGET_ENV_VAR,
  TARGET_GROUP,
  TARGET_PROJECT,
  TARGET_SERVICE,
  type TargetType,
} from "./pending-change.ts";

/**
 * The staged-change log's pure rules (issue 11): what an entry must look like, which service
 * settings a staged create or update carries, and what counts as a pure move between groups. No
 * database: the SQLite layer stores and replays, the SPA imports the same values.
 */

/** The target type each op must name. */
export const PENDING_OP_TARGETS: Readonly<Record<PendingOp, TargetType>> = {
  [OP_PROJECT_UPDATE]: TARGET_PROJECT,
  [OP_SERVICE_CREATE]: TARGET_SERVICE,
  [OP_SERVICE_UPDATE]: TARGET_SERVICE,
  [OP_SERVICE_DELETE]: TARGET_SERVICE,
  [OP_ENV_CREATE]: TARGET_ENV_VAR,
  [OP_ENV_UPDATE]: TARGET_ENV_VAR,
  [OP_ENV_DELETE]: TARGET_ENV_VAR,
  [OP_DOMAIN_CREATE]: TARGET_SERVICE,
  [OP_DOMAIN_DELETE]: TARGET_DOMAIN,
  [OP_GROUP_DELETE]: TARGET_GROUP,
};

/** The service settings a staged `service.create`/`service.update` carries (anything else is dropped). */
export const STAGED_SERVICE_KEYS = [
  "name",
  "icon_url",
  "image",
  "ports",
  "volumes",
  "resources",
  "replicas",
  "stop_grace_seconds",
  "start_command",
  "entrypoint",
  "restart_policy",
  "restart_max_retries",
  "pre_deploy_command",
  "cron_schedule",
  "cron_timeout_seconds",
  "healthcheck_path",
  "healthcheck_timeout_seconds",
  "drain_seconds",
  "repo_url",
  "branch",
  "root_dir",
  "dockerfile_path",
] as const;

export type Payload = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Payload {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The listed keys of `p` that are set. */
export function pickPayload(p: Payload, keys: readonly string[]): Payload {
  const out: Payload = {};
  for (const k of keys) if (p[k] !== undefined) out[k] = p[k];
  return out;
}

/** A group id from a payload field: "" and non-strings mean the top level. */
export function parentOrNull(v: unknown): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}

/** A `service.update` that only moves the service between groups (coalesced, undone by moving back). */
export function isPureReparent(p: Payload): boolean {
  return p.reparented === true && Object.keys(p).every((k) => k === "reparented" || k === "previous_parent_id");
}

/** The shape every entry must have before anything is looked up: a known op, its target type, ids, an object payload. */
export function validatePendingShape(c: PendingChangeAppend): void {
  if (!isPlainObject(c)) throw errorf(EINVALID, "Pending change must be an object.");
  if (!(PENDING_OPS as readonly string[]).includes(c.op)) throw errorf(EINVALID, "Unknown pending change op.");
  if (c.target_type !== PENDING_OP_TARGETS[c.op]) throw errorf(EINVALID, "Target type does not match the op.");
  if (c.payload !== undefined && !isPlainObject(c.payload)) throw errorf(EINVALID, "Payload must be a JSON object.");
  for (const id of [c.target_id, c.target_temp_id, c.parent_temp_id]) {
    if (id !== undefined && (typeof id !== "string" || id === "" || id.length > 128)) throw errorf(EINVALID, "Target id is invalid.");
  }
}
