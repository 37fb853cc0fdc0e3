import * as deploykit from "../index.ts";
import { TestStore } from "../sqlite/testing.ts";
import { Reconciler, type ReconcilerOptions } from "./reconciler.ts";

/**
 * Test support for the reconciler's unit tests: an in-memory Docker (FakeRuntime, also the
 * Provisioner) with controllable state and call counters, and the real store (SQLite in memory, see
 * TestStore) so the lifecycle rules under test are the production ones. Never imported by the
 * reconciler itself.
 */

export { TestStore };

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

  async removeContainer(dockerID: string, graceSeconds?: number, stopped?: () => Promise<void>): Promise<void> {
    this.#call("removeContainer");
    this.graces.push(graceSeconds);
    const c = this.containers.get(dockerID);
    if (!c) return;
    if (!deploykit.ownedBy(c.labels, this.instanceID)) throw deploykit.errorf(deploykit.EFORBIDDEN, "Not a container of this instance.");
    await stopped?.().catch(() => undefined);
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

/**
 * What the reconciler's unit suites start from: a fake clock and Docker, the real services on
 * in-memory SQLite, a recording bus and logger, one project, and a reconciler (`rec`). `make` builds
 * more over the same fakes; every reconciler made is pushed on `running` for the suite's afterEach to
 * stop.
 */
export function reconcilerFixture(instanceID: string, running: Reconciler[], opts: Partial<ReconcilerOptions> = {}) {
  const clock = new Clock();
  const rt = new FakeRuntime(instanceID, clock);
  const store = new TestStore(clock.now);
  const bus = new RecordingBus();
  const log = new RecordingLogger();
  const make = (extra: Partial<ReconcilerOptions> = {}) => {
    const r = new Reconciler({
      projects: store.projects,
      services: store.services,
      deployments: store.deployments,
      containers: store.containers,
      runtime: rt,
      provisioner: rt,
      bus,
      instanceID,
      logger: log,
      now: clock.now,
      ...opts,
      ...extra,
    });
    running.push(r);
    return r;
  };
  const project = store.addProject("shop");
  return { clock, rt, store, bus, log, make, rec: make(), project };
}
