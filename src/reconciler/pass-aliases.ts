import * as deploykit from "../index.ts";
import { aliasesWithout, Ledger, serviceAliases } from "./readiness.ts";

/** The slices of the domain services the reconciler uses. */
export type ProjectReader = Pick<deploykit.ProjectService, "findProjectByID" | "findProjects">;

import type { PassBase } from "./pass-base.ts";
import { describe } from "./pass-context.ts";

/** The service name on the project network: given at promotion, withdrawn from superseded containers, kept on the serving ones. */

/**
 * Gives each container the service's name on the project network unless it already has it.
 * False (with the error recorded) when Docker refused: the caller does not promote then.
 */
export async function attachAliases(p: PassBase, containers: deploykit.RunningContainer[]): Promise<boolean> {
  const { ctx } = p;
  const svc = p.service;
  if (!svc || !p.project) return false;
  const network = deploykit.projectNetworkName(p.project.slug);
  const names = serviceAliases(svc, ctx.ingress !== undefined);
  for (const c of containers) {
    try {
      const insp = await ctx.snapshot.inspect(c.docker_id);
      const have = insp.aliases?.[network] ?? [];
      if (names.every((n) => have.includes(n))) continue;
      // Names it already answers to stay (after a rename, clients not yet redeployed still use the
      // old one); Docker adds the short container id by itself.
      const keep = aliasesWithout(have, names, c.docker_id);
      await ctx.runtime.setNetworkAliases(c.docker_id, network, [...keep, ...names]);
      ctx.faultPoint?.("reconcile:after-alias");
      // The address may change with the new endpoint: later stages (routes) read it afresh.
      ctx.snapshot.forgetInspection(c.docker_id);
      const fresh = await ctx.snapshot.inspect(c.docker_id);
      if (fresh.ip_addresses) c.ip_addresses = { ...fresh.ip_addresses };
      p.log.info({ container: c.name, network, alias: svc.name }, "container answers to the service name");
    } catch (err) {
      if (deploykit.errorCode(err) === deploykit.ENOTFOUND) p.again = true;
      else p.errors.push(err);
      return false;
    }
  }
  return true;
}

/**
 * At promotion the superseded containers stop answering to the service name, one pass before
 * they get their stop signal: a client that resolves the name meanwhile reaches a new container,
 * not one that is shutting down. Best effort: they are removed next pass either way.
 */
export async function withdrawAliases(p: PassBase, promotedID: string): Promise<void> {
  const { ctx } = p;
  const svc = p.service;
  if (!svc || !p.project) return;
  const network = deploykit.projectNetworkName(p.project.slug);
  const names = serviceAliases(svc, ctx.ingress !== undefined);
  for (const c of p.byKey.values()) {
    if (c.deployment_id === promotedID || c.state !== "running") continue;
    try {
      const have = (await ctx.snapshot.inspect(c.docker_id)).aliases?.[network] ?? [];
      if (!names.some((n) => have.includes(n))) continue;
      const keep = aliasesWithout(have, names, c.docker_id);
      await ctx.runtime.setNetworkAliases(c.docker_id, network, keep);
      ctx.ledger.withdrawn.set(c.docker_id, ctx.now());
      ctx.snapshot.forgetInspection(c.docker_id);
      p.log.info({ container: c.name, network, alias: svc.name }, "superseded container no longer answers to the service name");
    } catch (err) {
      p.log.warn({ container: c.name, err: describe(err) }, "could not withdraw the service name from a superseded container");
    }
  }
}

/**
 * The serving deployment's running containers carry the service name (after a daemon restart, a
 * promotion whose alias step was cut short, or a rename). Only containers of a healthy
 * deployment: a starting one gets the name when it passes the gate.
 */
export async function ensureAliases(p: PassBase): Promise<void> {
  const { ctx } = p;
  const healthy = new Set(p.deps.filter((d) => d.status === deploykit.DEPLOYMENT_HEALTHY).map((d) => d.id));
  const entries = ctx.ledger.forService(p.id);
  const serving = [...p.byKey.values()].filter((c) => {
    if (!healthy.has(c.deployment_id) || c.state !== "running") return false;
    const unnamed = ctx.ledger.restarting.get(c.docker_id);
    if (unnamed === undefined) return true;
    // Taken out for Restart: named again only once restarted and back through the stable window.
    if (unnamed !== Number.POSITIVE_INFINITY) return false;
    const o = entries.get(Ledger.key(c.deployment_id, c.replica_index));
    if (!o || o.docker_id !== c.docker_id || !Ledger.ready(o, ctx.now(), ctx.stableWindowMs)) {
      p.again = true;
      return false;
    }
    ctx.ledger.restarting.delete(c.docker_id);
    return true;
  });
  if (serving.length > 0) await attachAliases(p, serving);
}
