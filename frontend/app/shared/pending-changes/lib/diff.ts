import type { CanvasNode } from "../../../../../src/canvas.ts";
import type { PortMapping } from "../../../../../src/deployment.ts";
import type { PendingChange } from "../../../../../src/pending-change.ts";
import type { Service } from "../../../../../src/service.ts";
import { FIELD_FORMAT, formatPorts } from "./diff-format.ts";
import { effectiveSettings, payloadText, type ServiceOverride, serviceOverrides } from "./staged.ts";

/** The compacted diff shown above the Deploy button: the staged log grouped per target, latest wins. */

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
  for (const c of changes) if (c.op === "service.create" && c.target_temp_id) tempTitles.set(c.target_temp_id, payloadText(c.payload.name));
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
        const g = group(`service:temp:${c.target_temp_id}`, `Service "${payloadText(p.name)}"`);
        g.badge = "creating";
        g.changeIds.push(c.id);
        if (p.image !== undefined || !p.repo_url) setField(g, "image", "Image", "", payloadText(p.image), c.id);
        for (const key of ["repo_url", "branch", "root_dir", "dockerfile_path"] as const)
          if (typeof p[key] === "string" && p[key] !== "") setField(g, key, FIELD_FORMAT[key]?.label ?? key, "", payloadText(p[key]), c.id);
        if (Array.isArray(p.ports) && p.ports.length > 0) setField(g, "ports", "Ports", "", formatPorts(p.ports as PortMapping[]), c.id);
        for (const e of (Array.isArray(p.env_vars) ? p.env_vars : []) as { key: string; value: string }[])
          g.envMap.set(e.key, { key: e.key, kind: "add", after: e.value, changeIds: [c.id] });
        break;
      }
      case "service.update": {
        if (!c.target_id) break;
        const svc = ctx.services.get(c.target_id);
        const applied = svc ? new Map(Object.entries(svc)) : undefined;
        const g = group(`service:${c.target_id}`, serviceTitle(c.target_id));
        g.changeIds.push(c.id);
        for (const [key, meta] of Object.entries(FIELD_FORMAT)) {
          if (p[key] === undefined) continue;
          if (key === "name" && p.name === "") continue;
          const before = meta.fmt(applied?.get(key));
          setField(g, key, meta.label, key === "icon_url" && !svc?.icon_url ? "none" : before, meta.fmt(p[key]), c.id);
        }
        if (p.reparented === true) {
          if (!reparentBefore.has(c.target_id)) reparentBefore.set(c.target_id, payloadText(p.previous_parent_id) || null);
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
        const g = ownerGroup(payloadText(p.scope), c.target_id, c.parent_temp_id);
        g.changeIds.push(c.id);
        const key = payloadText(p.key);
        const prev = g.envMap.get(key);
        const sealed = p.sealed === true ? { sealed: true } : {};
        if (prev?.kind === "remove")
          g.envMap.set(key, {
            key,
            kind: "edit",
            before: prev.before,
            after: payloadText(p.value),
            ...sealed,
            changeIds: [...prev.changeIds, c.id],
          });
        else g.envMap.set(key, { key, kind: "add", after: payloadText(p.value), ...sealed, changeIds: [...(prev?.changeIds ?? []), c.id] });
        break;
      }
      case "env_var.update": {
        const g = ownerGroup(payloadText(p.scope), payloadText(p.scope_id), undefined);
        g.changeIds.push(c.id);
        const key = payloadText(p.key);
        const prev = g.envMap.get(key);
        const renamedTo = typeof p.new_key === "string" && p.new_key !== key ? p.new_key : undefined;
        if (prev && (prev.kind === "add" || prev.kind === "edit")) {
          prev.after = payloadText(p.value);
          if (renamedTo) prev.renamedTo = renamedTo;
          if (p.sealed === true) prev.sealed = true;
          prev.changeIds.push(c.id);
        } else
          g.envMap.set(key, {
            key,
            kind: "edit",
            before: payloadText(p.old_value),
            after: payloadText(p.value),
            ...(renamedTo ? { renamedTo } : {}),
            ...(p.sealed === true ? { sealed: true } : {}),
            changeIds: [c.id],
          });
        break;
      }
      case "env_var.delete": {
        const g = ownerGroup(payloadText(p.scope), payloadText(p.scope_id), undefined);
        g.changeIds.push(c.id);
        const key = payloadText(p.key);
        const prev = g.envMap.get(key);
        const before = prev?.kind === "edit" ? prev.before : payloadText(p.old_value);
        g.envMap.set(key, { key, kind: "remove", before, changeIds: [...(prev?.changeIds ?? []), c.id] });
        break;
      }
      case "group.delete": {
        if (!c.target_id) break;
        const label = ctx.nodes.get(c.target_id)?.label || payloadText(p.label);
        const g = group(`group:${c.target_id}`, label ? `Group "${label}"` : "Group");
        g.badge = "deleting";
        g.changeIds.push(c.id);
        break;
      }
      case "domain.create":
      case "domain.delete": {
        const serviceID = c.op === "domain.create" ? c.target_id : payloadText(p.service_id);
        if (!serviceID) break;
        const g = group(`service:${serviceID}`, serviceTitle(serviceID));
        g.changeIds.push(c.id);
        const host = payloadText(p.hostname);
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
