import Dockerode from "dockerode";
import * as deploykit from "../index.ts";
import { API_TIMEOUT_MS, type Conn, SLOW_TIMEOUT_MS } from "./conn.ts";
import { ContainerRuntime } from "./container.ts";
import { ContainerExec } from "./exec.ts";
import { Introspector } from "./introspect.ts";
import { LogStreamer } from "./logs.ts";
import { Provisioner } from "./network.ts";
import { StatsReader } from "./stats.ts";

export interface ClientOptions {
  /** Labels every object; nothing without it is listed or removed. */
  instanceID: string;
  /** Defaults to the unix path of DOCKER_HOST, else /var/run/docker.sock. */
  socketPath?: string;
  logger?: deploykit.Logger;
  /** Overrides API_TIMEOUT_MS (tests of a hung daemon). */
  apiTimeoutMs?: number;
}

/**
 * Client is DeployKit's Docker adapter. Constructing it does not connect: every call reaches the
 * daemon on its own and fails with EUNAVAILABLE "Docker is unreachable: …" when it cannot.
 */
export class Client {
  readonly provisioner: Provisioner;
  readonly runtime: ContainerRuntime;
  readonly exec: ContainerExec;
  readonly logs: LogStreamer;
  readonly introspector: Introspector;
  readonly stats: StatsReader;
  readonly socketPath: string;

  constructor(opts: ClientOptions) {
    if (!opts.instanceID) throw deploykit.errorf(deploykit.EINVALID, "Docker client needs an instance id.");
    this.socketPath = opts.socketPath ?? defaultSocketPath();
    const conn: Conn = {
      api: new Dockerode({ socketPath: this.socketPath, timeout: opts.apiTimeoutMs ?? API_TIMEOUT_MS }),
      slow: new Dockerode({ socketPath: this.socketPath, timeout: SLOW_TIMEOUT_MS }),
      stream: new Dockerode({ socketPath: this.socketPath }),
      instanceID: opts.instanceID,
      logger: (opts.logger ?? deploykit.nopLogger).child({ component: "docker" }),
    };
    this.provisioner = new Provisioner(conn);
    this.runtime = new ContainerRuntime(conn);
    this.exec = new ContainerExec(conn);
    this.logs = new LogStreamer(conn);
    this.introspector = new Introspector(conn);
    this.stats = new StatsReader(conn);
  }
}

export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  if (host?.startsWith("unix://")) return host.slice("unix://".length);
  return "/var/run/docker.sock";
}
