import * as deploykit from "../index.ts";

/**
 * Test support for the reconciler's unit tests: an in-memory Docker (FakeRuntime, also the
 * Provisioner) with controllable state and call counters, and in-memory stores with the lifecycle
 * rules of src/sqlite (markHealthy supersedes, markFailed fails the service when nothing is healthy).
 * Never imported by the reconciler itself.
 */

export class Clock {
  t = Date.parse("2026-01-01T00:00:00Z");
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface FakeContainer {
  docker_id: string;
  name: string;
  image: string;
  network: string;
  aliases: string[];
  env: Record<string, string>;
  ports: deploykit.PortMapping[];
  /** Address on its network, as Docker would assign it. */
  ip: string;
  volumes: { volume: string; mount_path: string }[];
  labels: Record<string, string>;
  /** The command it was created with, when the spec set one. */
  cmd?: string[];
  /** The restart policy it was created with (absent: always). */
  restart_policy?: deploykit.RestartPolicy;
  restart_max_retries?: number;
  state: string;
  restart_count: number;
  exit_code?: number;
  started_at: string;
  /** When it stopped (Docker's FinishedAt), if a test says so. */
  finished_at?: string;
  logs: string;
}

const unavailable = () => deploykit.errorf(deploykit.EUNAVAILABLE, "Docker is unreachable: connect ENOENT /var/run/docker.sock");

/** In-memory Docker: containers, volumes, networks and local images, plus foreign objects it never lists. */
export class FakeRuntime implements deploykit.ContainerRuntime, deploykit.Provisioner {
  readonly instanceID: string;
  readonly clock: Clock;
  readonly containers = new Map<string, FakeContainer>();
  readonly volumes = new Map<string, Record<string, string>>();
  readonly networks = new Map<string, deploykit.Network>();
  readonly images = new Set<string>(["app:1", "app:2", "app:3"]);
  readonly calls: Record<string, number> = {};
  /** Every method throws EUNAVAILABLE. */
  down = false;
  /** Make one list throw EUNAVAILABLE while the rest works. */
  failList: { containers?: boolean; volumes?: boolean; networks?: boolean } = {};
  /** How long ago a new container "started" (so a first pass can already see it stable). */
  startedAgoMs = 0;
  /** Shapes a new container (crash it, etc.). */
  onRun?: (c: FakeContainer) => void;
  /** Per-image hook run by ensureImage before it answers (e.g. a slow pull). */
  imageHooks = new Map<string, () => Promise<void>>();
  /** Registries whose pulls fail with EUNAVAILABLE while the daemon itself answers. */
  unreachableRegistries: string[] = [];
  /** Removals of these containers fail (the container stays), as a stuck `docker rm` would. */
  failRemove = new Set<string>();
  /** The grace each removal was asked for, in order. */
  readonly graces: (number | undefined)[] = [];
  /** Containers created while another container (any state) mounted one of their volumes. */
  readonly sharedVolumeCreates: string[] = [];
  #seq = 0;

  constructor(instanceID: string, clock: Clock) {
    this.instanceID = instanceID;
    this.clock = clock;
  }

  #call(name: string): void {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
    if (this.down) throw unavailable();
  }

  count(name: string): number {
    return this.calls[name] ?? 0;
  }

  resetCalls(): void {
    for (const k of Object.keys(this.calls)) delete this.calls[k];
  }

  async listContainers(): Promise<deploykit.RunningContainer[]> {
    this.#call("listContainers");
    if (this.failList.containers) throw unavailable();
    return [...this.containers.values()]
      .filter((c) => deploykit.ownedBy(c.labels, this.instanceID))
      .map((c) => ({
        docker_id: c.docker_id,
        name: c.name,
        project_id: c.labels[deploykit.LABEL_PROJECT_ID] ?? "",
        service_id: c.labels[deploykit.LABEL_SERVICE_ID] ?? "",
        deployment_id: c.labels[deploykit.LABEL_DEPLOYMENT_ID] ?? "",
        replica_index: Number(c.labels[deploykit.LABEL_REPLICA_INDEX] ?? 0),
        state: c.state,
        labels: { ...c.labels },
        ip_addresses: { [c.network]: c.ip },
      }));
  }

  async ensureImage(ref: string): Promise<void> {
    this.#call("ensureImage");
    const hook = this.imageHooks.get(ref);
    if (hook) await hook();
    if (this.unreachableRegistries.some((r) => ref.startsWith(`${r}/`)))
      throw deploykit.errorf(deploykit.EUNAVAILABLE, `image pull failed: dial tcp ${ref.split("/")[0]}: connect: connection refused`);
    if (!this.images.has(ref)) throw deploykit.errorf(deploykit.EINVALID, `pull access denied for ${ref}`);
  }

  async runContainer(spec: deploykit.ContainerSpec): Promise<string> {
    this.#call("runContainer");
    if (!this.images.has(spec.image)) throw deploykit.errorf(deploykit.EINVALID, `No such image: ${spec.image}`);
    for (const c of this.containers.values())
      if (c.name === spec.name)
        throw deploykit.errorf(deploykit.ECONFLICT, `Conflict. The container name "/${spec.name}" is already in use`);
    if (!this.networks.has(spec.network)) throw deploykit.errorf(deploykit.EINVALID, `network ${spec.network} not found`);
    for (const v of spec.volumes) if (!this.volumes.has(v.volume)) this.volumes.set(v.volume, {});
    for (const other of this.containers.values())
      if (other.volumes.some((v) => spec.volumes.some((w) => w.volume === v.volume))) this.sharedVolumeCreates.push(spec.name);
    const c: FakeContainer = {
      docker_id: `c${String(++this.#seq).padStart(11, "0")}`,
      name: spec.name,
      image: spec.image,
      network: spec.network,
      aliases: [...spec.aliases],
      env: { ...spec.env },
      ports: spec.ports.map((p) => ({ ...p })),
      ip: `10.0.0.${this.#seq}`,
      volumes: spec.volumes.map((v) => ({ ...v })),
      labels: { ...spec.labels },
      state: "running",
      restart_count: 0,
      started_at: new Date(this.clock.now() - this.startedAgoMs).toISOString(),
      logs: "",
    };
    if (spec.cmd) c.cmd = [...spec.cmd];
    if (spec.restart_policy) c.restart_policy = spec.restart_policy;
    if (spec.restart_max_retries !== undefined) c.restart_max_retries = spec.restart_max_retries;
    this.onRun?.(c);
    this.containers.set(c.docker_id, c);
    return c.docker_id;
  }

  async removeContainer(dockerID: string, graceSeconds?: number): Promise<void> {
    this.#call("removeContainer");
    this.graces.push(graceSeconds);
    const c = this.containers.get(dockerID);
    if (!c) return;
    if (!deploykit.ownedBy(c.labels, this.instanceID)) throw deploykit.errorf(deploykit.EFORBIDDEN, "Not a container of this instance.");
    if (this.failRemove.has(dockerID)) throw deploykit.errorf(deploykit.EUNAVAILABLE, "container remove failed: device or resource busy");
    this.containers.delete(dockerID);
  }

  /** Containers restarted by restartContainer, in order. */
  readonly restarts: string[] = [];

  async restartContainer(dockerID: string, graceSeconds?: number): Promise<void> {
    this.#call("restartContainer");
    this.graces.push(graceSeconds);
    const c = this.containers.get(dockerID);
    if (!c) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
    c.state = "running";
    c.started_at = new Date(this.clock.now()).toISOString();
    this.restarts.push(dockerID);
  }

  async inspectContainer(dockerID: string): Promise<deploykit.ContainerInspection> {
    this.#call("inspectContainer");
    const c = this.containers.get(dockerID);
    if (!c) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
    const out: deploykit.ContainerInspection = {
      state: c.state,
      restart_count: c.restart_count,
      started_at: c.started_at,
      labels: { ...c.labels },
      ip_addresses: { [c.network]: c.ip },
      aliases: { [c.network]: [...c.aliases] },
    };
    if ((c.state === "exited" || c.state === "dead" || c.state === "restarting") && c.exit_code !== undefined) out.exit_code = c.exit_code;
    if (c.finished_at) out.finished_at = c.finished_at;
    return out;
  }

  async inspectConfig(dockerID: string): Promise<deploykit.ContainerConfig> {
    this.#call("inspectConfig");
    const c = this.containers.get(dockerID);
    if (!c) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
    return { image: c.image, env: { ...c.env }, image_env: {}, networks: c.network ? [c.network] : [] };
  }

  async setNetworkAliases(dockerID: string, network: string, aliases: string[]): Promise<void> {
    this.#call("setNetworkAliases");
    const c = this.containers.get(dockerID);
    if (!c) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
    if (!deploykit.ownedBy(c.labels, this.instanceID)) throw deploykit.errorf(deploykit.EFORBIDDEN, "Not a container of this instance.");
    c.network = network;
    c.aliases = [...aliases];
  }

  async logTail(dockerID: string, lines: number): Promise<string> {
    this.#call("logTail");
    const c = this.containers.get(dockerID);
    if (!c) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
    return c.logs.split("\n").slice(-lines).join("\n");
  }

  async listVolumes(): Promise<deploykit.Volume[]> {
    this.#call("listVolumes");
    if (this.failList.volumes) throw unavailable();
    return [...this.volumes.entries()]
      .filter(([, l]) => deploykit.ownedBy(l, this.instanceID))
      .map(([name, labels]) => ({ name, labels: { ...labels } }));
  }

  async ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    this.#call("ensureVolume");
    const existing = this.volumes.get(name);
    if (!existing) this.volumes.set(name, { ...labels });
    else if (
      existing[deploykit.LABEL_SERVICE_ID] &&
      labels[deploykit.LABEL_SERVICE_ID] &&
      existing[deploykit.LABEL_SERVICE_ID] !== labels[deploykit.LABEL_SERVICE_ID]
    )
      throw deploykit.errorf(deploykit.ECONFLICT, `The volume ${name} belongs to another service.`);
  }

  async removeVolume(name: string): Promise<void> {
    this.#call("removeVolume");
    const labels = this.volumes.get(name);
    if (!labels) return;
    if (!deploykit.ownedBy(labels, this.instanceID)) throw deploykit.errorf(deploykit.EFORBIDDEN, "Not a volume of this instance.");
    for (const c of this.containers.values())
      if (c.volumes.some((v) => v.volume === name)) throw deploykit.errorf(deploykit.ECONFLICT, `volume ${name} is in use`);
    this.volumes.delete(name);
  }

  async ping(): Promise<void> {
    this.#call("ping");
  }

  async listNetworks(): Promise<deploykit.Network[]> {
    this.#call("listNetworks");
    if (this.failList.networks) throw unavailable();
    return [...this.networks.values()].filter((n) => deploykit.ownedBy(n.labels, this.instanceID)).map((n) => ({ ...n }));
  }

  async ensureNetwork(name: string, labels: Record<string, string>): Promise<deploykit.Network> {
    this.#call("ensureNetwork");
    let n = this.networks.get(name);
    if (!n) {
      n = { id: `n${++this.#seq}`, name, labels: { ...labels } };
      this.networks.set(name, n);
    }
    return { ...n };
  }

  async removeNetwork(name: string): Promise<void> {
    this.#call("removeNetwork");
    const n = this.networks.get(name);
    if (!n) return;
    if (!deploykit.ownedBy(n.labels, this.instanceID)) throw deploykit.errorf(deploykit.EFORBIDDEN, "Not a network of this instance.");
    for (const c of this.containers.values())
      if (c.network === name) throw deploykit.errorf(deploykit.ECONFLICT, `network ${name} has active endpoints`);
    this.networks.delete(name);
  }

  /** Containers of one service, in creation order. */
  ofService(serviceID: string): FakeContainer[] {
    return [...this.containers.values()].filter((c) => c.labels[deploykit.LABEL_SERVICE_ID] === serviceID);
  }

  /** Puts a container Docker would list but DeployKit never created (other labels). */
  addForeign(name: string, labels: Record<string, string>): FakeContainer {
    const c: FakeContainer = {
      docker_id: `f${String(++this.#seq).padStart(11, "0")}`,
      name,
      image: "other:1",
      network: "bridge",
      aliases: [],
      env: {},
      ports: [],
      ip: `172.17.0.${this.#seq}`,
      volumes: [],
      labels,
      state: "running",
      restart_count: 0,
      started_at: new Date(this.clock.now()).toISOString(),
      logs: "",
    };
    this.containers.set(c.docker_id, c);
    return c;
  }
}

/** In-memory projects, services, deployments and container rows with src/sqlite's lifecycle rules. */
export class MemStore {
  readonly clock: Clock;
  readonly projectRows = new Map<string, deploykit.Project>();
  readonly serviceRows = new Map<string, deploykit.Service>();
  readonly deploymentRows = new Map<string, deploykit.Deployment>();
  readonly containerRows = new Map<string, deploykit.Container>();
  #seq = 0;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  #id(prefix: string): string {
    const n = ++this.#seq;
    return `${prefix}${String(n).padStart(7, "0")}-0000-4000-8000-${String(n).padStart(12, "0")}`;
  }

  #ts(): string {
    return new Date(this.clock.now() + this.#seq).toISOString();
  }

  addProject(slug: string): deploykit.Project {
    const p: deploykit.Project = { id: this.#id("p"), name: slug, slug, created_at: this.#ts(), updated_at: this.#ts() };
    this.projectRows.set(p.id, p);
    return p;
  }

  addService(projectID: string, name: string, extra: Partial<deploykit.Service> = {}): deploykit.Service {
    const s: deploykit.Service = {
      id: this.#id("s"),
      project_id: projectID,
      name,
      status: deploykit.SERVICE_CREATED,
      icon_url: null,
      active_deployment_id: null,
      image: "app:1",
      ports: [],
      volumes: [],
      resources: null,
      replicas: 1,
      stop_grace_seconds: 30,
      healthcheck_path: null,
      healthcheck_timeout_seconds: 60,
      start_command: null,
      entrypoint: null,
      restart_policy: "always",
      restart_max_retries: 10,
      pre_deploy_command: null,
      cron_schedule: null,
      cron_timeout_seconds: 3600,
      created_at: this.#ts(),
      updated_at: this.#ts(),
      ...extra,
    };
    this.serviceRows.set(s.id, s);
    return s;
  }

  /** Like DeploymentService.createDeployment: cancels older pending/starting ones. */
  addDeployment(serviceID: string, input: deploykit.DeploymentCreate, extra: Partial<deploykit.Deployment> = {}): deploykit.Deployment {
    const svc = this.serviceRows.get(serviceID);
    if (!svc) throw deploykit.errorf(deploykit.ENOTFOUND, "Service not found.");
    for (const d of this.deploymentRows.values())
      if (d.service_id === serviceID && (d.status === "pending" || d.status === "starting")) d.status = "cancelled";
    const d: deploykit.Deployment = {
      id: this.#id("d"),
      service_id: serviceID,
      image: input.image,
      env_vars: input.env_vars ?? {},
      ports: input.ports ?? [],
      volumes: input.volumes ?? [],
      replicas: input.replicas ?? 1,
      stop_grace_seconds: input.stop_grace_seconds ?? 30,
      restart_policy: input.restart_policy ?? "always",
      restart_max_retries: input.restart_max_retries ?? 10,
      cron_timeout_seconds: input.cron_timeout_seconds ?? 3600,
      healthcheck_timeout_seconds: input.healthcheck_timeout_seconds ?? 60,
      status: deploykit.DEPLOYMENT_PENDING,
      attempt_count: 0,
      baseline_restart_count: 0,
      created_at: this.#ts(),
      ...extra,
    };
    if (input.resources) d.resources = input.resources;
    if (input.pre_deploy_command && input.pre_deploy_command.length > 0) d.pre_deploy_command = input.pre_deploy_command;
    if (input.cron_schedule) d.cron_schedule = input.cron_schedule;
    if (input.start_command && input.start_command.length > 0) d.start_command = input.start_command;
    if (input.healthcheck_path) d.healthcheck_path = input.healthcheck_path;
    this.deploymentRows.set(d.id, d);
    if (d.status === deploykit.DEPLOYMENT_HEALTHY) {
      svc.active_deployment_id = d.id;
      svc.status = deploykit.SERVICE_RUNNING;
    } else if (!svc.active_deployment_id) svc.status = deploykit.SERVICE_DEPLOYING;
    return d;
  }

  deleteService(id: string): void {
    this.serviceRows.delete(id);
    for (const [k, d] of this.deploymentRows) if (d.service_id === id) this.deploymentRows.delete(k);
    for (const [k, c] of this.containerRows) if (c.service_id === id) this.containerRows.delete(k);
  }

  deleteProject(id: string): void {
    this.projectRows.delete(id);
    for (const s of [...this.serviceRows.values()]) if (s.project_id === id) this.deleteService(s.id);
  }

  dep(id: string): deploykit.Deployment {
    return this.deploymentRows.get(id)!;
  }

  svc(id: string): deploykit.Service {
    return this.serviceRows.get(id)!;
  }

  rowsOf(serviceID: string): deploykit.Container[] {
    return [...this.containerRows.values()].filter((c) => c.service_id === serviceID);
  }

  readonly projects: Pick<deploykit.ProjectService, "findProjectByID" | "findProjects"> = {
    findProjectByID: async (id) => {
      const p = this.projectRows.get(id);
      if (!p) throw deploykit.errorf(deploykit.ENOTFOUND, "Project not found.");
      return { ...p };
    },
    findProjects: async (f) => page([...this.projectRows.values()].reverse(), f),
  };

  readonly services: Pick<deploykit.ServiceService, "findServiceByID" | "findServices" | "updateServiceStatus"> = {
    findServiceByID: async (id) => {
      const s = this.serviceRows.get(id);
      if (!s) throw deploykit.errorf(deploykit.ENOTFOUND, "Service not found.");
      return { ...s };
    },
    findServices: async (f) => page([...this.serviceRows.values()].reverse(), f),
    updateServiceStatus: async (id, status) => {
      const s = this.serviceRows.get(id);
      if (!s) throw deploykit.errorf(deploykit.ENOTFOUND, "Service not found.");
      const old = s.status;
      // Like SQLite: a stopped service stays stopped until the Start action.
      if (old !== deploykit.SERVICE_STOPPED) s.status = status;
      return old;
    },
  };

  readonly deployments: Pick<
    deploykit.DeploymentService,
    "findDeployments" | "markStarting" | "markHealthCheck" | "markHealthy" | "markFailed" | "recordAttempt" | "setPreDeploy"
  > = {
    markHealthCheck: async (id) => ({ ...this.#dep(id) }),
    findDeployments: async (f) => {
      const items = [...this.deploymentRows.values()]
        .filter((d) => (!f.service_id || d.service_id === f.service_id) && (!f.status || f.status.includes(d.status)))
        .reverse();
      return page(items, f);
    },
    markStarting: async (id) => {
      const d = this.#dep(id);
      if (d.status === "pending") {
        d.status = "starting";
        d.started_at ??= this.#ts();
      }
      return { ...d };
    },
    markHealthy: async (id, baseline) => {
      const d = this.#dep(id);
      if (d.status === "healthy") return { deployment: { ...d }, previous_active_id: null };
      const svc = this.serviceRows.get(d.service_id)!;
      const previous = svc.active_deployment_id;
      d.status = "healthy";
      d.healthy_at = this.#ts();
      d.baseline_restart_count = baseline;
      for (const o of this.deploymentRows.values())
        if (o.service_id === d.service_id && o.id !== id && o.status === "healthy") o.status = "superseded";
      svc.active_deployment_id = id;
      svc.status = deploykit.SERVICE_RUNNING;
      return { deployment: { ...d }, previous_active_id: previous && previous !== id ? previous : null };
    },
    markFailed: async (id, failure) => {
      const d = this.#dep(id);
      d.status = "failed";
      d.failure_reason = failure.reason;
      if (failure.exit_code !== undefined) d.exit_code = failure.exit_code;
      if (failure.log_tail !== undefined) d.log_tail = failure.log_tail;
      const healthy = [...this.deploymentRows.values()].some((o) => o.service_id === d.service_id && o.status === "healthy");
      const svc = this.serviceRows.get(d.service_id);
      if (!healthy && svc) svc.status = deploykit.SERVICE_FAILED;
      return { ...d };
    },
    setPreDeploy: async (id, result) => {
      const d = this.#dep(id);
      d.pre_deploy_status = result.status;
      if (result.exit_code !== undefined) d.pre_deploy_exit_code = result.exit_code;
      if (result.log !== undefined) d.pre_deploy_log = result.log;
      return { ...d };
    },
    recordAttempt: async (id, reason) => {
      const d = this.#dep(id);
      d.attempt_count++;
      d.failure_reason = reason;
      return d.attempt_count;
    },
  };

  readonly containers: Pick<
    deploykit.ContainerService,
    "findContainers" | "createContainer" | "updateContainerStatus" | "deleteContainer"
  > = {
    findContainers: async (f) => {
      const items = [...this.containerRows.values()]
        .filter(
          (c) =>
            (!f.service_id || c.service_id === f.service_id) && (!f.docker_container_id || c.docker_container_id === f.docker_container_id),
        )
        .reverse();
      return page(items, f);
    },
    createContainer: async (input) => {
      if (!this.serviceRows.has(input.service_id) || !this.deploymentRows.has(input.deployment_id))
        throw deploykit.errorf(deploykit.ENOTFOUND, "Service not found.");
      const c: deploykit.Container = {
        id: this.#id("r"),
        service_id: input.service_id,
        deployment_id: input.deployment_id,
        docker_container_id: input.docker_container_id,
        replica_index: input.replica_index ?? 0,
        status: input.status ?? "created",
        created_at: this.#ts(),
      };
      this.containerRows.set(c.id, c);
      return { ...c };
    },
    updateContainerStatus: async (id, status) => {
      const c = this.containerRows.get(id);
      if (!c) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
      c.status = status;
      return { ...c };
    },
    deleteContainer: async (id) => {
      this.containerRows.delete(id);
    },
  };

  #dep(id: string): deploykit.Deployment {
    const d = this.deploymentRows.get(id);
    if (!d) throw deploykit.errorf(deploykit.ENOTFOUND, "Deployment not found.");
    return d;
  }
}

function page<T>(items: T[], f: deploykit.Page): deploykit.PageResult<T> {
  const { offset, limit } = deploykit.normalizePage(f);
  return { items: items.slice(offset, offset + limit).map((x) => ({ ...x })), total: items.length };
}

/** An EventBus that records what was published. */
export class RecordingBus implements Pick<deploykit.EventBus, "publish"> {
  readonly events: deploykit.Event[] = [];
  publish(event: deploykit.Event): void {
    this.events.push(event);
  }
  types(): string[] {
    return this.events.map((e) => e.type);
  }
  ofType<K extends deploykit.EventType>(type: K): deploykit.EventPayloads[K][] {
    return this.events.filter((e) => e.type === type).map((e) => e.payload as deploykit.EventPayloads[K]);
  }
}

/** A logger that remembers warn/error lines. */
export class RecordingLogger implements deploykit.Logger {
  readonly lines: { level: string; msg: string; obj: unknown }[];
  constructor(lines: { level: string; msg: string; obj: unknown }[] = []) {
    this.lines = lines;
  }
  #rec(level: string, obj: object | string, msg?: string): void {
    this.lines.push({ level, msg: typeof obj === "string" ? obj : (msg ?? ""), obj });
  }
  trace(obj: object | string, msg?: string): void {
    this.#rec("trace", obj, msg);
  }
  debug(obj: object | string, msg?: string): void {
    this.#rec("debug", obj, msg);
  }
  info(obj: object | string, msg?: string): void {
    this.#rec("info", obj, msg);
  }
  warn(obj: object | string, msg?: string): void {
    this.#rec("warn", obj, msg);
  }
  error(obj: object | string, msg?: string): void {
    this.#rec("error", obj, msg);
  }
  child(): deploykit.Logger {
    return new RecordingLogger(this.lines);
  }
  at(level: string): string[] {
    return this.lines.filter((l) => l.level === level).map((l) => l.msg);
  }
}
