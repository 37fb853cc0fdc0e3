import * as deploykit from "../index.ts";
import { describeProbe, healthFailureReason, httpProbe, PROBE_REQUEST_TIMEOUT_MS, probeURL } from "./healthcheck.ts";
import { BAD_OBSERVATIONS_TO_FAIL, FAILURE_LOG_LINES, Ledger, type ReplicaObservation } from "./readiness.ts";

/** The slices of the domain services the reconciler uses. */
export type ProjectReader = Pick<deploykit.ProjectService, "findProjectByID" | "findProjects">;

import { attachAliases, withdrawAliases } from "./pass-aliases.ts";
import type { PassBase } from "./pass-base.ts";
import { describe, exitedForGood, STOPPED_STATES } from "./pass-context.ts";

/** The readiness gate: a starting deployment is promoted when its replicas are up (and healthy, with a health check) for the stable window, or failed. */

/** Readiness gate (original §7.2 step 4): promote, fail, or flag a live crash-loop. */
export async function gate(p: PassBase): Promise<void> {
  const { ctx } = p;
  const keep = new Set<string>();
  const now = ctx.now();
  for (const dep of [...p.deps]) {
    if (dep.status !== deploykit.DEPLOYMENT_STARTING && dep.status !== deploykit.DEPLOYMENT_HEALTHY) continue;
    // A cron deployment has no replica to judge: promoteCron decides it.
    if (dep.cron_schedule) continue;
    const n = deploykit.deploymentReplicas(dep);
    const seen: { o: ReplicaObservation; c: deploykit.RunningContainer }[] = [];
    for (let r = 0; r < n; r++) {
      const key = Ledger.key(dep.id, r);
      const c = p.byKey.get(key);
      if (!c) continue;
      let insp: deploykit.ContainerInspection;
      try {
        insp = await ctx.snapshot.inspect(c.docker_id);
      } catch (err) {
        if (deploykit.errorCode(err) === deploykit.ENOTFOUND) {
          // Removed behind our back: forget it so the next pass recreates it.
          ctx.snapshot.removeContainer(c.docker_id);
          p.byKey.delete(key);
          p.again = true;
        } else p.errors.push(err);
        continue;
      }
      keep.add(key);
      // Exited for good under never/on-failure: finished, neither restarting nor a crash loop.
      if (exitedForGood(dep, insp.state)) {
        p.finished.set(key, insp.exit_code ?? -1);
        continue;
      }
      // Stopped by someone else, waiting to be replaced (see teardown): neither ready nor bad.
      if (STOPPED_STATES.has(insp.state)) {
        p.again = true;
        continue;
      }
      seen.push({ o: ctx.ledger.observe(p.id, dep, r, c.docker_id, insp, now), c });
    }
    if (dep.status === deploykit.DEPLOYMENT_STARTING) {
      // No restart is coming for a replica that exited non-zero under never/on-failure: that fails
      // the rollout at once. One that exited 0 did its job (a one-shot) and counts as ready.
      let done = 0;
      let gaveUp: { r: number; code: number } | null = null;
      for (let r = 0; r < n; r++) {
        const code = p.finished.get(Ledger.key(dep.id, r));
        if (code === undefined) continue;
        if (code === 0) done++;
        else gaveUp ??= { r, code };
      }
      if (gaveUp) {
        const c = p.byKey.get(Ledger.key(dep.id, gaveUp.r))!;
        const o = { reason: `container exited with code ${gaveUp.code} (restart policy ${dep.restart_policy})`, exit_code: gaveUp.code };
        await failCrashLoop(p, dep, o as ReplicaObservation, c);
        for (let r = 0; r < n; r++) keep.delete(Ledger.key(dep.id, r));
        continue;
      }
      const failing = seen.find((s) => s.o.bad >= BAD_OBSERVATIONS_TO_FAIL);
      if (failing) {
        await failCrashLoop(p, dep, failing.o, failing.c);
        for (let r = 0; r < n; r++) keep.delete(Ledger.key(dep.id, r));
        continue;
      }
      // Replicas that exited 0 under never/on-failure (one-shots) are done; the others must be ready.
      if (seen.length + done !== n) continue;
      if (dep.phase === deploykit.PHASE_STARTING) p.replaceDep(await ctx.deployments.markHealthCheck(dep.id));
      let ready: boolean;
      if (dep.healthcheck_path) {
        const verdict = await healthCheck(p, dep, dep.healthcheck_path, seen, now);
        if (verdict === "failed") {
          for (let r = 0; r < n; r++) keep.delete(Ledger.key(dep.id, r));
          continue;
        }
        ready = verdict === "ready";
      } else ready = seen.every((s) => Ledger.ready(s.o, now, ctx.stableWindowMs));
      // Ready containers answer to the service's name before the deployment is promoted, so the
      // name moves to them before the old containers get their stop signal (next pass).
      if (
        ready &&
        !(await attachAliases(
          p,
          seen.map((s) => s.c),
        ))
      ) {
        p.again = true;
        continue;
      }
      if (ready) {
        const baseline = Math.max(0, ...seen.map((s) => s.o.max_restart_count));
        ctx.faultPoint?.("reconcile:before-promote");
        const { deployment } = await ctx.deployments.markHealthy(dep.id, baseline);
        ctx.faultPoint?.("reconcile:after-promote");
        p.replaceDep(deployment);
        p.promoted = true;
        p.publishDeployment(deploykit.EVENT_DEPLOYMENT_HEALTHY, deployment);
        p.log.info({ deployment_id: dep.id }, "deployment healthy");
        // The superseded deployment leaves the in-flight set: its containers go next pass.
        p.deps = p.deps.filter((d) => d.id === deployment.id || d.status !== deploykit.DEPLOYMENT_HEALTHY);
        await withdrawAliases(p, deployment.id);
        p.again = true;
      }
      continue;
    }
    for (const { o } of seen) {
      if (o.bad >= BAD_OBSERVATIONS_TO_FAIL) {
        o.crash_looping = true;
        o.bad = 0;
        p.log.warn({ deployment_id: dep.id, reason: o.reason }, "healthy deployment is crash-looping");
      } else if (Ledger.ready(o, now, ctx.stableWindowMs)) o.crash_looping = false;
      if (o.bad > 0 || o.crash_looping) p.again = true;
    }
  }
  ctx.ledger.retain(p.id, keep);
}

/**
 * The HTTP health check of a starting deployment (issue 12): replaces the stable window. Each
 * running replica is probed until one answer is 2xx/3xx; the deployment fails when a replica has
 * not answered so within the timeout, with the last status or error in the reason.
 */
export async function healthCheck(
  p: PassBase,
  dep: deploykit.Deployment,
  path: string,
  seen: { o: ReplicaObservation; c: deploykit.RunningContainer }[],
  now: number,
): Promise<"ready" | "waiting" | "failed"> {
  const { ctx } = p;
  p.again = true;
  // The first TCP container port (a UDP one cannot answer HTTP).
  const port = dep.ports?.find((p) => p.protocol !== "udp")?.container_port;
  if (port === undefined) {
    await p.markFailed(
      dep,
      { reason: `health check failed: the path ${path} is set but the service has no TCP container port to probe` },
      dep.attempt_count,
    );
    return "failed";
  }
  const timeoutMs = (dep.healthcheck_timeout_seconds ?? deploykit.DEFAULT_HEALTHCHECK_TIMEOUT_SECONDS) * 1000;
  const network = deploykit.projectNetworkName(p.project?.slug ?? "");
  const probe = ctx.probe ?? httpProbe;
  await Promise.all(
    seen.map(async ({ o }) => {
      // Probed from the first good observation after a restart: the crash-loop count (`bad`) clears
      // only after a stable window, but a health check is the faster proof the run is up.
      if (o.last_bad || o.running_since === undefined) return;
      if (!o.health) o.health = { since: now, ok: false, probes: 0 };
      const h = o.health;
      // A restart since the last healthy answer has to answer again.
      if (h.ok && h.started !== o.running_since) h.ok = false;
      if (h.ok) return;
      const ip = o.inspection?.ip_addresses?.[network];
      if (!ip) {
        h.last = `the container has no address on the network ${network}`;
        return;
      }
      const r = await probe(probeURL(ip, port, path), PROBE_REQUEST_TIMEOUT_MS);
      h.probes++;
      if (r.ok) {
        h.ok = true;
        h.started = o.running_since;
        p.log.info({ deployment_id: dep.id, path, status: r.status }, "health check passed");
      } else h.last = describeProbe(r);
    }),
  );
  if (seen.every((s) => !s.o.last_bad && s.o.running_since !== undefined && s.o.health?.ok)) return "ready";
  const late = seen.find((s) => s.o.health && !s.o.health.ok && ctx.now() - s.o.health.since >= timeoutMs);
  if (!late) return "waiting";
  const reason = healthFailureReason(path, port, timeoutMs / 1000, late.o.health);
  let logTail = "";
  try {
    logTail = await ctx.runtime.logTail(late.c.docker_id, FAILURE_LOG_LINES);
  } catch (err) {
    p.log.warn({ err: describe(err) }, "could not read the log tail of a failed container");
  }
  await p.markFailed(dep, { reason, log_tail: logTail }, dep.attempt_count);
  return "failed";
}

export async function failCrashLoop(
  p: PassBase,
  dep: deploykit.Deployment,
  o: ReplicaObservation,
  c: deploykit.RunningContainer,
): Promise<void> {
  let logTail = "";
  try {
    logTail = await p.ctx.runtime.logTail(c.docker_id, FAILURE_LOG_LINES);
    // Docker copies a container's output to its log asynchronously: on a loaded engine the last
    // lines of a container that just exited may not be readable yet. Ask again for up to 1 s.
    for (let i = 0; i < 4 && logTail === "" && o.exit_code !== undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      logTail = await p.ctx.runtime.logTail(c.docker_id, FAILURE_LOG_LINES);
    }
  } catch (err) {
    p.log.warn({ err: describe(err) }, "could not read the log tail of a failed container");
  }
  const failure: deploykit.DeploymentFailure = { reason: o.reason ?? "container failed runtime checks", log_tail: logTail };
  if (o.exit_code !== undefined) failure.exit_code = o.exit_code;
  await p.markFailed(dep, failure, dep.attempt_count);
}

/**
 * Whether a failed pull/create is Docker's trouble rather than the deployment's. EUNAVAILABLE
 * means the daemon or something behind it (a registry) did not answer; a ping tells them apart.
 * Anything failing around an outage is the outage's.
 */
