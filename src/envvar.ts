import { FieldErrorCollector } from "./errors.ts";
import { type ReferenceProblem, type ReferenceUse, renameServiceInValue } from "./references.ts";

export const SCOPE_PROJECT = "project";
export const SCOPE_GROUP = "group";
export const SCOPE_SERVICE = "service";
/** Project-level variables that no service sees unless it names them: `${{shared.KEY}}`. */
export const SCOPE_SHARED = "shared";
export type EnvScope = typeof SCOPE_PROJECT | typeof SCOPE_GROUP | typeof SCOPE_SERVICE | typeof SCOPE_SHARED;
export const ENV_SCOPES: readonly EnvScope[] = [SCOPE_PROJECT, SCOPE_GROUP, SCOPE_SERVICE, SCOPE_SHARED];

/** A variable's key, wherever one is written: env vars, a deployment's env map, staged creates. */
export const ENV_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const ENV_KEY_MESSAGE = "Key must contain only letters, digits and underscores, and cannot start with a digit.";
export const ENV_KEY_MAX = 256;
export const ENV_VALUE_MAX = 64 * 1024;

/**
 * A variable at project, group (canvas group node), service or shared scope (scope_id: the project).
 * A service sees project < group < service, later winning; shared variables only through
 * `${{shared.KEY}}`. Values may hold references (see references.ts).
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

/** A resolved env map, per key the other services it depends on, and what could not be resolved. */
export interface ResolvedEnv {
  env: Record<string, string>;
  refs: Record<string, string[]>;
  problems?: ReferenceProblem[];
  /** Keys whose winning variable is sealed: their values are never presented. */
  sealed?: string[];
}

/** `GET …/run-env`: what `deploykit run` injects. Sealed values only reach admins; members get their keys in `sealed_omitted`. */
export interface RunEnv {
  env: Record<string, string>;
  sealed_omitted: string[];
  problems: { owner: string; key: string; message: string }[];
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

/** The referenced names of a resolved env, each with the sorted keys that reference it. */
export function referencedServices(refs: Record<string, string[]>): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  for (const [key, names] of Object.entries(refs)) {
    for (const name of names) byName.set(name, [...(byName.get(name) ?? []), key]);
  }
  for (const keys of byName.values()) keys.sort();
  return byName;
}

/** Rewrites every `${{old.X}}` (whitespace-tolerant) to the new name. */
export function rewriteReferences(value: string, oldName: string, newName: string): string {
  return renameServiceInValue(value, oldName, newName);
}

/** What autocomplete and "referenced by" need: every variable that can be named, with its resolved value. */
export interface ReferenceCatalog {
  services: { name: string; variables: CatalogVariable[] }[];
  shared: CatalogVariable[];
  /** Every direct reference in the project's variables. */
  uses: ReferenceUse[];
}

export interface CatalogVariable {
  key: string;
  /** The resolved value; absent when `masked`. */
  value?: string;
  /** True when the value may not be shown (sealed variables). */
  masked?: boolean;
  /** HOST, PORT and DOMAIN of a service. */
  builtin?: boolean;
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
   * references resolved against the project (`problems` lists those that cannot be).
   * Throws ENOTFOUND "Service not found.".
   */
  resolveForService(serviceID: string): Promise<ResolvedEnv>;
  /** Applied variables of the project for autocomplete, resolved. Throws ENOTFOUND "Project not found.". */
  findReferenceCatalog(projectID: string): Promise<ReferenceCatalog>;
  /** The RAW editor's last text for the scope ("" when none): its comments and order. */
  findRawLayout(scope: EnvScope, scopeID: string): Promise<string>;
  /** Remembers the RAW editor's text for the scope. */
  saveRawLayout(scope: EnvScope, scopeID: string, text: string): Promise<void>;
}
