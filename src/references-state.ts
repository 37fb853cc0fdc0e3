import type { EnvScope } from "./envvar.ts";
import {
  OP_DOMAIN_CREATE,
  OP_DOMAIN_DELETE,
  OP_ENV_CREATE,
  OP_ENV_DELETE,
  OP_ENV_UPDATE,
  OP_GROUP_DELETE,
  OP_SERVICE_CREATE,
  OP_SERVICE_DELETE,
  OP_SERVICE_UPDATE,
  type PendingChange,
} from "./pending-change.ts";
import {
  type ReferenceProject,
  type ReferenceService,
  renameServiceInValue,
  renameVariableInValue,
  SHARED_NAMESPACE,
} from "./references.ts";

/**
 * What references can see of a project: services (applied ones by id, staged ones by the temp id of
 * their canvas node), every variable with its owner, and domains. `stageLog` plays a pending log on
 * it, so staging can check what the project would look like after Deploy.
 */
export interface VariableState {
  project_id: string;
  services: VariableStateService[];
  vars: VariableStateVar[];
  domains: { id: string; service_id: string; hostname: string; generated: boolean }[];
  /** The group of each pending service's pre-placed canvas node (by node id), for staged creates. */
  pending_groups?: Record<string, string>;
}

export interface VariableStateService {
  id: string;
  name: string;
  port?: number;
  /** The canvas group the service's node is in. */
  group_id?: string;
}

export interface VariableStateVar {
  id: string;
  scope: EnvScope;
  scope_id: string;
  key: string;
  value: string;
}

/**
 * The primary public domain: the oldest custom one, else the generated one (domains are listed
 * oldest first).
 */
export function primaryDomain(domains: VariableState["domains"], serviceID: string): string | undefined {
  const mine = domains.filter((d) => d.service_id === serviceID);
  return (mine.find((d) => !d.generated) ?? mine[0])?.hostname;
}

export function toReferenceProject(st: VariableState): ReferenceProject {
  const layer = (scope: EnvScope, id: string | undefined) => st.vars.filter((v) => v.scope === scope && v.scope_id === id);
  const services: ReferenceService[] = st.services.map((s) => {
    const env: Record<string, string> = Object.create(null);
    for (const v of [...layer("project", st.project_id), ...layer("group", s.group_id), ...layer("service", s.id)]) env[v.key] = v.value;
    const out: ReferenceService = { id: s.id, name: s.name, env };
    if (s.port !== undefined) out.port = s.port;
    const domain = primaryDomain(st.domains, s.id);
    if (domain) out.domain = domain;
    return out;
  });
  const shared: Record<string, string> = Object.create(null);
  for (const v of layer("shared", st.project_id)) shared[v.key] = v.value;
  return { id: st.project_id, services, shared };
}

function firstPort(ports: unknown): number | undefined {
  if (!Array.isArray(ports)) return undefined;
  const p = (ports[0] as { container_port?: unknown } | undefined)?.container_port;
  return typeof p === "number" ? p : undefined;
}

/** Rewrites every value that references the renamed service. Returns the ids of the rewritten vars. */
export function renameServiceInState(st: VariableState, oldName: string, newName: string): string[] {
  const changed: string[] = [];
  for (const v of st.vars) {
    const value = renameServiceInValue(v.value, oldName, newName);
    if (value !== v.value) {
      v.value = value;
      changed.push(v.id);
    }
  }
  return changed;
}

/**
 * Rewrites the references to a renamed variable: `${{svc.OLD}}` everywhere for a service variable
 * (and `${{OLD}}` in that service's own variables), `${{shared.OLD}}` (and `${{OLD}}` in shared
 * variables) for a shared one, `${{OLD}}` in the same scope for a project or group one.
 */
export function renameVariableInState(st: VariableState, v: VariableStateVar, newKey: string): string[] {
  const changed: string[] = [];
  const owner =
    v.scope === "service" ? st.services.find((s) => s.id === v.scope_id)?.name : v.scope === "shared" ? SHARED_NAMESPACE : undefined;
  for (const other of st.vars) {
    let value = other.value;
    if (owner !== undefined) value = renameVariableInValue(value, { service: owner, oldKey: v.key, newKey });
    if (other.scope === v.scope && other.scope_id === v.scope_id) value = renameVariableInValue(value, { oldKey: v.key, newKey });
    if (value !== other.value) {
      other.value = value;
      changed.push(other.id);
    }
  }
  return changed;
}

/** The state after the log's entries, as Apply would leave it (best effort: malformed entries are skipped). */
export function stageLog(base: VariableState, log: readonly PendingChange[]): VariableState {
  const st: VariableState = structuredClone(base);
  let seq = 0;
  for (const c of log) {
    const p = c.payload;
    switch (c.op) {
      case OP_SERVICE_CREATE: {
        if (!c.target_temp_id || typeof p.name !== "string") break;
        const s: VariableStateService = { id: c.target_temp_id, name: p.name };
        const port = firstPort(p.ports);
        if (port !== undefined) s.port = port;
        const group = st.pending_groups?.[s.id];
        if (group) s.group_id = group;
        st.services.push(s);
        for (const e of Array.isArray(p.env_vars) ? (p.env_vars as { key?: unknown; value?: unknown }[]) : []) {
          if (typeof e?.key === "string" && typeof e.value === "string")
            st.vars.push({ id: `staged-${++seq}`, scope: "service", scope_id: s.id, key: e.key, value: e.value });
        }
        break;
      }
      case OP_SERVICE_UPDATE: {
        const s = st.services.find((x) => x.id === c.target_id);
        if (!s) break;
        if (typeof p.name === "string" && p.name !== "" && p.name !== s.name) {
          renameServiceInState(st, s.name, p.name);
          s.name = p.name;
        }
        if (p.ports !== undefined) {
          const port = firstPort(p.ports);
          if (port === undefined) delete s.port;
          else s.port = port;
        }
        break;
      }
      case OP_SERVICE_DELETE:
        st.services = st.services.filter((s) => s.id !== c.target_id);
        st.vars = st.vars.filter((v) => !(v.scope === "service" && v.scope_id === c.target_id));
        st.domains = st.domains.filter((d) => d.service_id !== c.target_id);
        break;
      case OP_ENV_CREATE: {
        const owner = c.parent_temp_id ?? c.target_id;
        if (!owner || typeof p.key !== "string" || typeof p.value !== "string") break;
        st.vars.push({ id: `staged-${++seq}`, scope: p.scope as EnvScope, scope_id: owner, key: p.key, value: p.value });
        break;
      }
      case OP_ENV_UPDATE: {
        const v = st.vars.find((x) => x.id === c.target_id);
        if (!v) break;
        if (typeof p.value === "string") v.value = p.value;
        if (typeof p.new_key === "string" && p.new_key !== v.key) {
          renameVariableInState(st, v, p.new_key);
          v.key = p.new_key;
        }
        break;
      }
      case OP_ENV_DELETE:
        st.vars = st.vars.filter((v) => v.id !== c.target_id);
        break;
      case OP_DOMAIN_CREATE:
        if (c.target_id && typeof p.hostname === "string")
          st.domains.push({ id: `staged-${++seq}`, service_id: c.target_id, hostname: p.hostname, generated: p.generated === true });
        break;
      case OP_DOMAIN_DELETE:
        st.domains = st.domains.filter((d) => d.id !== c.target_id);
        break;
      case OP_GROUP_DELETE:
        st.vars = st.vars.filter((v) => !(v.scope === "group" && v.scope_id === c.target_id));
        for (const s of st.services) if (s.group_id === c.target_id) delete s.group_id;
        break;
    }
  }
  return st;
}
