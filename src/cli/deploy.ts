/** `deploy` (apply the staged changes), `redeploy`, `restart`, `rollback`. */
import * as deploykit from "../index.ts";
import { CliError, type Context, EXIT_NOT_FOUND, usage } from "./context.ts";
import { allServices, targetProject, targetService } from "./target.ts";

const SIGN: Record<string, string> = { create: "+", update: "~", delete: "-" };

/** One line per staged change; values are never printed (they may be secrets). */
export function describeChange(pc: deploykit.PendingChange, names: Map<string, string>): string {
  const [kind, verb = ""] = pc.op.split(".");
  const p = pc.payload;
  const target = pc.target_id ? (names.get(pc.target_id) ?? pc.target_id) : (pc.target_temp_id ?? "");
  let what = "";
  if (kind === "env_var") what = `${String(p.key ?? "")} (${String(p.scope ?? "")} variable)`;
  else if (kind === "domain") what = p.generate ? "generated domain" : String(p.hostname ?? target);
  else if (pc.op === "service.create") what = `${String(p.name ?? "")} (${String(p.image ?? "")})`;
  else if (pc.op === "service.update" || pc.op === "project.update") what = `${target}: ${Object.keys(p).join(", ")}`;
  else what = target;
  const on = kind === "env_var" || kind === "domain" ? (pc.target_id && names.has(pc.target_id) ? ` on ${target}` : "") : "";
  return `${SIGN[verb] ?? "*"} ${pc.op.padEnd(16)} ${what}${on}`;
}

export async function deploy(ctx: Context, opts: { yes?: boolean }): Promise<void> {
  const c = ctx.client();
  const project = await targetProject(ctx);
  const changes = await c.findPendingChanges(project.id);
  const names = new Map((await allServices(c, project.id)).map((s) => [s.id, s.name]));
  names.set(project.id, project.name);
  if (changes.length === 0) {
    ctx.result({ project_id: project.id, changes: [], applied_count: 0 }, () => ctx.print("Nothing staged: no changes to deploy."));
    return;
  }
  if (!ctx.json) {
    process.stderr.write(`${changes.length} staged change${changes.length === 1 ? "" : "s"} in ${ctx.bold(project.name)}:\n`);
    for (const pc of changes) process.stderr.write(`  ${describeChange(pc, names)}\n`);
  }
  if (!opts.yes) {
    if (!process.stdin.isTTY || ctx.json) throw usage("Deploying needs confirmation: pass --yes.");
    const { confirm, isCancel } = await import("@clack/prompts");
    const ok = await confirm({ message: "Deploy these changes?" });
    if (isCancel(ok) || !ok) throw new CliError("Cancelled: nothing was deployed.", 1, "cancelled");
  }
  const r = await c.deploy(project.id);
  ctx.result({ project_id: project.id, changes, ...r }, () =>
    ctx.print(`Deployed ${r.applied_count} change${r.applied_count === 1 ? "" : "s"}.`),
  );
}

/**
 * `POST …/redeploy`: a git service is built again from its branch head; an image service is deployed
 * again when its tag now names another image (otherwise nothing happens, and the CLI says so). A
 * server without that route gets a new deployment of the current image instead.
 */
export async function redeploy(ctx: Context): Promise<void> {
  const c = ctx.client();
  const { project, service } = await targetService(ctx);
  const base = `/api/projects/${encodeURIComponent(project.id)}/services/${encodeURIComponent(service.id)}`;
  let dep: deploykit.Deployment;
  try {
    const r = await c.request<deploykit.Deployment | { redeployed: false; message: string }>("POST", `${base}/redeploy`);
    // An image whose digest did not change: nothing is deployed, and that is not a failure.
    if ("redeployed" in r) return ctx.result({ redeployed: false, message: r.message }, () => ctx.print(r.message));
    dep = r;
  } catch (err) {
    // A route the server does not have answers the generic "Not found.", a missing service names itself.
    const e = err as deploykit.DeployKitError;
    if (e.code !== "not_found" || e.message !== "Not found.") throw err;
    dep = await c.createDeployment(project.id, service.id, { image: service.image });
  }
  ctx.result({ deployment: dep }, () => ctx.print(`Redeploying ${service.name}: deployment ${dep.id} (${dep.status}).`));
}

export async function restart(ctx: Context): Promise<void> {
  const c = ctx.client();
  const { project, service } = await targetService(ctx);
  const s = await c.restartService(project.id, service.id);
  ctx.result({ service: { id: s.id, name: s.name, status: s.status } }, () => ctx.print(`Restarting ${s.name}.`));
}

export async function rollback(ctx: Context, deploymentID: string | undefined): Promise<void> {
  const c = ctx.client();
  const { project, service } = await targetService(ctx);
  let target = deploymentID;
  if (!target) {
    const deps = (await c.findDeployments(project.id, service.id, { limit: 50 })).items;
    const previous = deploykit.defaultRollbackTarget(deps, service.active_deployment_id);
    if (!previous) throw new CliError("No earlier deployment to roll back to.", EXIT_NOT_FOUND, "not_found");
    target = previous.id;
  }
  const s = await c.rollback(project.id, service.id, target);
  // The default target is the serving deployment only while a rollout is in flight.
  const cancels = !deploymentID && target === service.active_deployment_id;
  ctx.result({ service: { id: s.id, name: s.name, status: s.status }, deployment_id: target }, () =>
    ctx.print(`Rolling ${s.name} back to deployment ${target}${cancels ? " (the rollout in progress is cancelled)" : ""}.`),
  );
}
