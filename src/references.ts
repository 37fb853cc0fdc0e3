/**
 * Variable references: `${{service.VAR}}`, `${{shared.VAR}}`, `${{VAR}}` and the built-ins, resolved
 * at deploy time into a deployment's snapshot. Pure: the callers load the project into a
 * `ReferenceProject` and ask.
 *
 * Rules:
 * - `$${{` is an escape: it yields a literal `${{` and what follows is plain text.
 * - `${{name.HOST}}` / `.PORT` / `.DOMAIN` are built-ins and win over a variable of that name.
 * - `${{DEPLOYKIT_*}}` are built-ins and win over a variable of that name.
 * - `${{name.VAR}}` is the other service's value after its own overlay (project < group < service)
 *   and its own references; `${{VAR}}` is a variable of the same service; in a shared variable,
 *   `${{VAR}}` is another shared variable.
 * - A reference that cannot be resolved (missing service, variable, port or domain, or a cycle)
 *   is a problem naming the reference; the text is left as written.
 * - Text inside `${{ }}` that is not a reference (`${{ a b }}`) is plain text.
 */

export const SHARED_NAMESPACE = "shared";
export const BUILTIN_HOST = "HOST";
export const BUILTIN_PORT = "PORT";
export const BUILTIN_DOMAIN = "DOMAIN";
export const SERVICE_BUILTINS: readonly string[] = [BUILTIN_HOST, BUILTIN_PORT, BUILTIN_DOMAIN];
export const DEPLOYKIT_PROJECT_ID = "DEPLOYKIT_PROJECT_ID";
export const DEPLOYKIT_SERVICE_ID = "DEPLOYKIT_SERVICE_ID";
export const DEPLOYKIT_DEPLOYMENT_ID = "DEPLOYKIT_DEPLOYMENT_ID";
export const DEPLOYKIT_COMMIT_SHA = "DEPLOYKIT_COMMIT_SHA";
export const GLOBAL_BUILTINS: readonly string[] = [
  DEPLOYKIT_PROJECT_ID,
  DEPLOYKIT_SERVICE_ID,
  DEPLOYKIT_DEPLOYMENT_ID,
  DEPLOYKIT_COMMIT_SHA,
];

/** `${{service.KEY}}` (service may be "shared") or `${{KEY}}` (service absent). `raw` is the text as written. */
export interface Reference {
  service?: string;
  key: string;
  raw: string;
}

export type Segment = string | Reference;

const TOKEN = /\$\$\{\{|\$\{\{([^{}]*?)\}\}/g;
const QUALIFIED = /^\s*([A-Za-z0-9][A-Za-z0-9_-]*)\.([A-Za-z_][A-Za-z0-9_]*)\s*$/;
const LOCAL = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$/;

function toReference(inner: string, raw: string): Reference | null {
  const q = QUALIFIED.exec(inner);
  if (q) return { service: q[1] as string, key: q[2] as string, raw };
  const l = LOCAL.exec(inner);
  return l ? { key: l[1] as string, raw } : null;
}

/** Splits a value into text and references; escapes become text. */
export function parseValue(value: string): Segment[] {
  const out: Segment[] = [];
  let text = "";
  let last = 0;
  for (const m of value.matchAll(TOKEN)) {
    text += value.slice(last, m.index);
    last = m.index + m[0].length;
    if (m[0] === "$${{") {
      text += "${{";
      continue;
    }
    const ref = toReference(m[1] as string, m[0]);
    if (!ref) {
      text += m[0];
      continue;
    }
    if (text) out.push(text);
    text = "";
    out.push(ref);
  }
  text += value.slice(last);
  if (text) out.push(text);
  return out;
}

export function listReferences(value: string): Reference[] {
  return parseValue(value).filter((s): s is Reference => typeof s !== "string");
}

/** Canonical text of a reference. */
export function formatReference(ref: { service?: string; key: string }): string {
  return ref.service === undefined ? `\${{${ref.key}}}` : `\${{${ref.service}.${ref.key}}}`;
}

/**
 * Rewrites the references `fn` maps to a new reference (null keeps it), leaving everything else,
 * escapes included, byte for byte.
 */
export function rewriteValue(value: string, fn: (ref: Reference) => { service?: string; key: string } | null): string {
  return value.replace(TOKEN, (match: string, inner: string | undefined) => {
    if (inner === undefined) return match;
    const ref = toReference(inner, match);
    const to = ref ? fn(ref) : null;
    return to ? formatReference(to) : match;
  });
}

/** `${{old.X}}` → `${{new.X}}` for every X. */
export function renameServiceInValue(value: string, oldName: string, newName: string): string {
  return rewriteValue(value, (r) => (r.service === oldName ? { service: newName, key: r.key } : null));
}

/**
 * Renames references to one variable: `target.service` is the owning service's name, "shared", or
 * absent for `${{KEY}}` references (rewrite only values of the same owner with it).
 */
export function renameVariableInValue(value: string, target: { service?: string; oldKey: string; newKey: string }): string {
  return rewriteValue(value, (r) =>
    r.service === target.service && r.key === target.oldKey
      ? { ...(r.service === undefined ? {} : { service: r.service }), key: target.newKey }
      : null,
  );
}

/** One service as references see it. `env` is its merged overlay (project < group < service), unresolved. */
export interface ReferenceService {
  id: string;
  name: string;
  /** First container port. */
  port?: number;
  /** Primary public domain. */
  domain?: string;
  env: Readonly<Record<string, string>>;
}

export interface ReferenceProject {
  id: string;
  services: readonly ReferenceService[];
  shared: Readonly<Record<string, string>>;
}

/** Values only known to the deployment being made. */
export interface ReferenceDeployment {
  deployment_id?: string;
  commit_sha?: string;
}

/** A reference that cannot be resolved. `owner` is a service name or "shared". */
export interface ReferenceProblem {
  owner: string;
  key: string;
  reference: string;
  message: string;
}

export interface ResolvedServiceEnv {
  env: Record<string, string>;
  /** Per key, the other services its value depends on (directly or through other variables). */
  refs: Record<string, string[]>;
  problems: ReferenceProblem[];
}

interface Resolved {
  value: string;
  services: Set<string>;
  problems: ReferenceProblem[];
  /** Hit a cycle: the result depends on the path it was reached by, so it is not memoized. */
  cyclic: boolean;
}

/**
 * Resolves values of one project. Memoizes per (owner, key); one instance per deployment being made,
 * since `DEPLOYKIT_DEPLOYMENT_ID` and the service a shared variable is read for differ between them.
 */
export class ReferenceResolver {
  readonly #project: ReferenceProject;
  readonly #deploy: ReferenceDeployment;
  readonly #byName = new Map<string, ReferenceService>();
  readonly #memo = new Map<string, Resolved>();
  readonly #stack: string[] = [];
  /** The service being deployed: whose id DEPLOYKIT_SERVICE_ID is inside a shared variable. */
  #consumer: ReferenceService | undefined;

  constructor(project: ReferenceProject, deploy: ReferenceDeployment = {}) {
    this.#project = project;
    this.#deploy = deploy;
    for (const s of project.services) this.#byName.set(s.name, s);
  }

  /** The service's env with every reference resolved. Unknown service: an empty env and no problems. */
  resolveService(name: string): ResolvedServiceEnv {
    const svc = this.#byName.get(name);
    const env: Record<string, string> = Object.create(null);
    const refs: Record<string, string[]> = Object.create(null);
    const problems: ReferenceProblem[] = [];
    if (!svc) return { env, refs, problems };
    this.#consumer = svc;
    for (const key of Object.keys(svc.env).sort()) {
      const r = this.#node(svc, key);
      env[key] = r.value;
      const others = [...r.services].filter((n) => n !== svc.name).sort();
      if (others.length > 0) refs[key] = others;
      for (const p of r.problems) if (!problems.some((q) => q.message === p.message)) problems.push(p);
    }
    return { env, refs, problems };
  }

  /** Problems of the shared variables themselves (those no service references included). */
  sharedProblems(): ReferenceProblem[] {
    const out: ReferenceProblem[] = [];
    for (const key of Object.keys(this.#project.shared).sort()) {
      for (const p of this.#node(undefined, key).problems) if (!out.some((q) => q.message === p.message)) out.push(p);
    }
    return out;
  }

  #node(owner: ReferenceService | undefined, key: string): Resolved {
    const id = `${owner ? owner.name : SHARED_NAMESPACE}.${key}`;
    const hit = this.#memo.get(id);
    if (hit) return hit;
    const raw = owner ? owner.env[key] : this.#project.shared[key];
    this.#stack.push(id);
    const out: Resolved = { value: "", services: new Set(), problems: [], cyclic: false };
    for (const seg of parseValue(raw ?? "")) {
      if (typeof seg === "string") out.value += seg;
      else this.#resolveRef(owner, key, seg, out);
    }
    this.#stack.pop();
    if (!out.cyclic) this.#memo.set(id, out);
    return out;
  }

  #resolveRef(owner: ReferenceService | undefined, key: string, ref: Reference, out: Resolved): void {
    const ownerName = owner ? owner.name : SHARED_NAMESPACE;
    const target = this.#target(owner, ref);
    if ("text" in target) {
      out.value += target.text;
      if (target.service) out.services.add(target.service);
      return;
    }
    let why = "problem" in target ? target.problem : "";
    if ("key" in target) {
      const id = `${target.of ? target.of.name : SHARED_NAMESPACE}.${target.key}`;
      const at = this.#stack.indexOf(id);
      if (at < 0) {
        const r = this.#node(target.of, target.key);
        if (r.cyclic) out.cyclic = true;
        out.value += r.value;
        if (target.of) out.services.add(target.of.name);
        for (const s of r.services) out.services.add(s);
        for (const p of r.problems) out.problems.push(p);
        return;
      }
      out.cyclic = true;
      why = `cycle ${[...this.#stack.slice(at), id].join(" → ")}.`;
    }
    out.value += ref.raw;
    out.problems.push({ owner: ownerName, key, reference: ref.raw, message: `Reference ${ref.raw} in ${ownerName}.${key}: ${why}` });
  }

  /** What a reference names: a built-in's text, a variable to follow (`of` absent: shared), or why neither. */
  #target(
    owner: ReferenceService | undefined,
    ref: Reference,
  ): { text: string; service?: string } | { of: ReferenceService | undefined; key: string } | { problem: string } {
    const sharedVar = () =>
      ref.key in this.#project.shared ? { of: undefined, key: ref.key } : { problem: `no shared variable ${ref.key}.` };
    if (ref.service === undefined) {
      if (GLOBAL_BUILTINS.includes(ref.key)) return { text: this.#global(ref.key, owner) };
      if (!owner) return sharedVar();
      return ref.key in owner.env ? { of: owner, key: ref.key } : { problem: `service "${owner.name}" has no variable ${ref.key}.` };
    }
    if (ref.service === SHARED_NAMESPACE) return sharedVar();
    const t = this.#byName.get(ref.service);
    if (!t) return { problem: `no service "${ref.service}".` };
    if (ref.key === BUILTIN_HOST) return { text: t.name, service: t.name };
    if (ref.key === BUILTIN_PORT)
      return t.port === undefined ? { problem: `service "${t.name}" has no port.` } : { text: String(t.port), service: t.name };
    if (ref.key === BUILTIN_DOMAIN)
      return t.domain ? { text: t.domain, service: t.name } : { problem: `service "${t.name}" has no public domain.` };
    return ref.key in t.env ? { of: t, key: ref.key } : { problem: `service "${t.name}" has no variable ${ref.key}.` };
  }

  #global(key: string, owner: ReferenceService | undefined): string {
    if (key === DEPLOYKIT_PROJECT_ID) return this.#project.id;
    if (key === DEPLOYKIT_SERVICE_ID) return (owner ?? this.#consumer)?.id ?? "";
    if (key === DEPLOYKIT_DEPLOYMENT_ID) return this.#deploy.deployment_id ?? "";
    return this.#deploy.commit_sha ?? "";
  }
}

/** Every problem of the project: each service's env and the shared variables. */
export function referenceProblems(project: ReferenceProject): ReferenceProblem[] {
  const out: ReferenceProblem[] = [];
  const add = (ps: ReferenceProblem[]) => {
    for (const p of ps) if (!out.some((q) => q.message === p.message)) out.push(p);
  };
  for (const s of project.services) add(new ReferenceResolver(project).resolveService(s.name).problems);
  add(new ReferenceResolver(project).sharedProblems());
  return out;
}

/** Problems in `after` that `before` did not have: what a staged change or a Deploy would break. */
export function newReferenceProblems(before: ReferenceProject, after: ReferenceProject): ReferenceProblem[] {
  const old = new Set(referenceProblems(before).map((p) => p.message));
  return referenceProblems(after).filter((p) => !old.has(p.message));
}

/** One direct reference in the project: who names what. `owner` is a service name or "shared". */
export interface ReferenceUse {
  owner: string;
  key: string;
  /** Service name or "shared" (for `${{VAR}}`: the owner itself). */
  target: string;
  target_key: string;
  reference: string;
}

/** Direct references of every variable, for "referenced by" and the canvas. */
export function referenceUses(project: ReferenceProject): ReferenceUse[] {
  const out: ReferenceUse[] = [];
  const scan = (owner: string, env: Readonly<Record<string, string>>) => {
    for (const key of Object.keys(env).sort()) {
      for (const r of listReferences(env[key] as string)) {
        if (r.service === undefined && GLOBAL_BUILTINS.includes(r.key)) continue;
        out.push({ owner, key, target: r.service ?? owner, target_key: r.key, reference: r.raw });
      }
    }
  };
  for (const s of project.services) scan(s.name, s.env);
  scan(SHARED_NAMESPACE, project.shared);
  return out;
}

/**
 * Orders services so every provider comes before its consumers (`deps`: consumer → providers).
 * Providers outside `ids` are ignored; a cycle is broken where it is first met.
 */
export function providerOrder(ids: readonly string[], deps: ReadonlyMap<string, readonly string[]>): string[] {
  const set = new Set(ids);
  const out: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (id: string) => {
    if (state.get(id)) return;
    state.set(id, "visiting");
    for (const p of deps.get(id) ?? []) if (set.has(p) && p !== id) visit(p);
    state.set(id, "done");
    out.push(id);
  };
  for (const id of ids) visit(id);
  return out;
}
