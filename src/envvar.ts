import { type Deployment, ENV_KEY_MESSAGE, ENV_KEY_PATTERN } from "./deployment.ts";
import { FieldErrorCollector } from "./errors.ts";

export const SCOPE_PROJECT = "project";
export const SCOPE_GROUP = "group";
export const SCOPE_SERVICE = "service";
export type EnvScope = typeof SCOPE_PROJECT | typeof SCOPE_GROUP | typeof SCOPE_SERVICE;
export const ENV_SCOPES: readonly EnvScope[] = [SCOPE_PROJECT, SCOPE_GROUP, SCOPE_SERVICE];

export const ENV_KEY_MAX = 256;
export const ENV_VALUE_MAX = 64 * 1024;

/**
 * A variable at project, group (canvas group node) or service scope. A service sees
 * project < group < service, later winning; values may reference other services with
 * `${{name.HOST}}` and `${{name.PORT}}`.
 */
export interface EnvVar {
  id: string;
  scope: EnvScope;
  scope_id: string;
  key: string;
  value: string;
  /** Write-only: the value is never returned by the API or sent to the canvas, and cannot be unsealed. */
  sealed: boolean;
  created_at: string;
  updated_at: string;
}

/** A variable as listed by the API: never its value (`POST …/:id/reveal` returns one, unless sealed). */
export type MaskedEnvVar = Omit<EnvVar, "value"> & { masked: true };

export interface EnvVarCreate {
  scope: EnvScope;
  scope_id: string;
  key: string;
  value: string;
  sealed?: boolean;
}

export interface EnvVarFilter {
  scope?: EnvScope;
  scope_id?: string;
  key?: string;
}

/** How another service is reached from inside the project network. */
export interface ServiceEndpoint {
  /** The DNS alias on the project network: the service name. */
  host: string;
  /** First container port, when the service has one. */
  port?: number;
}

/** A resolved env map and, per key, the service names it referenced (resolved or not). */
export interface ResolvedEnv {
  env: Record<string, string>;
  refs: Record<string, string[]>;
  /** Keys whose winning variable is sealed: their values are never presented. */
  sealed?: string[];
}

export function isEnvScope(s: unknown): s is EnvScope {
  return typeof s === "string" && (ENV_SCOPES as readonly string[]).includes(s);
}

export function validateEnvKey(key: unknown, v: FieldErrorCollector, field = "key"): void {
  if (typeof key !== "string" || key === "") v.add(field, "Key is required.");
  else if (key.length > ENV_KEY_MAX) v.add(field, `Key is too long (max ${ENV_KEY_MAX} characters).`);
  else if (!ENV_KEY_PATTERN.test(key)) v.add(field, ENV_KEY_MESSAGE);
}

export function validateEnvValue(value: unknown, v: FieldErrorCollector, field = "value"): void {
  if (typeof value !== "string") v.add(field, "value is required.");
  else if (value.length > ENV_VALUE_MAX) v.add(field, `Value is too long (max ${ENV_VALUE_MAX} characters).`);
  else if (value.includes("\u0000")) v.add(field, "Value cannot contain NUL characters.");
}

/** Throws a field error (422). */
export function validateEnvVarInput(input: { key: unknown; value: unknown }): void {
  const v = new FieldErrorCollector();
  validateEnvKey(input.key, v);
  validateEnvValue(input.value, v);
  v.throwIfAny();
}

export const UNSEAL_MESSAGE = "A sealed variable cannot be unsealed; replace its value or delete it.";
export const SEAL_LATER_MESSAGE = "A variable is sealed when it is created; create a new sealed one instead.";
export const REVEAL_SEALED_MESSAGE = "A sealed variable's value is write-only and cannot be revealed.";

/** `{ sealed: true }` when a create asks for it, else nothing: payloads of ordinary variables keep their shape. */
export function sealedFlag(p: { sealed?: unknown }): { sealed?: true } {
  return p.sealed === true ? { sealed: true } : {};
}

/**
 * Sealing is one-way: `sealed` on a create must be a boolean; on a change to an existing variable
 * it may only repeat what the variable is. Throws a field error (EINVALID) on `sealed`.
 */
export function validateSealed(sealed: unknown, current?: { sealed: boolean }): void {
  if (sealed === undefined) return;
  const v = new FieldErrorCollector();
  if (typeof sealed !== "boolean") v.add("sealed", "Sealed must be true or false.");
  else if (current?.sealed && !sealed) v.add("sealed", UNSEAL_MESSAGE);
  else if (current && !current.sealed && sealed) v.add("sealed", SEAL_LATER_MESSAGE);
  v.throwIfAny();
}

/**
 * A staged change as it may be shown: the value fields of a sealed variable (`value`, `old_value`,
 * and sealed entries of a new service's `env_vars`) are dropped. Other payloads are returned as they are.
 */
export function redactSealedPayload(p: Record<string, unknown>): Record<string, unknown> {
  let out = p;
  if (p.sealed === true) {
    const { value: _v, old_value: _o, ...rest } = p;
    out = rest;
  }
  if (Array.isArray(p.env_vars) && p.env_vars.some((e) => (e as { sealed?: unknown } | null)?.sealed === true))
    out = {
      ...out,
      env_vars: (p.env_vars as Record<string, unknown>[]).map((e) => {
        if (e?.sealed !== true) return e;
        const { value: _v, ...rest } = e;
        return rest;
      }),
    };
  return out;
}

/** What stands where a sealed value was substituted into a command or a log. */
export const SEALED_PLACEHOLDER = "[sealed]";

/**
 * A deployment as it may be shown: the sealed keys are left out of env_vars, and their values are
 * replaced by SEALED_PLACEHOLDER wherever they were substituted (commands) or echoed (logs).
 */
export function redactSealedDeployment(d: Deployment): Deployment {
  const keys = d.sealed_keys ?? [];
  if (keys.length === 0) return d;
  const values = keys.map((k) => d.env_vars[k]).filter((v): v is string => typeof v === "string" && v !== "");
  const hide = (s: string) => values.reduce((acc, v) => acc.split(v).join(SEALED_PLACEHOLDER), s);
  const env: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(d.env_vars)) if (!keys.includes(k)) env[k] = hide(v);
  const out: Deployment = { ...d, env_vars: env };
  for (const f of ["start_command", "entrypoint", "pre_deploy_command"] as const) {
    const cmd = d[f];
    if (cmd) out[f] = cmd.map(hide);
  }
  for (const f of ["log_tail", "pre_deploy_log", "failure_reason"] as const) {
    const text = d[f];
    if (typeof text === "string") out[f] = hide(text);
  }
  return out;
}

const REF_PATTERN = /\$\{\{\s*([A-Za-z0-9][A-Za-z0-9_-]*)\.(HOST|PORT)\s*\}\}/g;

/**
 * Replaces `${{name.HOST}}` with the service's network alias and `${{name.PORT}}` with its first
 * container port. Unknown names (and PORT of a service without ports) stay literal. Shell-style
 * `${VAR}` is untouched. Returns the referenced names in order of appearance, without duplicates.
 */
export function resolveReferences(value: string, services: ReadonlyMap<string, ServiceEndpoint>): { value: string; refs: string[] } {
  const refs: string[] = [];
  const out = value.replace(REF_PATTERN, (match, name: string, field: string) => {
    if (!refs.includes(name)) refs.push(name);
    const svc = services.get(name);
    if (!svc) return match;
    if (field === "HOST") return svc.host;
    return svc.port === undefined ? match : String(svc.port);
  });
  return { value: out, refs };
}

/** Overlays layers in order (later wins) and resolves references in every merged value. */
export function resolveEnv(layers: ReadonlyArray<Record<string, string>>, services: ReadonlyMap<string, ServiceEndpoint>): ResolvedEnv {
  const merged: Record<string, string> = Object.create(null);
  for (const layer of layers) for (const [k, val] of Object.entries(layer)) merged[k] = val;
  // Null prototypes: "__proto__" is a legal env key and must stay an ordinary entry.
  const env: Record<string, string> = Object.create(null);
  const refs: Record<string, string[]> = Object.create(null);
  for (const key of Object.keys(merged).sort()) {
    const r = resolveReferences(merged[key] as string, services);
    env[key] = r.value;
    if (r.refs.length > 0) refs[key] = r.refs;
  }
  return { env, refs };
}

/** The referenced names of a resolved env, each with the sorted keys that reference it. */
export function referencedServices(refs: Record<string, string[]>): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  for (const [key, names] of Object.entries(refs)) {
    for (const name of names) byName.set(name, [...(byName.get(name) ?? []), key]);
  }
  for (const keys of byName.values()) keys.sort();
  return byName;
}

/** Rewrites `${{old.HOST}}` / `${{old.PORT}}` (whitespace-tolerant) to the new name. */
export function rewriteReferences(value: string, oldName: string, newName: string): string {
  return value.replace(REF_PATTERN, (match, name: string, field: string) => (name === oldName ? `\${{${newName}.${field}}}` : match));
}

/**
 * EnvVarService stores variables. User edits are staged; these methods are what Apply calls.
 */
export interface EnvVarService {
  /** Throws ENOTFOUND "Env var not found.". */
  findEnvVarByID(id: string): Promise<EnvVar>;
  /** Ordered by key. */
  findEnvVars(filter: EnvVarFilter): Promise<EnvVar[]>;
  /** Throws EINVALID (fields), ECONFLICT `Env var "K" already exists.`. */
  createEnvVar(input: EnvVarCreate): Promise<EnvVar>;
  /** Throws EINVALID, ENOTFOUND. */
  updateEnvVar(id: string, value: string): Promise<EnvVar>;
  /** Throws ENOTFOUND. */
  deleteEnvVar(id: string): Promise<void>;
  /**
   * The env a new deployment of the service gets: project < group (its canvas parent) < service,
   * references resolved against the project's services. Throws ENOTFOUND "Service not found.".
   */
  resolveForService(serviceID: string): Promise<ResolvedEnv>;
}
