import * as deploykit from "../index.ts";
import { driftReason } from "./drift.ts";
import { Ledger, serviceAliases } from "./readiness.ts";

/** The slices of the domain services the reconciler uses. */
export type ProjectReader = Pick<deploykit.ProjectService, "findProjectByID" | "findProjects">;

import type { PassBase } from "./pass-base.ts";
import {
  applyLimits,
  type ContainerVolume,
  type Desired,
  describe,
  exitedForGood,
  reason,
  rowStatus,
  STOPPED_STATES,
} from "./pass-context.ts";

/** Tear down what is not desired and create what is missing: drift, the volume rule (stop-first), container specs and volumes. */

export async function teardown(
  p: PassBase,
  actual: deploykit.RunningContainer[],
  desired: Map<string, Desired>,
  rows: deploykit.Container[],
): Promise<void> {
  const rowsByDocker = new Map<string, deploykit.Container[]>();
  for (const row of rows) {
    const list = rowsByDocker.get(row.docker_container_id) ?? [];
    list.push(row);
    rowsByDocker.set(row.docker_container_id, list);
  }
  // A container DeployKit recorded is kept in preference to one it did not create (C04), a running duplicate to a stopped one.
  const recorded = (c: deploykit.RunningContainer) => Number(rowsByDocker.has(c.docker_id));
  const ordered = [...actual].sort((a, b) => recorded(b) - recorded(a) || Number(b.state === "running") - Number(a.state === "running"));
  for (const c of ordered) {
    const key = Ledger.key(c.deployment_id, c.replica_index);
    // Under the unless-stopped policy a container that exits by itself is restarted by Docker (and
    // the gate counts the restarts); one left exited or never started was stopped by someone else
    // (a dockerd shutdown, `docker stop`, a crash between create and start). That is not the
    // deployment's fault: it is replaced — once Docker is settled and the container has stayed
    // stopped past a grace period, so a restarting dockerd gets to restart its own containers and
    // nothing is removed while it shuts down.
    const want = desired.get(key);
    if (
      want &&
      !p.byKey.has(key) &&
      !(STOPPED_STATES.has(c.state) && !exitedForGood(want.dep, c.state) && (await p.replaceStopped(c))) &&
      !(await drifted(p, c, want, rowsByDocker.has(c.docker_id)))
    ) {
      p.byKey.set(key, c);
      continue;
    }
    // Superseded and just unnamed (withdrawAliases), or just out of the proxy's routes: left
    // running for the drain (drain_seconds), rows kept; the pass looks again after the fast tick.
    const unnamedAt = p.ctx.ledger.withdrawn.get(c.docker_id);
    const draining =
      !want &&
      c.state === "running" &&
      ((unnamedAt !== undefined && p.ctx.now() - unnamedAt < p.drainMs()) ||
        (p.ctx.ingress !== undefined && !p.stopFirst() && desired.size > 0 && p.ctx.ingress.drainLeftMs(p.id, p.drainMs() / 1000) > 0));
    if (draining) {
      rowsByDocker.delete(c.docker_id);
      p.again = true;
      continue;
    }
    p.ctx.ledger.withdrawn.delete(c.docker_id);
    try {
      if (p.stopFirst() && desired.size > 0 && !desired.has(key))
        p.log.info(
          { container: c.name, grace_seconds: p.graceSeconds() },
          "stopping the old container first because p service has a volume",
        );
      // Its last lines are kept once it has stopped, so what it printed while shutting down is in them.
      await p.ctx.runtime.removeContainer(c.docker_id, p.graceSeconds(), p.ctx.logs ? () => p.keepLogs(c) : undefined);
      p.ctx.faultPoint?.("reconcile:after-container-remove");
      p.ctx.snapshot.removeContainer(c.docker_id);
      p.log.info({ container: c.name, docker_id: c.docker_id }, "removed container");
    } catch (err) {
      p.errors.push(err);
      continue;
    }
    const cRows = rowsByDocker.get(c.docker_id) ?? [];
    rowsByDocker.delete(c.docker_id);
    for (const row of cRows) await p.deleteRow(row);
    if (cRows.length === 0) p.publishDeleted(c.project_id, c.docker_id);
  }
  // Rows follow Docker: adopted containers get one, state changes are copied, vanished ones go.
  for (const c of p.byKey.values()) {
    const want = rowStatus(c.state);
    const cRows = rowsByDocker.get(c.docker_id);
    rowsByDocker.delete(c.docker_id);
    try {
      if (!cRows) {
        await p.ctx.containers.createContainer({
          service_id: p.id,
          deployment_id: c.deployment_id,
          docker_container_id: c.docker_id,
          replica_index: c.replica_index,
          status: want,
        });
      } else {
        for (const row of cRows) if (row.status !== want) await p.ctx.containers.updateContainerStatus(row.id, want);
      }
    } catch (err) {
      if (deploykit.errorCode(err) !== deploykit.ENOTFOUND) p.errors.push(err);
    }
  }
  for (const list of rowsByDocker.values()) for (const row of list) await p.deleteRow(row);
}

/** Out-of-band drift and forged containers are replaced, not kept (src/reconciler/drift.ts). */
export async function drifted(p: PassBase, c: deploykit.RunningContainer, want: Desired, recorded: boolean): Promise<boolean> {
  const network = deploykit.projectNetworkName(p.project?.slug ?? "");
  const why = await driftReason(p.ctx.runtime, c, { image: want.dep.image, env: want.dep.env_vars, network }, recorded);
  if (why !== null)
    p.log.warn({ container: c.name, docker_id: c.docker_id, reason: why }, "replacing a container that drifted from its deployment");
  return why !== null;
}

export async function createMissing(p: PassBase, desired: Map<string, Desired>): Promise<void> {
  const missing = [...desired.entries()].filter(([k]) => !p.byKey.has(k));
  if (missing.length === 0) return;
  const project = p.project!;
  const service = p.service!;
  if (p.stopFirst() && !(await volumeFree(p))) return;
  try {
    await p.ensureNetwork(project);
    p.ctx.faultPoint?.("reconcile:after-network");
  } catch (err) {
    p.errors.push(err);
    return;
  }
  const byDep = new Map<string, { dep: deploykit.Deployment; replicas: number[] }>();
  for (const [, d] of missing) {
    const entry = byDep.get(d.dep.id) ?? { dep: d.dep, replicas: [] };
    entry.replicas.push(d.replica);
    byDep.set(d.dep.id, entry);
  }
  for (let { dep, replicas } of byDep.values()) {
    let volumes: ContainerVolume[];
    try {
      volumes = await ensureVolumes(p, project, service, dep);
    } catch (err) {
      p.errors.push(err);
      continue;
    }
    if (dep.status === deploykit.DEPLOYMENT_PENDING) {
      dep = await p.ctx.deployments.markStarting(dep.id);
      p.ctx.faultPoint?.("reconcile:after-mark-starting");
      p.replaceDep(dep);
      p.publishDeployment(deploykit.EVENT_DEPLOYMENT_STARTING, dep);
    }
    for (const replica of replicas) {
      const spec = containerSpec(p, project, service, dep, replica, volumes);
      let dockerID: string;
      try {
        dockerID = await p.ctx.runtime.runContainer(spec);
        p.ctx.faultPoint?.("reconcile:after-container-start");
      } catch (err) {
        // A live deployment is never failed because one of its replicas could not be replaced (a
        // dockerd shutting down answers such creates with odd 500s): the pass fails and is retried
        // with backoff, and the service shows degraded meanwhile.
        if (dep.status === deploykit.DEPLOYMENT_HEALTHY || (await p.dockerAtFault(err))) p.errors.push(err);
        else await p.attempt(dep, reason("container start failed", err));
        p.again = true;
        break;
      }
      const rc: deploykit.RunningContainer = {
        docker_id: dockerID,
        name: spec.name,
        project_id: project.id,
        service_id: service.id,
        deployment_id: dep.id,
        replica_index: replica,
        state: "running",
        labels: spec.labels,
      };
      p.ctx.snapshot.addContainer(rc);
      p.byKey.set(Ledger.key(dep.id, replica), rc);
      p.again = true;
      p.log.info({ container: spec.name, deployment_id: dep.id }, "created container");
      try {
        const row = await p.ctx.containers.createContainer({
          service_id: service.id,
          deployment_id: dep.id,
          docker_container_id: dockerID,
          replica_index: replica,
          status: deploykit.CONTAINER_RUNNING,
        });
        p.ctx.faultPoint?.("reconcile:after-container-row");
        p.ctx.bus.publish(
          deploykit.newEvent(deploykit.EVENT_CONTAINER_CREATED, project.id, {
            service_id: service.id,
            container_id: row.id,
            status: row.status,
          }),
        );
      } catch (err) {
        p.errors.push(err);
      }
    }
  }
}

/**
 * Stop-first's guard: asks Docker afresh (not the cached snapshot) whether any container of p
 * service still exists, in any state. One that does, or a list that fails, stops the pass for p
 * service with the reason; it is retried with backoff rather than raced.
 */
export async function volumeFree(p: PassBase): Promise<boolean> {
  let others: deploykit.RunningContainer[];
  try {
    others = (await p.ctx.runtime.listContainers()).filter((c) => c.service_id === p.id && !c.labels[deploykit.LABEL_ROLE]);
  } catch (err) {
    p.errors.push(new Error(`not starting a container: could not confirm the volume is free (${describe(err)})`));
    return false;
  }
  p.ctx.faultPoint?.("reconcile:volume-free");
  if (others.length === 0) return true;
  const names = others.map((c) => `${c.name} (${c.state})`).join(", ");
  p.log.warn({ containers: names }, "not starting a container while another container of p volume service exists");
  p.errors.push(new Error(`waiting for ${names} to be removed: p service has a volume, which one container mounts at a time`));
  p.again = true;
  return false;
}

export function containerSpec(
  p: PassBase,
  project: deploykit.Project,
  service: deploykit.Service,
  dep: deploykit.Deployment,
  replica: number,
  volumes: ContainerVolume[],
): deploykit.ContainerSpec {
  const spec: deploykit.ContainerSpec = {
    name: deploykit.containerName(project.slug, service.name, replica, dep.id),
    image: dep.image,
    network: deploykit.projectNetworkName(project.slug),
    // The service name is attached at promotion (attachAliases), not here: see ContainerSpec.aliases.
    // Stop-first is the exception: the old container is already gone, so the name has nowhere
    // else to point, and withholding it would only lengthen the outage by the readiness wait.
    aliases: p.stopFirst() ? serviceAliases(service, p.ctx.ingress !== undefined) : [],
    env: { ...dep.env_vars },
    // With the forwarder, TCP host ports are published by the daemon, not bound by the container.
    ports: (dep.ports ?? []).map((port) =>
      p.ctx.forwarder && port.protocol !== "udp" ? { container_port: port.container_port, protocol: "tcp" as const } : port,
    ),
    volumes,
    labels: {
      ...deploykit.instanceLabels(p.ctx.instanceID),
      [deploykit.LABEL_PROJECT_ID]: project.id,
      [deploykit.LABEL_SERVICE_ID]: service.id,
      [deploykit.LABEL_DEPLOYMENT_ID]: dep.id,
      [deploykit.LABEL_REPLICA_INDEX]: String(replica),
    },
  };
  applyLimits(spec, dep, p.limitDefaults);
  spec.stop_timeout = dep.stop_grace_seconds ?? deploykit.DEFAULT_STOP_GRACE_SECONDS;
  if (dep.start_command && dep.start_command.length > 0) spec.cmd = [...dep.start_command];
  if (dep.entrypoint && dep.entrypoint.length > 0) spec.entrypoint = [...dep.entrypoint];
  spec.restart_policy = dep.restart_policy ?? deploykit.RESTART_ALWAYS;
  spec.restart_max_retries = dep.restart_max_retries ?? deploykit.DEFAULT_RESTART_MAX_RETRIES;
  return spec;
}

/**
 * The Docker volume of each of the deployment's volumes. A volume is found by its labels first, so
 * a renamed service keeps mounting the volume created under its old name.
 */
export async function ensureVolumes(
  p: PassBase,
  project: deploykit.Project,
  service: deploykit.Service,
  dep: deploykit.Deployment,
): Promise<ContainerVolume[]> {
  if (!dep.volumes || dep.volumes.length === 0) return [];
  const existing = await p.ctx.snapshot.volumes();
  const out: ContainerVolume[] = [];
  for (const vol of dep.volumes) {
    const found = existing.find(
      (v) => v.labels[deploykit.LABEL_SERVICE_ID] === service.id && v.labels[deploykit.LABEL_VOLUME_NAME] === vol.name,
    );
    if (found) {
      out.push({ volume: found.name, mount_path: vol.mount_path });
      continue;
    }
    const name = deploykit.volumeName(project.slug, service.id, vol.name);
    const labels = {
      ...deploykit.instanceLabels(p.ctx.instanceID),
      [deploykit.LABEL_PROJECT_ID]: project.id,
      [deploykit.LABEL_SERVICE_ID]: service.id,
      [deploykit.LABEL_VOLUME_NAME]: vol.name,
    };
    await p.ctx.runtime.ensureVolume(name, labels);
    p.ctx.snapshot.addVolume({ name, labels });
    out.push({ volume: name, mount_path: vol.mount_path });
  }
  return out;
}
