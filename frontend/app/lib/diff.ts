import type { CanvasNode } from "../../../src/canvas.ts";
import type { PortMapping, Resources, VolumeMount } from "../../../src/deployment.ts";
import { DEFAULT_DRAIN_SECONDS } from "../../../src/domains.ts";
import type { MaskedEnvVar } from "../../../src/envvar.ts";
import type { RestartPolicy } from "../../../src/ops.ts";
import { REMOVABLE_OPS as DOMAIN_REMOVABLE_OPS, effectiveServiceNames, type PendingChange } from "../../../src/pending-change.ts";
import { STAGED_SERVICE_KEYS } from "../../../src/pending-rules.ts";
import type { Service, ServiceUpdate } from "../../../src/service.ts";
import { formatCommand } from "./command.ts";

/**
 * The UI's projection of the staged-change log (original §8.6): what each service will look like,
 * which names are taken, and the compacted diff shown above the Deploy button. Pure functions.
 */

export const DOMAIN_CREATE = "domain.create";
export const DOMAIN_DELETE = "domain.delete";

/** Ops that can be undone one by one (the domain's REMOVABLE_OPS). */
export const REMOVABLE_OPS: ReadonlySet<string> = new Set(DOMAIN_REMOVABLE_OPS);

export interface ServiceSettings {
  image: string;
  ports: PortMapping[];
  volumes: VolumeMount[];
  resources: Resources | null;
  replicas: number;
  stop_grace_seconds: number;
  start_command: string[] | null;
  entrypoint: string[] | null;
  restart_policy: RestartPolicy;
  restart_max_retries: number;
  pre_deploy_command: string[] | null;
  cron_schedule: string | null;
  cron_timeout_seconds: number;
  healthcheck_path: string | null;
  healthcheck_timeout_seconds: number;
  drain_seconds: number;
}

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
      for (const k of SETTINGS_KEYS) if (p[k] !== undefined) (o as unknown as Record<string, unknown>)[k] = p[k];
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

/** The project's taken service names, lowercased (the domain's effectiveServiceNames). */
/** Canvas groups whose deletion is staged (they stay on the canvas until Deploy). */
export function groupsStagedForDeletion(changes: readonly PendingChange[]): Set<string> {
  return new Set(changes.filter((c) => c.op === "group.delete" && c.target_id).map((c) => c.target_id as string));
}

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

// ---------------------------------------------------------------------------------------------
// Compacted diff

export interface DiffField {
  label: string;
  before: string;
  after: string;
  changeIds: string[];
}

export type EnvDiffKind = "add" | "edit" | "remove";

export interface DiffEnv {
  key: string;
  kind: EnvDiffKind;
  before?: string;
  after?: string;
  /** A staged rename's new key (`key` is the applied one). */
  renamedTo?: string;
  /** A sealed variable: its values are never sent, so `before`/`after` say nothing. */
  sealed?: boolean;
  changeIds: string[];
}

export interface DiffGroup {
  /** `project`, `service:<id>`, `service:temp:<tempId>` or `group:<id>`. */
  id: string;
  title: string;
  badge?: "creating" | "deleting";
  /** Said before Deploy: what the change costs (a service with a volume stops before it restarts). */
  warning?: string;
  fields: DiffField[];
  env: DiffEnv[];
  /** Every entry that contributed to the group. */
  changeIds: string[];
}

export interface DiffContext {
  project: { id: string; name: string } | undefined;
  services: ReadonlyMap<string, Service>;
  /** Live canvas nodes by id (group labels, a service node's current parent). */
  nodes: ReadonlyMap<string, Pick<CanvasNode, "id" | "type" | "label" | "service_id" | "parent_id">>;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

export function formatPorts(ports: readonly PortMapping[] | undefined): string {
  if (!ports || ports.length === 0) return "none";
  return ports.map((p) => `${p.host_port ? `${p.host_port}→` : ""}${p.container_port}${p.protocol === "udp" ? "/udp" : ""}`).join(", ");
}

export function formatVolumes(vols: readonly VolumeMount[] | undefined): string {
  if (!vols || vols.length === 0) return "none";
  return vols.map((v) => `${v.name}:${v.mount_path}`).join(", ");
}

export function formatResources(r: Resources | null | undefined): string {
  if (!r) return "no limits";
  const parts: string[] = [];
  if (r.memory_mb) parts.push(`${r.memory_mb} MiB`);
  if (r.cpus) parts.push(`${r.cpus} CPU`);
  if (r.cpu_shares) parts.push(`${r.cpu_shares} shares`);
  return parts.length ? parts.join(", ") : "no limits";
}

const FIELD_FORMAT: Record<string, { label: string; fmt: (v: unknown) => string }> = {
  name: { label: "Name", fmt: (v) => str(v) },
  icon_url: { label: "Icon", fmt: (v) => (v === "" || v === null || v === undefined ? "cleared" : String(v)) },
  image: { label: "Image", fmt: (v) => str(v) },
  ports: { label: "Ports", fmt: (v) => formatPorts(v as PortMapping[]) },
  volumes: { label: "Volumes", fmt: (v) => formatVolumes(v as VolumeMount[]) },
  resources: { label: "Limits", fmt: (v) => formatResources(v as Resources | null) },
  replicas: { label: "Replicas", fmt: (v) => String(v ?? 1) },
  stop_grace_seconds: { label: "Stop grace", fmt: (v) => `${v ?? 30} s` },
  start_command: { label: "Command", fmt: (v) => formatArgvSetting(v) },
  entrypoint: { label: "Entrypoint", fmt: (v) => formatArgvSetting(v) },
  restart_policy: { label: "Restart policy", fmt: (v) => str(v ?? "always") },
  restart_max_retries: { label: "Max retries", fmt: (v) => String(v ?? 10) },
  pre_deploy_command: {
    label: "Pre-deploy command",
    fmt: (v) => (Array.isArray(v) && v.length > 0 ? formatCommand(v as string[]) : "none"),
  },
  cron_schedule: { label: "Cron schedule", fmt: (v) => (typeof v === "string" && v.trim() !== "" ? `${v} (UTC)` : "none (always on)") },
  cron_timeout_seconds: { label: "Cron timeout", fmt: (v) => `${v ?? 3600} s` },
  healthcheck_path: { label: "Health check", fmt: (v) => (typeof v === "string" && v !== "" ? `GET ${v}` : "off (stays up 10 s)") },
  healthcheck_timeout_seconds: { label: "Health check timeout", fmt: (v) => `${v ?? 60} s` },
  drain_seconds: { label: "Drain time", fmt: (v) => `${v ?? DEFAULT_DRAIN_SECONDS} s` },
  // Issue 13: where a built service's code comes from.
  repo_url: { label: "Repository", fmt: (v) => (typeof v === "string" && v !== "" ? v : "none (runs its image)") },
  branch: { label: "Branch", fmt: (v) => (typeof v === "string" && v !== "" ? v : "main") },
  root_dir: { label: "Root directory", fmt: (v) => (typeof v === "string" && v !== "" ? v : "repository root") },
  dockerfile_path: { label: "Dockerfile", fmt: (v) => (typeof v === "string" && v !== "" ? v : "Dockerfile") },
};

/**
 * The warning shown above Deploy for a running service with a volume that the change redeploys: it
 * is stopped before its new container starts (never two containers on one volume).
 */
export function volumeRedeployWarning(service: Service | undefined, override: ServiceOverride | undefined): string | undefined {
  if (!service?.active_deployment_id || override?.deleted) return undefined;
  const settings = effectiveSettings(service, override);
  if (settings.volumes.length === 0 && (service.volumes ?? []).length === 0) return undefined;
  return `Has a volume: Deploy stops the running container (up to ${settings.stop_grace_seconds} s to shut down) before the new one starts, so the service is briefly unavailable.`;
}

/** An argv setting (start command, entrypoint) as one line; empty is the image's own. */
function formatArgvSetting(v: unknown): string {
  return Array.isArray(v) && v.length > 0 ? formatCommand(v as string[]) : "image default";
}

function groupLabel(ctx: DiffContext, id: string | null | undefined): string {
  if (!id) return "(top-level)";
  const n = ctx.nodes.get(id);
  return n ? `Group "${n.label || "Group"}"` : "(deleted group)";
}

function serviceNodeParent(ctx: DiffContext, serviceID: string): string | null {
  for (const n of ctx.nodes.values()) if (n.service_id === serviceID) return n.parent_id ?? null;
  return null;
}

/**
 * Project and group variables reach every service under them: the running services with a volume
 * among those are stopped before they restart, and the diff says which.
 */
function sharedVariableWarning(ctx: DiffContext, groupID: string, overrides: Map<string, ServiceOverride>): string | undefined {
  const inScope = (svc: Service) =>
    groupID === "project" || (groupID.startsWith("group:") && serviceNodeParent(ctx, svc.id) === groupID.slice(6));
  const names = [...ctx.services.values()]
    .filter((svc) => inScope(svc) && volumeRedeployWarning(svc, overrides.get(svc.id)) !== undefined)
    .map((svc) => svc.name)
    .sort();
  if (names.length === 0) return undefined;
  return `Services with a volume (${names.join(", ")}) are stopped before their new container starts, so they are briefly unavailable.`;
}

/** Groups the log per target with latest-wins fields and merged env var rows; empty groups hidden. */
export function compactDiff(changes: readonly PendingChange[], ctx: DiffContext): DiffGroup[] {
  const groups = new Map<string, DiffGroup & { fieldMap: Map<string, DiffField>; envMap: Map<string, DiffEnv> }>();
  const group = (id: string, title: string) => {
    let g = groups.get(id);
    if (!g) {
      g = { id, title, fields: [], env: [], changeIds: [], fieldMap: new Map(), envMap: new Map() };
      groups.set(id, g);
    }
    return g;
  };
  const serviceTitle = (id: string) => `Service "${ctx.services.get(id)?.name ?? "unknown"}"`;
  const tempTitles = new Map<string, string>();
  for (const c of changes) if (c.op === "service.create" && c.target_temp_id) tempTitles.set(c.target_temp_id, str(c.payload.name));
  const ownerGroup = (scope: string, ownerID: string | undefined, tempID: string | undefined) => {
    if (tempID) return group(`service:temp:${tempID}`, `Service "${tempTitles.get(tempID) ?? "new"}"`);
    if (scope === "project") return group("project", `Project "${ctx.project?.name ?? ""}"`);
    if (scope === "group" && ownerID) {
      const n = ctx.nodes.get(ownerID);
      return group(`group:${ownerID}`, n?.label ? `Group "${n.label}"` : "Group");
    }
    return group(`service:${ownerID ?? "unknown"}`, serviceTitle(ownerID ?? ""));
  };
  const setField = (g: ReturnType<typeof group>, key: string, label: string, before: string, after: string, changeID: string) => {
    const f = g.fieldMap.get(key);
    if (f) {
      f.after = after;
      f.changeIds.push(changeID);
    } else g.fieldMap.set(key, { label, before, after, changeIds: [changeID] });
  };
  const reparentBefore = new Map<string, string | null>();

  for (const c of changes) {
    const p = c.payload;
    switch (c.op) {
      case "project.update": {
        const g = group("project", `Project "${ctx.project?.name ?? ""}"`);
        g.changeIds.push(c.id);
        if (typeof p.name === "string") setField(g, "name", "Name", ctx.project?.name ?? "", p.name, c.id);
        break;
      }
      case "service.create": {
        if (!c.target_temp_id) break;
        const g = group(`service:temp:${c.target_temp_id}`, `Service "${str(p.name)}"`);
        g.badge = "creating";
        g.changeIds.push(c.id);
        if (p.image !== undefined || !p.repo_url) setField(g, "image", "Image", "", str(p.image), c.id);
        for (const key of ["repo_url", "branch", "root_dir", "dockerfile_path"] as const)
          if (typeof p[key] === "string" && p[key] !== "") setField(g, key, FIELD_FORMAT[key]?.label ?? key, "", str(p[key]), c.id);
        if (Array.isArray(p.ports) && p.ports.length > 0) setField(g, "ports", "Ports", "", formatPorts(p.ports as PortMapping[]), c.id);
        for (const e of (Array.isArray(p.env_vars) ? p.env_vars : []) as { key: string; value: string }[])
          g.envMap.set(e.key, { key: e.key, kind: "add", after: e.value, changeIds: [c.id] });
        break;
      }
      case "service.update": {
        if (!c.target_id) break;
        const svc = ctx.services.get(c.target_id);
        const g = group(`service:${c.target_id}`, serviceTitle(c.target_id));
        g.changeIds.push(c.id);
        for (const [key, meta] of Object.entries(FIELD_FORMAT)) {
          if (p[key] === undefined) continue;
          if (key === "name" && p.name === "") continue;
          const before = meta.fmt(svc ? (svc as unknown as Record<string, unknown>)[key] : undefined);
          setField(g, key, meta.label, key === "icon_url" && !svc?.icon_url ? "none" : before, meta.fmt(p[key]), c.id);
        }
        if (p.reparented === true) {
          if (!reparentBefore.has(c.target_id)) reparentBefore.set(c.target_id, str(p.previous_parent_id) || null);
          const before = groupLabel(ctx, reparentBefore.get(c.target_id));
          setField(g, "group", "Group", before, groupLabel(ctx, serviceNodeParent(ctx, c.target_id)), c.id);
        }
        break;
      }
      case "service.delete": {
        if (!c.target_id) break;
        const g = group(`service:${c.target_id}`, serviceTitle(c.target_id));
        g.badge = "deleting";
        g.changeIds.push(c.id);
        break;
      }

      case "env_var.create": {
        const g = ownerGroup(str(p.scope), c.target_id, c.parent_temp_id);
        g.changeIds.push(c.id);
        const key = str(p.key);
        const prev = g.envMap.get(key);
        const sealed = p.sealed === true ? { sealed: true } : {};
        if (prev?.kind === "remove")
          g.envMap.set(key, {
            key,
            kind: "edit",
            before: prev.before,
            after: str(p.value),
            ...sealed,
            changeIds: [...prev.changeIds, c.id],
          });
        else g.envMap.set(key, { key, kind: "add", after: str(p.value), ...sealed, changeIds: [...(prev?.changeIds ?? []), c.id] });
        break;
      }
      case "env_var.update": {
        const g = ownerGroup(str(p.scope), str(p.scope_id), undefined);
        g.changeIds.push(c.id);
        const key = str(p.key);
        const prev = g.envMap.get(key);
        const renamedTo = typeof p.new_key === "string" && p.new_key !== key ? p.new_key : undefined;
        if (prev && (prev.kind === "add" || prev.kind === "edit")) {
          prev.after = str(p.value);
          if (renamedTo) prev.renamedTo = renamedTo;
          if (p.sealed === true) prev.sealed = true;
          prev.changeIds.push(c.id);
        } else
          g.envMap.set(key, {
            key,
            kind: "edit",
            before: str(p.old_value),
            after: str(p.value),
            ...(renamedTo ? { renamedTo } : {}),
            ...(p.sealed === true ? { sealed: true } : {}),
            changeIds: [c.id],
          });
        break;
      }
      case "env_var.delete": {
        const g = ownerGroup(str(p.scope), str(p.scope_id), undefined);
        g.changeIds.push(c.id);
        const key = str(p.key);
        const prev = g.envMap.get(key);
        const before = prev?.kind === "edit" ? prev.before : str(p.old_value);
        g.envMap.set(key, { key, kind: "remove", before, changeIds: [...(prev?.changeIds ?? []), c.id] });
        break;
      }
      case "group.delete": {
        if (!c.target_id) break;
        const label = ctx.nodes.get(c.target_id)?.label || str(p.label);
        const g = group(`group:${c.target_id}`, label ? `Group "${label}"` : "Group");
        g.badge = "deleting";
        g.changeIds.push(c.id);
        break;
      }
      case "domain.create":
      case "domain.delete": {
        const serviceID = c.op === "domain.create" ? c.target_id : str(p.service_id);
        if (!serviceID) break;
        const g = group(`service:${serviceID}`, serviceTitle(serviceID));
        g.changeIds.push(c.id);
        const host = str(p.hostname);
        const shown = c.op === "domain.create" ? `https://${host} → :${String(p.target_port)}` : "";
        setField(g, `domain:${host}`, "Domain", c.op === "domain.delete" ? `https://${host}` : "", shown, c.id);
        break;
      }
    }
  }

  const overrides = serviceOverrides(changes);
  const out: DiffGroup[] = [];
  for (const g of groups.values()) {
    const fields = [...g.fieldMap.values()].filter((f) => f.before !== f.after || g.badge === "creating");
    const env = [...g.envMap.values()]
      .filter((e) => !(e.kind === "edit" && e.before === e.after && !e.renamedTo && !e.sealed))
      .sort((a, b) => a.key.localeCompare(b.key));
    if (fields.length === 0 && env.length === 0 && !g.badge) continue;
    const serviceID = g.id.startsWith("service:") && !g.id.startsWith("service:temp:") ? g.id.slice("service:".length) : null;
    const warning = serviceID
      ? !g.badge
        ? volumeRedeployWarning(ctx.services.get(serviceID), overrides.get(serviceID))
        : undefined
      : env.length > 0
        ? sharedVariableWarning(ctx, g.id, overrides)
        : undefined;
    out.push({
      id: g.id,
      title: g.title,
      ...(g.badge ? { badge: g.badge } : {}),
      ...(warning ? { warning } : {}),
      fields,
      env,
      changeIds: g.changeIds,
    });
  }
  const rank = (id: string) => (id === "project" ? 0 : id.startsWith("group:") ? 1 : 2);
  return out.sort((a, b) => rank(a.id) - rank(b.id));
}

/**
 * The service a staged domain change belongs to. The payload carries `service_id` (issue 12); a
 * `domain.create` aimed at the service itself names it as its target.
 */
export function domainChangeService(c: PendingChange): string | null {
  if (typeof c.payload.service_id === "string" && c.payload.service_id !== "") return c.payload.service_id;
  if ((c.op as string) === DOMAIN_CREATE && c.target_type === "service" && c.target_id) return c.target_id;
  return null;
}

/** The hostname a staged domain change names, when it names one (a generated name is made on Deploy). */
export function domainChangeHost(c: PendingChange): string {
  return str(c.payload.hostname);
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

// ---------------------------------------------------------------------------------------------
// Env var table rows (project, group or service scope)

export type EnvRowState = "unchanged" | "add" | "edit" | "remove";

export interface EnvRow {
  key: string;
  /**
   * The value the row will have after Deploy (the old one for removals), when known: applied values
   * are masked by the API (revealed one at a time) and sealed ones are never sent.
   */
  value?: string;
  sealed: boolean;
  state: EnvRowState;
  /** The applied variable, when there is one. */
  envVar?: MaskedEnvVar;
  /** The applied key when a rename is staged (`key` is then the new one). */
  renamedFrom?: string;
  /** Staged entries that make up the row's pending state (undo removes them all). */
  changeIds: string[];
}

/**
 * Merges applied variables of one owner with the staged entries for it. Delete-then-create of the
 * same key is an edit. Pending rows come after unchanged ones, then by key.
 */
export function mergeEnvRows(
  applied: readonly MaskedEnvVar[],
  changes: readonly PendingChange[],
  scope: string,
  ownerID: string,
): EnvRow[] {
  const rows = new Map<string, EnvRow>();
  const opt = (v: unknown) => (typeof v === "string" ? v : undefined);
  for (const v of applied) rows.set(v.key, { key: v.key, sealed: v.sealed, state: "unchanged", envVar: v, changeIds: [] });
  for (const c of changes) {
    const p = c.payload;
    if (str(p.scope) !== scope) continue;
    const key = str(p.key);
    if (c.op === "env_var.create") {
      if (c.target_id !== ownerID && c.parent_temp_id !== ownerID) continue;
      const prev = rows.get(key);
      const sealed = p.sealed === true;
      if (prev && prev.state === "remove")
        rows.set(key, { ...prev, value: opt(p.value), sealed, state: "edit", changeIds: [...prev.changeIds, c.id] });
      else rows.set(key, { key, value: opt(p.value), sealed, state: "add", changeIds: [...(prev?.changeIds ?? []), c.id] });
    } else if (c.op === "env_var.update" || c.op === "env_var.delete") {
      if (str(p.scope_id) !== ownerID) continue;
      // By id first: the payload names the applied key, which a staged rename has moved off the row.
      const prev = [...rows.values()].find((r) => r.envVar && r.envVar.id === c.target_id) ?? rows.get(key);
      const base: EnvRow = prev ?? { key, value: opt(p.old_value), sealed: p.sealed === true, state: "unchanged", changeIds: [] };
      rows.delete(base.key);
      if (c.op === "env_var.update") {
        const next = typeof p.new_key === "string" && p.new_key !== "" ? p.new_key : base.key;
        const from = base.renamedFrom ?? base.key;
        rows.set(next, {
          ...base,
          key: next,
          value: opt(p.value),
          state: base.state === "add" ? "add" : "edit",
          changeIds: [...base.changeIds, c.id],
          ...(next !== from ? { renamedFrom: from } : { renamedFrom: undefined }),
        });
      } else rows.set(base.key, { ...base, value: opt(p.old_value), state: "remove", changeIds: [...base.changeIds, c.id] });
    }
  }
  const order = (r: EnvRow) => (r.state === "unchanged" ? 0 : 1);
  return [...rows.values()].sort((a, b) => order(a) - order(b) || a.key.localeCompare(b.key));
}
