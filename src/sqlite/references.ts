import * as deploykit from "../index.ts";
import type { Tx } from "./db.ts";
import { openValue } from "./secret-rows.ts";

/** A sealed value shorter than this is not searched for in other values (it would match by chance). */
const MIN_TAINT_LENGTH = 4;

/** The plaintext values of the project's sealed variables: what derived values must not show either. */
function sealedValues(state: deploykit.VariableState): string[] {
  return state.vars.filter((v) => (v as { sealed?: boolean }).sealed).map((v) => v.value);
}

/**
 * Keys of a resolved env that may not be presented: a sealed variable wins the layering for the key
 * (project < group < service), or the value carries a sealed value through a reference.
 */
export function sealedKeysOf(
  state: deploykit.VariableState,
  svc: { id: string },
  env: Readonly<Record<string, string>>,
  secrets: readonly string[] = sealedValues(state),
): string[] {
  const group = state.services.find((s) => s.id === svc.id)?.group_id;
  const winner = new Map<string, boolean>();
  for (const [scope, id] of [
    ["project", state.project_id],
    ["group", group],
    ["service", svc.id],
  ] as const) {
    if (!id) continue;
    for (const v of state.vars) if (v.scope === scope && v.scope_id === id) winner.set(v.key, (v as { sealed?: boolean }).sealed === true);
  }
  const long = secrets.filter((x) => x.length >= MIN_TAINT_LENGTH);
  return Object.keys(env)
    .filter((k) => winner.get(k) === true || long.some((x) => (env[k] as string).includes(x)))
    .sort();
}

/**
 * The project as references see it: services with their first port and canvas group (pending
 * services by the id of their pre-placed node), every variable of the project and its domains.
 */
export function loadVariableState(tx: Tx, projectID: string): deploykit.VariableState {
  const services = tx
    .all<{ id: string; name: string; ports: string; group_id: string | null }>(
      `SELECT s.id, s.name, s.ports, n.parent_id AS group_id FROM services s
         LEFT JOIN canvas_nodes n ON n.service_id = s.id
        WHERE s.project_id = ? ORDER BY s.created_at, s.rowid`,
      projectID,
    )
    .map((r) => {
      const s: deploykit.VariableStateService = { id: r.id, name: r.name };
      const port = (JSON.parse(r.ports) as deploykit.PortMapping[])[0]?.container_port;
      if (port !== undefined) s.port = port;
      if (r.group_id) s.group_id = r.group_id;
      return s;
    });
  const pending_groups: Record<string, string> = Object.create(null);
  for (const r of tx.all<{ id: string; parent_id: string }>(
    "SELECT id, parent_id FROM canvas_nodes WHERE project_id = ? AND type = 'service' AND service_id IS NULL AND parent_id IS NOT NULL",
    projectID,
  ))
    pending_groups[r.id] = r.parent_id;
  const vars = tx.all<deploykit.VariableStateVar & { sealed: number }>(
    `SELECT id, scope, scope_id, key, value, sealed FROM env_vars WHERE (scope IN ('project', 'shared') AND scope_id = ?)
       OR (scope = 'group' AND scope_id IN (SELECT id FROM canvas_nodes WHERE project_id = ? AND type = 'group'))
       OR (scope = 'service' AND scope_id IN (SELECT id FROM services WHERE project_id = ?))
     ORDER BY key, scope, scope_id`,
    projectID,
    projectID,
    projectID,
  );
  const domains = tx
    .all<{ id: string; service_id: string; hostname: string; generated: number }>(
      "SELECT id, service_id, hostname, generated FROM domains WHERE project_id = ? ORDER BY created_at, rowid",
      projectID,
    )
    .map((d) => ({ id: d.id, service_id: d.service_id, hostname: d.hostname, generated: d.generated === 1 }));
  // Values are stored encrypted; `sealed` rides along for sealedKeysOf (the domain's state ignores it).
  const open = vars.map((v) => ({ ...v, value: openValue(tx.cipher, v.value), sealed: v.sealed === 1 }));
  return { project_id: projectID, services, vars: open, domains, pending_groups };
}

/** The state the log would leave. */
export function stagedVariableState(tx: Tx, projectID: string, log: readonly deploykit.PendingChange[]): deploykit.VariableState {
  return deploykit.stageLog(loadVariableState(tx, projectID), log);
}

/** Resolves one service's env. `state` lets a caller resolving many services load the project once. */
export function resolveServiceEnv(
  tx: Tx,
  svc: { id: string; name: string; project_id: string },
  opts: { state?: deploykit.ReferenceProject; deployment_id?: string; commit_sha?: string } = {},
): deploykit.ResolvedEnv {
  const raw = opts.state ? null : loadVariableState(tx, svc.project_id);
  const project = opts.state ?? deploykit.toReferenceProject(raw as deploykit.VariableState);
  const deploy: deploykit.ReferenceDeployment = {};
  if (opts.deployment_id) deploy.deployment_id = opts.deployment_id;
  if (opts.commit_sha) deploy.commit_sha = opts.commit_sha;
  const resolved: deploykit.ResolvedEnv = new deploykit.ReferenceResolver(project, deploy).resolveService(svc.name);
  const sealed = sealedKeysOf(raw ?? loadVariableState(tx, svc.project_id), svc, resolved.env);
  if (sealed.length > 0) resolved.sealed = sealed;
  return resolved;
}

function refused(problems: deploykit.ReferenceProblem[]): deploykit.DeployKitError {
  return deploykit.errorf(deploykit.EINVALID, (problems[0] as deploykit.ReferenceProblem).message);
}

/**
 * Refuses entries whose staging would break a reference (missing service, variable, port, domain,
 * or a cycle) that the log alone does not break. Throws EINVALID naming the reference.
 */
export function assertStagedReferences(
  tx: Tx,
  projectID: string,
  log: readonly deploykit.PendingChange[],
  entries: readonly deploykit.PendingChange[],
): void {
  const before = stagedVariableState(tx, projectID, log);
  const after = deploykit.stageLog(before, entries);
  const problems = deploykit.newReferenceProblems(deploykit.toReferenceProject(before), deploykit.toReferenceProject(after));
  if (problems.length > 0) throw refused(problems);
}

/** Deploy's re-check: what the applied entries broke compared with the state before them. */
export function assertAppliedReferences(tx: Tx, before: deploykit.VariableState, projectID: string): deploykit.ReferenceProject {
  const after = deploykit.toReferenceProject(loadVariableState(tx, projectID));
  const problems = deploykit.newReferenceProblems(deploykit.toReferenceProject(before), after);
  if (problems.length > 0) throw refused(problems);
  return after;
}

/**
 * Renames a variable (env_var.update with `new_key`) and rewrites the references to it in the
 * project's applied variables. Returns the rewritten variables so Apply can redeploy their services.
 */
export function renameVariable(tx: Tx, projectID: string, ev: deploykit.EnvVar, newKey: string): deploykit.VariableStateVar[] {
  const st = loadVariableState(tx, projectID);
  const v = st.vars.find((x) => x.id === ev.id);
  if (!v) return [];
  const changed = new Set(deploykit.renameVariableInState(st, v, newKey));
  const clash = tx.get("SELECT 1 FROM env_vars WHERE scope = ? AND scope_id = ? AND key = ?", ev.scope, ev.scope_id, newKey);
  if (clash) throw deploykit.errorf(deploykit.ECONFLICT, `Env var "${newKey}" already exists.`);
  tx.run("UPDATE env_vars SET key = ?, updated_at = ? WHERE id = ?", newKey, tx.now, ev.id);
  const out = st.vars.filter((x) => changed.has(x.id));
  for (const x of out) tx.run("UPDATE env_vars SET value = ?, updated_at = ? WHERE id = ?", x.value, tx.now, x.id);
  return out;
}

/** Applied variables with their resolved values, built-ins included, and who references what. */
export function referenceCatalog(tx: Tx, projectID: string): deploykit.ReferenceCatalog {
  const state = loadVariableState(tx, projectID);
  const project = deploykit.toReferenceProject(state);
  const secrets = sealedValues(state).filter((x) => x.length >= MIN_TAINT_LENGTH);
  const shown = (key: string, value: string, hidden: boolean): deploykit.CatalogVariable =>
    hidden || secrets.some((x) => value.includes(x)) ? { key, masked: true } : { key, value };
  const services = project.services.map((s) => {
    const env = new deploykit.ReferenceResolver(project).resolveService(s.name).env;
    const sealed = new Set(sealedKeysOf(state, s, env, secrets));
    const variables: deploykit.CatalogVariable[] = [{ key: deploykit.BUILTIN_HOST, value: s.name, builtin: true }];
    if (s.port !== undefined) variables.push({ key: deploykit.BUILTIN_PORT, value: String(s.port), builtin: true });
    if (s.domain) variables.push({ key: deploykit.BUILTIN_DOMAIN, value: s.domain, builtin: true });
    for (const key of Object.keys(env).sort()) variables.push(shown(key, env[key] as string, sealed.has(key)));
    return { name: s.name, variables };
  });
  // Shared values resolve the same for every service, except DEPLOYKIT_SERVICE_ID (empty here).
  const sharedResolver = new deploykit.ReferenceResolver({
    ...project,
    services: [...project.services, { id: "", name: "", env: project.shared }],
  });
  const sharedEnv = sharedResolver.resolveService("").env;
  const shared = Object.keys(project.shared)
    .sort()
    .map((key) => {
      const own = state.vars.find((v) => v.scope === "shared" && v.key === key) as { sealed?: boolean } | undefined;
      return shown(key, sharedEnv[key] as string, own?.sealed === true);
    });
  return { services, shared, uses: deploykit.referenceUses(project) };
}
