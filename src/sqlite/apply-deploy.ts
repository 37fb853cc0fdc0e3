import * as deploykit from "../index.ts";
import { rebuildEnvRefEdges } from "./canvas.ts";
import { newID, type Tx, toJSON } from "./db.ts";
import { createDeployment, toDeployment } from "./deployment.ts";
import { loadVariableState, sealedKeysOf } from "./references.ts";
import { findServiceByID } from "./service-rows.ts";

/** What Apply decided before making deployments. */
export interface ApplyDeployPlan {
  projectID: string;
  /** New services, in creation order: each gets a first deployment. */
  created: readonly string[];
  /** Services that may need a new deployment: only those whose snapshot would differ get one. */
  marked: ReadonlySet<string>;
  /** Services redeployed even with an unchanged snapshot (a rename changes their network alias). */
  forced: ReadonlySet<string>;
  /** Git services whose source settings changed: built again. */
  rebuild: ReadonlySet<string>;
}

function snapshotKey(d: deploykit.DeploymentCreate): string {
  return toJSON([
    d.image,
    d.env_vars ?? {},
    d.ports ?? [],
    d.volumes ?? [],
    d.resources ?? null,
    deploykit.effectiveReplicas(d.replicas ?? 1),
    d.stop_grace_seconds ?? deploykit.DEFAULT_STOP_GRACE_SECONDS,
    d.start_command ?? null,
    d.entrypoint ?? null,
    d.restart_policy ?? deploykit.RESTART_ALWAYS,
    d.restart_max_retries ?? deploykit.DEFAULT_RESTART_MAX_RETRIES,
    d.pre_deploy_command ?? null,
    d.cron_schedule ?? null,
    d.cron_timeout_seconds ?? deploykit.DEFAULT_CRON_TIMEOUT_SECONDS,
    d.healthcheck_path ?? null,
    d.healthcheck_timeout_seconds ?? deploykit.DEFAULT_HEALTHCHECK_TIMEOUT_SECONDS,
  ]);
}

function deploymentInput(
  svc: deploykit.Service,
  env: Record<string, string>,
  image: string,
  sealed: readonly string[] = [],
): deploykit.DeploymentCreate {
  return {
    image,
    env_vars: env,
    // Values never presented (sealed, or carrying a sealed value through a reference).
    ...(sealed.length > 0 ? { sealed_keys: [...sealed] } : {}),
    ports: svc.ports,
    volumes: svc.volumes,
    resources: svc.resources,
    replicas: svc.replicas,
    stop_grace_seconds: svc.stop_grace_seconds,
    start_command: deploykit.resolveStartCommand(svc.start_command, env),
    entrypoint: deploykit.resolveStartCommand(svc.entrypoint, env),
    restart_policy: svc.restart_policy,
    restart_max_retries: svc.restart_max_retries,
    pre_deploy_command: deploykit.resolveStartCommand(svc.pre_deploy_command, env),
    cron_schedule: svc.cron_schedule,
    cron_timeout_seconds: svc.cron_timeout_seconds,
    healthcheck_path: svc.healthcheck_path,
    healthcheck_timeout_seconds: svc.healthcheck_timeout_seconds,
  };
}

interface Planned {
  svc: deploykit.Service;
  id: string;
  input: deploykit.DeploymentCreate;
  refs: Record<string, string[]>;
  redeploy: boolean;
}

/** Deployed services whose resolved env differs between the two states: their referenced values changed. */
function referenceChanged(tx: Tx, projectID: string, before: deploykit.ReferenceProject, after: deploykit.ReferenceProject): string[] {
  const out: string[] = [];
  const afterByID = new Map(after.services.map((s) => [s.id, s]));
  for (const s of before.services) {
    const now = afterByID.get(s.id);
    if (!now) continue;
    const was = new deploykit.ReferenceResolver(before, { deployment_id: "-" }).resolveService(s.name).env;
    const is = new deploykit.ReferenceResolver(after, { deployment_id: "-" }).resolveService(now.name).env;
    if (toJSON(was) !== toJSON(is)) out.push(s.id);
  }
  if (out.length === 0) return out;
  const deployed = new Set(
    tx
      .all<{ service_id: string }>(
        "SELECT DISTINCT d.service_id FROM deployments d JOIN services s ON s.id = d.service_id WHERE s.project_id = ? AND d.status != 'cancelled'",
        projectID,
      )
      .map((r) => r.service_id),
  );
  return out.filter((id) => deployed.has(id));
}

/**
 * Makes the deployments of one Apply, providers first: a deployment whose service references
 * another service that gets a deployment in the same Apply waits for it (`wait_for`). Services
 * whose referenced values changed are candidates too. Rebuilds the managed reference edges of every
 * service it looks at.
 */
export function createApplyDeployments(
  tx: Tx,
  plan: ApplyDeployPlan,
  states: { before: deploykit.ReferenceProject; after: deploykit.ReferenceProject },
): { created_deployments: deploykit.Deployment[]; redeployed_service_ids: string[] } {
  const project = states.after;
  const marked = new Set([...plan.marked, ...referenceChanged(tx, plan.projectID, states.before, states.after)]);
  const planned: Planned[] = [];
  const resolve = (svc: deploykit.Service, deploymentID: string) =>
    new deploykit.ReferenceResolver(project, { deployment_id: deploymentID }).resolveService(svc.name);
  const createdSet = new Set(plan.created);
  const state = loadVariableState(tx, plan.projectID);
  const sealed = (svc: deploykit.Service, env: Record<string, string>) => sealedKeysOf(state, svc, env);
  for (const id of plan.created) {
    const svc = findServiceByID(tx, id);
    const depID = newID();
    const env = resolve(svc, depID);
    const input = deploymentInput(svc, env.env, svc.image, sealed(svc, env.env));
    // A new git service's first deployment is built from its repository.
    input.build_source = deploykit.gitSourceOf(svc);
    planned.push({ svc, id: depID, input, refs: env.refs, redeploy: false });
  }
  for (const id of marked) {
    if (createdSet.has(id)) continue;
    const row = tx.get<Parameters<typeof toDeployment>[1]>(
      "SELECT * FROM deployments WHERE service_id = ? AND status != 'cancelled' ORDER BY created_at DESC, rowid DESC LIMIT 1",
      id,
    );
    if (!row || !tx.get("SELECT 1 FROM services WHERE id = ?", id)) continue;
    const base = toDeployment(tx, row);
    const svc = findServiceByID(tx, id);
    // A git service is built again when its source changed or what serves was not built from it;
    // any other change reuses the image its last build made.
    const source = deploykit.gitSourceOf(svc);
    const rebuild = source !== null && (plan.rebuild.has(id) || !deploykit.isBuiltImage(base.image));
    const image = source && !rebuild ? base.image : svc.image || base.image;
    // Compared as if it were the serving deployment, so ${{DEPLOYKIT_DEPLOYMENT_ID}} alone changes nothing.
    const same = deploymentInput(svc, resolve(svc, base.id).env, image);
    const depID = newID();
    const env = resolve(svc, depID);
    const unchanged = snapshotKey(same) === snapshotKey({ ...base, resources: base.resources ?? null });
    rebuildEnvRefEdges(tx, plan.projectID, id, env.refs);
    if (!rebuild && !plan.forced.has(id) && unchanged) continue;
    const input = deploymentInput(svc, env.env, image, sealed(svc, env.env));
    input.build_source = rebuild ? source : null;
    planned.push({ svc, id: depID, input, refs: env.refs, redeploy: true });
  }

  const byName = new Map(planned.map((p) => [p.svc.name, p]));
  const providers = new Map<string, string[]>();
  for (const p of planned) {
    const names = new Set(Object.values(p.refs).flat());
    providers.set(
      p.svc.id,
      [...names].flatMap((n) => (byName.has(n) && n !== p.svc.name ? [(byName.get(n) as Planned).svc.id] : [])),
    );
  }
  const bySvc = new Map(planned.map((p) => [p.svc.id, p]));
  const created_deployments: deploykit.Deployment[] = [];
  const redeployed_service_ids: string[] = [];
  const done = new Set<string>();
  for (const sid of deploykit.providerOrder(
    planned.map((p) => p.svc.id),
    providers,
  )) {
    const p = bySvc.get(sid) as Planned;
    // Only providers already made: two services referencing each other must not wait for each other.
    const waitFor = (providers.get(sid) ?? []).filter((x) => done.has(x)).map((x) => (bySvc.get(x) as Planned).id);
    done.add(sid);
    const dep = createDeployment(tx, sid, p.input, p.id);
    if (waitFor.length > 0) {
      tx.run("UPDATE deployments SET wait_for = ? WHERE id = ?", toJSON(waitFor), dep.id);
      dep.wait_for = waitFor;
    }
    if (!p.redeploy) rebuildEnvRefEdges(tx, plan.projectID, sid, p.refs);
    created_deployments.push(dep);
    if (p.redeploy) redeployed_service_ids.push(sid);
  }
  return { created_deployments, redeployed_service_ids };
}
