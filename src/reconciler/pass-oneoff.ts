import * as deploykit from "../index.ts";

/** The slices of the domain services the reconciler uses. */
export type ProjectReader = Pick<deploykit.ProjectService, "findProjectByID" | "findProjects">;

import type { PassBase } from "./pass-base.ts";
import { applyLimits, awaitingPreDeploy, describe, reason } from "./pass-context.ts";

/** One-off containers of a pass: the pre-deploy command before a deployment starts, and the promotion of a cron service's deployment. */

/**
 * The pre-deploy step (issue 16), level-triggered and crash-safe: Docker is the record. The newest
 * pending deployment with a pre-deploy command gets one labelled one-off container; a pass finds it
 * again (after a daemon restart too) rather than starting a second. Its exit decides: 0 lets the
 * rollout begin, anything else (or the timeout) fails the deployment while the old one serves on.
 * The outcome is stored before the container is removed, so a crash in between never reruns it.
 */
export async function preDeploy(p: PassBase): Promise<void> {
  const { ctx } = p;
  const waiting = p.deps.filter((d) => awaitingPreDeploy(d) && p.imageReady.has(d.id));
  let list: deploykit.RunningContainer[];
  try {
    if (waiting.length === 0) {
      // Cheap path: only the snapshot, for leftovers of finished or cancelled deployments.
      list = (await ctx.snapshot.containersOf(p.id)).filter((c) => c.labels[deploykit.LABEL_ROLE] === deploykit.ROLE_PRE_DEPLOY);
    } else {
      // Fresh from Docker: a cached list must never make the pass start a second one.
      list = (await ctx.runtime.listContainers()).filter(
        (c) => c.service_id === p.id && c.labels[deploykit.LABEL_ROLE] === deploykit.ROLE_PRE_DEPLOY,
      );
    }
  } catch (err) {
    p.errors.push(err);
    return;
  }
  for (const c of list) {
    if (waiting.some((d) => d.id === c.deployment_id)) continue;
    await removeOneOff(p, c, "removed the container of a pre-deploy command that is no longer needed");
  }
  for (const dep of waiting) {
    p.again = true;
    const c = list.find((x) => x.deployment_id === dep.id);
    try {
      if (!c) await startPreDeploy(p, dep);
      else await watchPreDeploy(p, dep, c);
    } catch (err) {
      p.errors.push(err);
    }
  }
}

export async function startPreDeploy(p: PassBase, dep: deploykit.Deployment): Promise<void> {
  const project = p.project!;
  const service = p.service!;
  if (dep.pre_deploy_status === deploykit.PRE_DEPLOY_RUNNING) {
    // Its container vanished (removed by hand, or Docker lost it): it may have half run, so it is
    // not started again behind the user's back.
    await p.markFailed(dep, { reason: "pre-deploy command: its container disappeared before it finished" }, dep.attempt_count);
    return;
  }
  await p.ensureNetwork(project);
  const spec: deploykit.ContainerSpec = {
    name: `dk-${project.slug}-${service.name}-predeploy-${dep.id.slice(0, 8)}`,
    image: dep.image,
    network: deploykit.projectNetworkName(project.slug),
    // No alias, ports or volumes: nothing routes to it and it never shares a volume (Railway's rule).
    aliases: [],
    env: { ...dep.env_vars },
    ports: [],
    volumes: [],
    labels: {
      ...deploykit.instanceLabels(p.ctx.instanceID),
      [deploykit.LABEL_PROJECT_ID]: project.id,
      [deploykit.LABEL_SERVICE_ID]: service.id,
      [deploykit.LABEL_DEPLOYMENT_ID]: dep.id,
      [deploykit.LABEL_ROLE]: deploykit.ROLE_PRE_DEPLOY,
    },
    cmd: [...(dep.pre_deploy_command ?? [])],
    restart_policy: deploykit.RESTART_NEVER,
    stop_timeout: 10,
  };
  applyLimits(spec, dep, p.limitDefaults);
  if (dep.entrypoint && dep.entrypoint.length > 0) spec.entrypoint = [...dep.entrypoint];
  let dockerID: string;
  try {
    dockerID = await p.ctx.runtime.runContainer(spec);
  } catch (err) {
    if (await p.dockerAtFault(err)) throw err;
    await p.attempt(dep, reason("pre-deploy container start failed", err));
    return;
  }
  p.ctx.faultPoint?.("reconcile:after-pre-deploy-start");
  p.log.info({ container: spec.name, docker_id: dockerID, deployment_id: dep.id }, "started the pre-deploy command");
  p.replaceDep(await p.ctx.deployments.setPreDeploy(dep.id, { status: deploykit.PRE_DEPLOY_RUNNING }));
}

export async function watchPreDeploy(p: PassBase, dep: deploykit.Deployment, c: deploykit.RunningContainer): Promise<void> {
  const { ctx } = p;
  let insp: deploykit.ContainerInspection;
  try {
    insp = await ctx.runtime.inspectContainer(c.docker_id);
  } catch (err) {
    if (deploykit.errorCode(err) === deploykit.ENOTFOUND) return;
    throw err;
  }
  if (insp.state === "created") {
    // Created but never started (a crash in between): it never ran, so it is made afresh.
    await removeOneOff(p, c, "removed a pre-deploy container that never started");
    return;
  }
  if (insp.state !== "exited" && insp.state !== "dead") {
    if (dep.pre_deploy_status !== deploykit.PRE_DEPLOY_RUNNING)
      p.replaceDep(await ctx.deployments.setPreDeploy(dep.id, { status: deploykit.PRE_DEPLOY_RUNNING }));
    const started = insp.started_at ? Date.parse(insp.started_at) : Number.NaN;
    const limitMs = (p.ctx.preDeployTimeoutSeconds ?? deploykit.PRE_DEPLOY_TIMEOUT_SECONDS) * 1000;
    if (!Number.isFinite(started) || ctx.now() - started < limitMs) return;
    const log = await oneOffLog(p, c);
    const secs = limitMs / 1000;
    await ctx.deployments.setPreDeploy(dep.id, { status: deploykit.PRE_DEPLOY_FAILED, log });
    await p.markFailed(dep, { reason: `pre-deploy command timed out after ${secs} s`, log_tail: log }, dep.attempt_count);
    await removeOneOff(p, c, "stopped a pre-deploy command at its timeout");
    return;
  }
  const log = await oneOffLog(p, c);
  const code = insp.exit_code ?? -1;
  if (code === 0) {
    p.replaceDep(await ctx.deployments.setPreDeploy(dep.id, { status: deploykit.PRE_DEPLOY_SUCCEEDED, exit_code: 0, log }));
    p.log.info({ deployment_id: dep.id }, "pre-deploy command succeeded");
  } else {
    await ctx.deployments.setPreDeploy(dep.id, { status: deploykit.PRE_DEPLOY_FAILED, exit_code: code, log });
    await p.markFailed(dep, { reason: `pre-deploy command exited with code ${code}`, exit_code: code, log_tail: log }, dep.attempt_count);
  }
  ctx.faultPoint?.("reconcile:after-pre-deploy-result");
  await removeOneOff(p, c, "removed the finished pre-deploy container");
}

export async function oneOffLog(p: PassBase, c: deploykit.RunningContainer): Promise<string> {
  try {
    return deploykit.truncateLogTail(await p.ctx.runtime.logTail(c.docker_id, 1000));
  } catch (err) {
    p.log.warn({ err: describe(err) }, "could not read the log of a one-off container");
    return "";
  }
}

export async function removeOneOff(p: PassBase, c: deploykit.RunningContainer, what: string): Promise<void> {
  try {
    await p.ctx.runtime.removeContainer(c.docker_id, 0);
    p.ctx.snapshot.removeContainer(c.docker_id);
    p.log.info({ container: c.name, docker_id: c.docker_id }, what);
  } catch (err) {
    p.errors.push(err);
  }
}

/**
 * A cron deployment runs no long-lived container: once its image is there and its pre-deploy
 * command (if any) succeeded it becomes the serving deployment at once, and the scheduler runs it
 * at each tick.
 */
export async function promoteCron(p: PassBase): Promise<void> {
  const { ctx } = p;
  const ready = p.deps.filter(
    (d) =>
      d.cron_schedule &&
      (d.status === deploykit.DEPLOYMENT_PENDING || d.status === deploykit.DEPLOYMENT_STARTING) &&
      p.imageReady.has(d.id) &&
      !awaitingPreDeploy(d),
  );
  // Only the newest: older ones in flight were cancelled when it was created.
  const dep = ready.at(-1);
  if (!dep) return;
  try {
    // The scheduler's runs join the project network; it exists before anything runs.
    await p.ensureNetwork(p.project!);
    if (dep.status === deploykit.DEPLOYMENT_PENDING) {
      const started = await ctx.deployments.markStarting(dep.id);
      p.replaceDep(started);
      p.publishDeployment(deploykit.EVENT_DEPLOYMENT_STARTING, started);
    }
    const { deployment } = await ctx.deployments.markHealthy(dep.id, 0);
    p.replaceDep(deployment);
    p.promoted = true;
    p.publishDeployment(deploykit.EVENT_DEPLOYMENT_HEALTHY, deployment);
    p.log.info({ deployment_id: dep.id }, "cron deployment serving");
    p.deps = p.deps.filter((d) => d.id === deployment.id || d.status !== deploykit.DEPLOYMENT_HEALTHY);
    p.again = true;
  } catch (err) {
    p.errors.push(err);
  }
}
