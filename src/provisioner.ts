import type { PortMapping, Resources } from "./deployment.ts";
import type { RestartPolicy } from "./ops.ts";

/** Labels on every Docker object DeployKit creates; nothing without both managed-by and instance is touched. */
export const LABEL_MANAGED_BY = "managed-by";
export const LABEL_MANAGED_BY_VALUE = "deploykit";
export const LABEL_INSTANCE = "deploykit.instance";
export const LABEL_PROJECT_ID = "deploykit.project-id";
export const LABEL_SERVICE_ID = "deploykit.service-id";
export const LABEL_DEPLOYMENT_ID = "deploykit.deployment-id";
export const LABEL_REPLICA_INDEX = "deploykit.replica-index";
export const LABEL_VOLUME_NAME = "deploykit.volume";

export const LOG_MAX_SIZE = "10m";
export const LOG_MAX_FILE = "3";

export interface Network {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** The network's IPv4/IPv6 subnets in CIDR form, when Docker reports them. */
  subnets?: string[];
}

/**
 * The host's side of workload isolation (catalogue C06): containers on DeployKit's networks must not
 * open connections to the daemon's own ports on any host address (the bridge gateway included). An
 * implementation installs only rules of its own, in a chain of its own, and removes them on close.
 */
export interface HostFirewall {
  /** Refuses new TCP connections from `subnets` to the host's `ports`; replaces the rules set before. */
  isolate(subnets: readonly string[], ports: readonly number[]): Promise<void>;
  /** Removes every rule and chain it installed. */
  close(): Promise<void>;
  /** "on", or "off: <why>" when the host offers no way to enforce it (no iptables, no privilege). */
  state(): string;
}

/**
 * Provisioner manages project networks. Implementations only list and remove networks carrying
 * this instance's labels.
 */
export interface Provisioner {
  /** Managed networks of this instance. Throws EUNAVAILABLE when Docker cannot be reached (never returns [] for that). */
  listNetworks(): Promise<Network[]>;
  /** Creates the bridge network when absent; returns it. */
  ensureNetwork(name: string, labels: Record<string, string>): Promise<Network>;
  /** No error when already gone. Refuses networks without this instance's labels. */
  removeNetwork(name: string): Promise<void>;
}

/** Everything the runtime needs to create one container. Built by the reconciler, never from raw user input. */
export interface ContainerSpec {
  name: string;
  image: string;
  network: string;
  /**
   * DNS aliases on `network` at create. The reconciler passes none: the service name is attached
   * with `setNetworkAliases` when the deployment is promoted, so in-project clients never resolve
   * it to a container that has not passed the readiness gate.
   */
  aliases: string[];
  env: Record<string, string>;
  ports: PortMapping[];
  resources?: Resources;
  /** Most processes the container may run (Docker PidsLimit); the runtime's default when absent. */
  pids_limit?: number;
  /** Named volumes: `volume` is the Docker volume name. */
  volumes: { volume: string; mount_path: string }[];
  labels: Record<string, string>;
  /** Command override (argv, run by Docker with no shell on the host): the deployment's start command. */
  cmd?: string[];
  /** Entrypoint override (argv, no shell on the host). */
  entrypoint?: string[];
  /** Seconds Docker waits after the stop signal before SIGKILL (`docker stop`, daemon shutdown). */
  stop_timeout?: number;
  /** What Docker does when the container exits; absent is `always` (unless-stopped). */
  restart_policy?: RestartPolicy;
  /** Restarts an `on-failure` container gets. */
  restart_max_retries?: number;
}

export type ContainerState = "running" | "exited" | "restarting" | "created" | "paused" | "dead" | "removing";

/** A managed container as Docker lists it, ids parsed from its labels. */
export interface RunningContainer {
  docker_id: string;
  name: string;
  project_id: string;
  service_id: string;
  deployment_id: string;
  replica_index: number;
  state: ContainerState | string;
  labels: Record<string, string>;
  /** IP address on each attached network, by network name (when Docker reports one). */
  ip_addresses?: Record<string, string>;
}

export interface ContainerInspection {
  state: ContainerState | string;
  restart_count: number;
  /** When exited or dead; also when restarting (the code the last run exited with), if the runtime knows it. */
  exit_code?: number;
  started_at?: string;
  finished_at?: string;
  labels: Record<string, string>;
  /** IP address on each attached network, by network name. */
  ip_addresses?: Record<string, string>;
  /** DNS aliases of its endpoint on each attached network, by network name. */
  aliases?: Record<string, string[]>;
}

/**
 * What a container was created with, as far as the reconciler compares it with its deployment
 * (catalogue C04, D11): a container it has no record of is adopted only when these match.
 */
export interface ContainerConfig {
  /** The image reference it was created from. */
  image: string;
  /** Its environment (KEY → value; a later duplicate wins, as in Docker). */
  env: Record<string, string>;
  /** The environment its image sets: entries that equal these came from the image, not the creator. */
  image_env: Record<string, string>;
  /** Names of the networks it is attached to. */
  networks: string[];
}

export interface Volume {
  name: string;
  labels: Record<string, string>;
}

/**
 * ContainerRuntime is the reconciler's view of Docker. Every list throws EUNAVAILABLE when Docker
 * cannot answer: an unknown state is never reported as an empty one. Removal refuses objects without
 * this instance's labels.
 */
export interface ContainerRuntime {
  /** Managed containers of this instance, running or not. */
  listContainers(): Promise<RunningContainer[]>;
  /** Uses a local image when present, pulls otherwise. Throws EUNAVAILABLE/EINVALID with a clear reason. */
  ensureImage(ref: string): Promise<void>;
  /** Creates and starts; removes the container again if start fails. Returns the Docker id. */
  runContainer(spec: ContainerSpec): Promise<string>;
  /**
   * Stops (the stop signal, then SIGKILL after `graceSeconds`, default 10) and removes. Resolves only
   * once Docker has removed the container; no error when already gone. `stopped`, when given, runs
   * between the two (the container's last output, shutdown included, is still readable then); its
   * failure does not keep the container.
   */
  removeContainer(dockerID: string, graceSeconds?: number, stopped?: () => Promise<void>): Promise<void>;
  /**
   * `docker restart`: the same container is stopped (stop signal, SIGKILL after `graceSeconds`) and
   * started again, so a volume is never mounted twice. Throws ENOTFOUND when it is gone.
   */
  restartContainer(dockerID: string, graceSeconds?: number): Promise<void>;
  /** Throws ENOTFOUND when the container is gone. */
  inspectContainer(dockerID: string): Promise<ContainerInspection>;
  /** Image, env and networks (two Docker calls: the container's and its image's). Throws ENOTFOUND when the container is gone. */
  inspectConfig(dockerID: string): Promise<ContainerConfig>;
  /**
   * Gives the container's endpoint on `network` exactly these DNS aliases: Docker cannot change the
   * aliases of an endpoint, so it is disconnected and connected again (its address usually stays).
   * Refuses containers of another instance; throws ENOTFOUND when the container is gone.
   */
  setNetworkAliases(dockerID: string, network: string, aliases: string[]): Promise<void>;
  /** Last `lines` lines of stdout+stderr, demultiplexed. */
  logTail(dockerID: string, lines: number): Promise<string>;
  /** Managed volumes of this instance. */
  listVolumes(): Promise<Volume[]>;
  ensureVolume(name: string, labels: Record<string, string>): Promise<void>;
  /** No error when already gone. */
  removeVolume(name: string): Promise<void>;
  /** Cheap reachability check. */
  ping(): Promise<void>;
}

/** Name of the container for one replica of a deployment. */
export function containerName(projectSlug: string, serviceName: string, replica: number, deploymentID: string): string {
  return `dk-${projectSlug}-${serviceName}-${replica}-${deploymentID.slice(0, 8)}`;
}

/**
 * Name of the Docker volume for a service's named volume. It carries the service's id, not its name:
 * names joined with "-" collide (`db-data` + `x` and `db` + `data-x`), ids are unique. Volumes made
 * under the older name scheme are still found by their labels.
 */
export function volumeName(projectSlug: string, serviceID: string, name: string): string {
  return `dk-${projectSlug}-${serviceID}-${name}`;
}

/** Labels carried by every object of an instance. */
export function instanceLabels(instanceID: string): Record<string, string> {
  return { [LABEL_MANAGED_BY]: LABEL_MANAGED_BY_VALUE, [LABEL_INSTANCE]: instanceID };
}

/** True when labels say the object belongs to this instance. */
export function ownedBy(labels: Record<string, string> | undefined, instanceID: string): boolean {
  return labels?.[LABEL_MANAGED_BY] === LABEL_MANAGED_BY_VALUE && labels?.[LABEL_INSTANCE] === instanceID;
}

/** Where a published TCP port forwards: the serving containers' addresses on their project network. */
export interface PortRoute {
  host_port: number;
  targets: { host: string; port: number }[];
}

export interface ForwardedPort {
  host_port: number;
  service_id: string;
  targets: number;
  listening: boolean;
  error?: string;
}

/**
 * PortForwarder publishes services' TCP host ports. Containers never bind host ports themselves: the
 * daemon listens and forwards to whichever containers serve now, so a redeploy switches over without
 * a refused connection and replicas share one public port.
 */
export interface PortForwarder {
  /** Replaces a service's routes; [] withdraws them. A port claimed by another service stays with it. */
  setServiceRoutes(serviceID: string, routes: PortRoute[]): void;
  status(): ForwardedPort[];
}
