import * as deploykit from "../index.ts";
import type { Tx } from "./db.ts";

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
  const vars = tx.all<deploykit.VariableStateVar>(
    `SELECT id, scope, scope_id, key, value FROM env_vars WHERE (scope IN ('project', 'shared') AND scope_id = ?)
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
  return { project_id: projectID, services, vars: vars.map((v) => ({ ...v })), domains, pending_groups };
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
  const project = opts.state ?? deploykit.toReferenceProject(loadVariableState(tx, svc.project_id));
  const deploy: deploykit.ReferenceDeployment = {};
  if (opts.deployment_id) deploy.deployment_id = opts.deployment_id;
  if (opts.commit_sha) deploy.commit_sha = opts.commit_sha;
  return new deploykit.ReferenceResolver(project, deploy).resolveService(svc.name);
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
  const project = deploykit.toReferenceProject(loadVariableState(tx, projectID));
  const services = project.services.map((s) => {
    const env = new deploykit.ReferenceResolver(project).resolveService(s.name).env;
    const variables: deploykit.CatalogVariable[] = [{ key: deploykit.BUILTIN_HOST, value: s.name, builtin: true }];
    if (s.port !== undefined) variables.push({ key: deploykit.BUILTIN_PORT, value: String(s.port), builtin: true });
    if (s.domain) variables.push({ key: deploykit.BUILTIN_DOMAIN, value: s.domain, builtin: true });
    for (const key of Object.keys(env).sort()) variables.push({ key, value: env[key] as string });
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
    .map((key) => ({ key, value: sharedEnv[key] as string }));
  return { services, shared, uses: deploykit.referenceUses(project) };
}
