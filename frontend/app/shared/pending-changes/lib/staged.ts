import type { ServiceSettings } from "../../../../../src/deployment.ts";
import { DEFAULT_DRAIN_SECONDS } from "../../../../../src/domains.ts";
import {
  REMOVABLE_OPS as DOMAIN_REMOVABLE_OPS,
  effectiveServiceNames,
  OP_DOMAIN_CREATE,
  type PendingChange,
} from "../../../../../src/pending-change.ts";
import { pickPayload, STAGED_SERVICE_KEYS } from "../../../../../src/pending-rules.ts";
import type { Service, ServiceUpdate } from "../../../../../src/service.ts";

/**
 * The UI's projection of the staged-change log (original §8.6), per service: what each service will
 * look like, which exist only as a staged create, which names are taken, what can be undone. The
 * compacted diff shown above Deploy is diff.ts, a variables table's rows env-rows.ts. Pure functions.
 */

/** Ops that can be undone one by one (the domain's REMOVABLE_OPS). */
export const REMOVABLE_OPS: ReadonlySet<string> = new Set(DOMAIN_REMOVABLE_OPS);

/** What a service runs with (the domain's ServiceSettings), with the staged edits overlaid. */
export type { ServiceSettings };

/** What the staged log makes of a service: the domain's ServiceUpdate, merged, plus a staged delete. */
export interface ServiceOverride extends ServiceUpdate {
  deleted: boolean;
}

/** The settings a staged update carries besides the name and icon (the domain's list). */
const SETTINGS_KEYS = STAGED_SERVICE_KEYS.filter((k) => k !== "name" && k !== "icon_url");

/** Latest staged name, icon, settings and delete flag per service id. */
export function serviceOverrides(changes: readonly PendingChange[]): Map<string, ServiceOverride> {
  const out = new Map<string, ServiceOverride>();
  const get = (id: string) => {
    let o = out.get(id);
    if (!o) {
      o = { deleted: false };
      out.set(id, o);
    }
    return o;
  };
  for (const c of changes) {
    if (!c.target_id) continue;
    if (c.op === "service.update") {
      const p = c.payload;
      const o = get(c.target_id);
      if (typeof p.name === "string" && p.name !== "") o.name = p.name;
      if (p.icon_url !== undefined) o.icon_url = p.icon_url === "" || p.icon_url === null ? null : String(p.icon_url);
      Object.assign(o, pickPayload(p, SETTINGS_KEYS));
    } else if (c.op === "service.delete") {
      get(c.target_id).deleted = true;
    }
  }
  return out;
}

/** A service's settings with staged edits applied on top. */
export function effectiveSettings(service: Service, override: ServiceOverride | undefined): ServiceSettings {
  return {
    image: override?.image ?? service.image,
    ports: override?.ports ?? service.ports ?? [],
    volumes: override?.volumes ?? service.volumes ?? [],
    resources: override?.resources !== undefined ? override.resources : (service.resources ?? null),
    replicas: override?.replicas ?? service.replicas ?? 1,
    stop_grace_seconds: override?.stop_grace_seconds ?? service.stop_grace_seconds ?? 30,
    start_command: override?.start_command !== undefined ? override.start_command : (service.start_command ?? null),
    entrypoint: override?.entrypoint !== undefined ? override.entrypoint : (service.entrypoint ?? null),
    restart_policy: override?.restart_policy ?? service.restart_policy ?? "always",
    restart_max_retries: override?.restart_max_retries ?? service.restart_max_retries ?? 10,
    pre_deploy_command: override?.pre_deploy_command !== undefined ? override.pre_deploy_command : (service.pre_deploy_command ?? null),
    cron_schedule: override?.cron_schedule !== undefined ? override.cron_schedule || null : (service.cron_schedule ?? null),
    cron_timeout_seconds: override?.cron_timeout_seconds ?? service.cron_timeout_seconds ?? 3600,
    healthcheck_path: override?.healthcheck_path !== undefined ? override.healthcheck_path : (service.healthcheck_path ?? null),
    healthcheck_timeout_seconds: override?.healthcheck_timeout_seconds ?? service.healthcheck_timeout_seconds ?? 60,
    drain_seconds: override?.drain_seconds ?? service.drain_seconds ?? DEFAULT_DRAIN_SECONDS,
  };
}

/** Canvas groups whose deletion is staged (they stay on the canvas until Deploy). */
export function groupsStagedForDeletion(changes: readonly PendingChange[]): Set<string> {
  return new Set(changes.filter((c) => c.op === "group.delete" && c.target_id).map((c) => c.target_id as string));
}

/** The project's taken service names, lowercased (the domain's effectiveServiceNames). */
export function takenNames(applied: ReadonlyArray<{ id: string; name: string }>, changes: readonly PendingChange[]): Set<string> {
  return new Set(effectiveServiceNames(applied, changes).keys());
}

/** A service that exists only as a staged `service.create`. */
export interface PendingService {
  tempId: string;
  change: PendingChange;
  name: string;
  image: string;
  icon_url: string | null;
  /** Env vars sent inline with the create (removable only by deleting the node). */
  inlineEnv: { key: string; value: string }[];
  /** Env vars staged later against the pending service (removable one by one). */
  stagedEnv: PendingChange[];
}

export function pendingServices(changes: readonly PendingChange[]): Map<string, PendingService> {
  const out = new Map<string, PendingService>();
  for (const c of changes) {
    if (c.op === "service.create" && c.target_temp_id) {
      const p = c.payload;
      const env = Array.isArray(p.env_vars) ? (p.env_vars as { key: string; value: string }[]) : [];
      out.set(c.target_temp_id, {
        tempId: c.target_temp_id,
        change: c,
        name: String(p.name ?? ""),
        image: String(p.image ?? ""),
        icon_url: typeof p.icon_url === "string" && p.icon_url !== "" ? p.icon_url : null,
        inlineEnv: env.map((e) => ({ key: e.key, value: e.value })),
        stagedEnv: [],
      });
    }
  }
  for (const c of changes) {
    if (c.op === "env_var.create" && c.parent_temp_id) out.get(c.parent_temp_id)?.stagedEnv.push(c);
  }
  return out;
}

/** A payload field that should be a string ("" when it is not). */
export function payloadText(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/**
 * The service a staged domain change belongs to. The payload carries `service_id` (issue 12); a
 * `domain.create` aimed at the service itself names it as its target.
 */
export function domainChangeService(c: PendingChange): string | null {
  if (typeof c.payload.service_id === "string" && c.payload.service_id !== "") return c.payload.service_id;
  if ((c.op as string) === OP_DOMAIN_CREATE && c.target_type === "service" && c.target_id) return c.target_id;
  return null;
}

/** The hostname a staged domain change names, when it names one (a generated name is made on Deploy). */
export function domainChangeHost(c: PendingChange): string {
  return payloadText(c.payload.hostname);
}

/** True when every listed change can be removed on its own. */
export function canUndo(changes: readonly PendingChange[], ids: readonly string[]): boolean {
  if (ids.length === 0) return false;
  const byID = new Map(changes.map((c) => [c.id, c]));
  return ids.every((id) => {
    const c = byID.get(id);
    return c !== undefined && REMOVABLE_OPS.has(c.op);
  });
}
