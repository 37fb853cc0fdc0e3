import * as deploykit from "../index.ts";
import { aliasesWithout, Ledger, serviceAliases } from "./readiness.ts";

/** What the Restart step needs of a service pass. */
export interface RestartPass {
  service: deploykit.Service;
  deps: deploykit.Deployment[];
  /** Kept containers by "deployment/replica". */
  byKey: Map<string, deploykit.RunningContainer>;
  runtime: Pick<deploykit.ContainerRuntime, "restartContainer" | "setNetworkAliases">;
  /** The project network and the service name on it. */
  network: string;
  /** Whether the proxy runs: its id-based name is withdrawn with the service name (serviceAliases). */
  proxy: boolean;
  snapshot: {
    inspect(dockerID: string): Promise<deploykit.ContainerInspection>;
    forgetInspection(dockerID: string): void;
  };
  ledger: Ledger;
  now: number;
  stableWindowMs: number;
  logger: deploykit.Logger;
}

/**
 * The Restart action, level-triggered: every container of the serving deployment that started before
 * `restart_requested_at` is restarted (`docker restart`: the same container stops and starts again,
 * so a volume is never mounted twice), one replica at a time. The next one waits until every other
 * replica is back through the readiness gate and its name, so a service with two replicas keeps
 * answering. Before its restart a replica stops answering to the service name and is given
 * the service's drain_seconds for requests in flight; it gets the name back once ready again (the pass's
 * ensureAliases), so in-project clients never pick a replica that is going down or not yet up.
 * Nothing is done while a new deployment rolls out: it replaces the containers anyway.
 * Returns true while a restart is still in progress (look again after the fast tick).
 */
export async function restartStale(p: RestartPass): Promise<boolean> {
  const requested = p.service.restart_requested_at ? Date.parse(p.service.restart_requested_at) : Number.NaN;
  if (!Number.isFinite(requested)) return false;
  if (p.deps.some((d) => d.status === deploykit.DEPLOYMENT_PENDING || d.status === deploykit.DEPLOYMENT_STARTING)) return false;
  const active = p.deps.find((d) => d.id === p.service.active_deployment_id && d.status === deploykit.DEPLOYMENT_HEALTHY);
  if (!active) return false;
  const entries = p.ledger.forService(p.service.id);
  const stale: deploykit.RunningContainer[] = [];
  let othersReady = true;
  for (let r = 0; r < deploykit.deploymentReplicas(active); r++) {
    const key = Ledger.key(active.id, r);
    const c = p.byKey.get(key);
    if (!c) {
      othersReady = false;
      continue;
    }
    const insp = await p.snapshot.inspect(c.docker_id);
    const started = insp.started_at ? Date.parse(insp.started_at) : Number.NaN;
    if (Number.isFinite(started) && started < requested) stale.push(c);
    else {
      const o = entries.get(key);
      // Back up but not yet named again (see ensureAliases) counts as not ready.
      if (!o || !Ledger.ready(o, p.now, p.stableWindowMs) || p.ledger.restarting.has(c.docker_id)) othersReady = false;
    }
  }
  const next = stale[0];
  if (!next) return false;
  if (!othersReady) return true;
  const unnamedAt = p.ledger.restarting.get(next.docker_id);
  if (unnamedAt === undefined) {
    const have = (await p.snapshot.inspect(next.docker_id)).aliases?.[p.network] ?? [];
    const names = serviceAliases(p.service, p.proxy);
    if (names.some((n) => have.includes(n))) {
      const keep = aliasesWithout(have, names, next.docker_id);
      await p.runtime.setNetworkAliases(next.docker_id, p.network, keep);
      p.snapshot.forgetInspection(next.docker_id);
    }
    p.ledger.restarting.set(next.docker_id, p.now);
    p.logger.info({ container: next.name }, "container no longer answers to the service name; restarting it after the drain");
    return true;
  }
  if (p.now - unnamedAt < p.service.drain_seconds * 1000) return true;
  p.logger.info({ container: next.name, grace_seconds: p.service.stop_grace_seconds }, "restarting container");
  await p.runtime.restartContainer(next.docker_id, p.service.stop_grace_seconds);
  // Named again by ensureAliases once it has been up for the stable window.
  p.ledger.restarting.set(next.docker_id, Number.POSITIVE_INFINITY);
  p.snapshot.forgetInspection(next.docker_id);
  return true;
}
