import type Dockerode from "dockerode";
import * as deploykit from "../index.ts";
import { type Conn, ownedFilter, STOP_GRACE_SECONDS, validateName, validateNetworkName } from "./conn.ts";
import { demuxAll } from "./demux.ts";
import { dockerMessage, forbidden, ignoreNotFound, statusCode, wrap } from "./errors.ts";
import { ensureImage } from "./image.ts";
import { ensureVolume, listVolumes, removeVolume } from "./volume.ts";

const MIB = 1024 * 1024;
/**
 * Processes (threads included) one container may run: a fork bomb in one service stops here instead
 * of exhausting the host's PID table. Generous for real workloads (a JVM runs a few hundred threads).
 */
export const PIDS_LIMIT = 4096;
/** Docker's "never happened" time in inspect answers. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * ContainerRuntime runs the reconciler's containers. Everything a spec can ask for is mapped to a
 * fixed, unprivileged shape: no host mounts, host namespaces, capabilities or privileged mode.
 */
export class ContainerRuntime implements deploykit.ContainerRuntime {
  private readonly conn: Conn;

  constructor(conn: Conn) {
    this.conn = conn;
  }

  async listContainers(): Promise<deploykit.RunningContainer[]> {
    try {
      const list = await this.conn.api.listContainers({ all: true, filters: ownedFilter(this.conn.instanceID) });
      return list.filter((c) => deploykit.ownedBy(c.Labels, this.conn.instanceID)).map(toRunningContainer);
    } catch (err) {
      throw wrap(err);
    }
  }

  ensureImage(ref: string): Promise<void> {
    return ensureImage(this.conn, ref);
  }

  async runContainer(spec: deploykit.ContainerSpec): Promise<string> {
    const opts = createOptions(spec, this.conn.instanceID);
    // Docker would silently create a missing named volume without our labels; make it ours first.
    const volumeLabels = pickLabels(spec.labels, [deploykit.LABEL_PROJECT_ID, deploykit.LABEL_SERVICE_ID]);
    for (const v of spec.volumes) await ensureVolume(this.conn, v.volume, volumeLabels);
    let container: Dockerode.Container;
    try {
      container = await this.conn.api.createContainer(opts);
    } catch (err) {
      throw wrap(err, "container create failed");
    }
    try {
      // Start sets up mounts and networking, which a loaded host can take well over 10 s to do.
      await this.conn.slow.getContainer(container.id).start();
    } catch (err) {
      await ignoreNotFound(container.remove({ force: true, v: false })).catch((rmErr: unknown) =>
        this.conn.logger.warn({ err: rmErr, container: spec.name }, "could not remove container that failed to start"),
      );
      const failed = wrap(err, "container start failed");
      // A host port still held (by the previous deployment's container, say) is a conflict the caller
      // can resolve by freeing the port, not an internal failure.
      if (/port is already allocated|address already in use/i.test(failed.message)) {
        throw new deploykit.DeployKitError(deploykit.ECONFLICT, failed.message, { cause: err });
      }
      throw failed;
    }
    return container.id;
  }

  async removeContainer(dockerID: string, graceSeconds?: number, stopped?: () => Promise<void>): Promise<void> {
    try {
      const info = await ignoreNotFound(this.conn.api.getContainer(dockerID).inspect());
      if (!info) return;
      if (!deploykit.ownedBy(info.Config.Labels, this.conn.instanceID)) throw forbidden("container", dockerID);
      try {
        // A deleted service's containers still carry the grace they were created with.
        const configured = (info.Config as { StopTimeout?: number }).StopTimeout;
        await stopWithin(this.conn, info.Id, graceSeconds ?? configured ?? STOP_GRACE_SECONDS);
      } catch (err) {
        // 304: already stopped; 404: gone. Anything else still ends in the forced remove below.
        const code = statusCode(err);
        if (code !== 304 && code !== 404) this.conn.logger.warn({ err: dockerMessage(err), container: info.Id }, "container stop failed");
      }
      if (stopped)
        await stopped().catch((err) => this.conn.logger.warn({ err: dockerMessage(err), container: info.Id }, "before-remove step failed"));
      try {
        // v: false keeps named volumes: they outlive containers (redeploys, rollbacks).
        await ignoreNotFound(this.conn.api.getContainer(info.Id).remove({ force: true, v: false }));
      } catch (err) {
        // "removal of container … is already in progress": someone else is finishing the job.
        if (statusCode(err) === 409 && /already in progress/i.test(dockerMessage(err))) return;
        throw err;
      }
    } catch (err) {
      throw wrap(err, "container remove failed");
    }
  }

  async restartContainer(dockerID: string, graceSeconds?: number): Promise<void> {
    let info: Dockerode.ContainerInspectInfo;
    try {
      info = await this.conn.api.getContainer(dockerID).inspect();
    } catch (err) {
      if (statusCode(err) === 404) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
      throw wrap(err, "container restart failed");
    }
    if (!deploykit.ownedBy(info.Config.Labels, this.conn.instanceID)) throw forbidden("container", dockerID);
    const configured = (info.Config as { StopTimeout?: number }).StopTimeout;
    const t = Math.max(0, Math.floor(graceSeconds ?? configured ?? STOP_GRACE_SECONDS));
    try {
      await withDeadline(this.conn.stream.getContainer(info.Id).restart({ t }), t + 30);
    } catch (err) {
      if (statusCode(err) === 404) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
      throw wrap(err, "container restart failed");
    }
  }

  async inspectContainer(dockerID: string): Promise<deploykit.ContainerInspection> {
    let info: Dockerode.ContainerInspectInfo;
    try {
      info = await this.conn.api.getContainer(dockerID).inspect();
    } catch (err) {
      if (statusCode(err) === 404) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
      throw wrap(err);
    }
    const state = info.State.Status;
    const out: deploykit.ContainerInspection = {
      state,
      restart_count: info.RestartCount ?? 0,
      labels: info.Config.Labels ?? {},
      ip_addresses: networkIPs(info.NetworkSettings?.Networks),
      aliases: networkAliases(info.NetworkSettings?.Networks),
    };
    if (state === "exited" || state === "dead") out.exit_code = info.State.ExitCode;
    if (info.State.StartedAt && !info.State.StartedAt.startsWith(ZERO_TIME.slice(0, 10))) out.started_at = info.State.StartedAt;
    if (info.State.FinishedAt && !info.State.FinishedAt.startsWith(ZERO_TIME.slice(0, 10))) out.finished_at = info.State.FinishedAt;
    return out;
  }

  async inspectConfig(dockerID: string): Promise<deploykit.ContainerConfig> {
    try {
      const info = await this.conn.api.getContainer(dockerID).inspect();
      // By the image id, not the reference: the tag may point elsewhere by now.
      const image = await ignoreNotFound(this.conn.api.getImage(info.Image).inspect());
      return {
        image: info.Config.Image,
        env: envMap(info.Config.Env),
        image_env: envMap(image?.Config?.Env),
        networks: Object.keys(info.NetworkSettings?.Networks ?? {}),
      };
    } catch (err) {
      if (statusCode(err) === 404) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
      throw wrap(err);
    }
  }

  async setNetworkAliases(dockerID: string, network: string, aliases: string[]): Promise<void> {
    validateNetworkName(network);
    let info: Dockerode.ContainerInspectInfo;
    try {
      info = await this.conn.api.getContainer(dockerID).inspect();
    } catch (err) {
      if (statusCode(err) === 404) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
      throw wrap(err, "network connect failed");
    }
    if (!deploykit.ownedBy(info.Config.Labels, this.conn.instanceID)) throw forbidden("container", dockerID);
    const net = this.conn.api.getNetwork(network);
    try {
      if (info.NetworkSettings?.Networks?.[network]) await ignoreNotFound(net.disconnect({ Container: info.Id, Force: true }));
      await net.connect({ Container: info.Id, EndpointConfig: { Aliases: [...aliases] } });
    } catch (err) {
      if (statusCode(err) === 404 && /container/i.test(dockerMessage(err)))
        throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
      throw wrap(err, "network connect failed");
    }
  }

  async logTail(dockerID: string, lines: number): Promise<string> {
    const n = Math.max(1, Math.min(Math.floor(lines) || 50, deploykit.LOG_TAIL_MAX));
    try {
      const c = this.conn.api.getContainer(dockerID);
      const info = await c.inspect();
      const raw = (await c.logs({ stdout: true, stderr: true, follow: false, tail: n })) as unknown as Buffer;
      const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw));
      return (info.Config.Tty ? buf : demuxAll(buf)).toString("utf8").replace(/[\r\n]+$/, "");
    } catch (err) {
      if (statusCode(err) === 404) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
      throw wrap(err);
    }
  }

  listVolumes(): Promise<deploykit.Volume[]> {
    return listVolumes(this.conn);
  }

  ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    return ensureVolume(this.conn, name, labels);
  }

  removeVolume(name: string): Promise<void> {
    return removeVolume(this.conn, name);
  }

  async ping(): Promise<void> {
    try {
      await this.conn.api.ping();
    } catch (err) {
      throw wrap(err);
    }
  }
}

/**
 * `docker stop -t grace`. The stop call is silent for up to the grace, which may exceed the slow
 * connection's idle timeout, so it goes over the untimed connection with a deadline of its own.
 */
async function stopWithin(conn: Conn, id: string, graceSeconds: number): Promise<void> {
  const t = Math.max(0, Math.floor(graceSeconds));
  await withDeadline(conn.stream.getContainer(id).stop({ t }), t + 30);
}

async function withDeadline<T>(p: Promise<T>, seconds: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Docker did not answer within ${seconds} s`)), seconds * 1000);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The create request for a spec. Host access is pinned off explicitly rather than left to daemon
 * defaults: no privileged mode, binds, host namespaces or capabilities, and no setuid escalation.
 */
export function createOptions(spec: deploykit.ContainerSpec, instanceID: string): Dockerode.ContainerCreateOptions {
  validateName("container", spec.name);
  validateNetworkName(spec.network);
  for (const v of spec.volumes) {
    validateName("volume", v.volume);
    if (typeof v.mount_path !== "string" || !v.mount_path.startsWith("/")) {
      throw deploykit.errorf(deploykit.EINVALID, `Invalid mount path "${String(v.mount_path)}".`);
    }
  }
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of spec.ports) {
    const key = `${p.container_port}/${p.protocol ?? "tcp"}`;
    exposed[key] = {};
    if (p.host_port !== undefined && p.host_port > 0) {
      const list = bindings[key] ?? [];
      list.push({ HostIp: "", HostPort: String(p.host_port) });
      bindings[key] = list;
    }
  }
  const r = spec.resources ?? {};
  const hostConfig: Dockerode.HostConfig = {
    NetworkMode: spec.network,
    RestartPolicy: deploykit.dockerRestartPolicy(spec.restart_policy, spec.restart_max_retries),
    LogConfig: { Type: "json-file", Config: { "max-size": deploykit.LOG_MAX_SIZE, "max-file": deploykit.LOG_MAX_FILE } },
    Mounts: spec.volumes.map((v) => ({ Type: "volume" as const, Source: v.volume, Target: v.mount_path })),
    Privileged: false,
    PublishAllPorts: false,
    CapAdd: [],
    SecurityOpt: ["no-new-privileges"],
    PidsLimit: spec.pids_limit !== undefined && spec.pids_limit > 0 ? Math.round(spec.pids_limit) : PIDS_LIMIT,
  };
  if (Object.keys(bindings).length > 0) hostConfig.PortBindings = bindings;
  if (r.memory_mb && r.memory_mb > 0) hostConfig.Memory = Math.round(r.memory_mb * MIB);
  if (r.cpus && r.cpus > 0) hostConfig.NanoCpus = Math.round(r.cpus * 1e9);
  if (r.cpu_shares && r.cpu_shares > 0) hostConfig.CpuShares = Math.round(r.cpu_shares);
  const opts: Dockerode.ContainerCreateOptions = {
    name: spec.name,
    Image: spec.image,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    // The instance labels come last so a spec can never claim another instance.
    Labels: { ...spec.labels, ...deploykit.instanceLabels(instanceID) },
    ExposedPorts: exposed,
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: { [spec.network]: spec.aliases.length > 0 ? { Aliases: [...spec.aliases] } : {} } },
  };
  if (spec.cmd && spec.cmd.length > 0) opts.Cmd = [...spec.cmd];
  if (spec.entrypoint && spec.entrypoint.length > 0) opts.Entrypoint = [...spec.entrypoint];
  if (spec.stop_timeout !== undefined) opts.StopTimeout = Math.max(0, Math.floor(spec.stop_timeout));
  return opts;
}

function toRunningContainer(c: Dockerode.ContainerInfo): deploykit.RunningContainer {
  const labels = c.Labels ?? {};
  const replica = Number.parseInt(labels[deploykit.LABEL_REPLICA_INDEX] ?? "", 10);
  return {
    docker_id: c.Id,
    name: (c.Names?.[0] ?? "").replace(/^\//, ""),
    project_id: labels[deploykit.LABEL_PROJECT_ID] ?? "",
    service_id: labels[deploykit.LABEL_SERVICE_ID] ?? "",
    deployment_id: labels[deploykit.LABEL_DEPLOYMENT_ID] ?? "",
    replica_index: Number.isFinite(replica) ? replica : 0,
    state: c.State,
    labels,
    ip_addresses: networkIPs(c.NetworkSettings?.Networks),
  };
}

function envMap(env: string[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env ?? []) {
    const i = e.indexOf("=");
    if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

function networkIPs(networks: Record<string, { IPAddress?: string }> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, n] of Object.entries(networks ?? {})) if (n?.IPAddress) out[name] = n.IPAddress;
  return out;
}

function networkAliases(networks: Record<string, { Aliases?: string[] | null }> | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, n] of Object.entries(networks ?? {})) out[name] = [...(n?.Aliases ?? [])];
  return out;
}

function pickLabels(labels: Record<string, string>, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) if (labels[k] !== undefined) out[k] = labels[k];
  return out;
}
