import type Dockerode from "dockerode";
import * as deploykit from "../index.ts";

/** Deadline (socket idle time) for ordinary API calls, so a hung dockerd cannot hang callers. */
export const API_TIMEOUT_MS = 10_000;
/** Calls that legitimately wait: stop (10 s grace), disk usage, image pulls between progress messages. */
export const SLOW_TIMEOUT_MS = 60_000;
export const STOP_GRACE_SECONDS = 10;

/** What every part of the adapter shares: the daemon connections and whose objects it may touch. */
export interface Conn {
  /** Ordinary calls (API_TIMEOUT_MS). */
  api: Dockerode;
  /** Calls that may take long (SLOW_TIMEOUT_MS). */
  slow: Dockerode;
  /** Log streams: no timeout, a follow can be silent for hours. */
  stream: Dockerode;
  instanceID: string;
  logger: deploykit.Logger;
}

/** Docker list filter for this instance's objects (label filters are ANDed by the daemon). */
export function ownedFilter(instanceID: string): { label: string[] } {
  return { label: Object.entries(deploykit.instanceLabels(instanceID)).map(([k, v]) => `${k}=${v}`) };
}

/** Docker object names: what the daemon itself accepts, checked before anything is sent. */
export const DOCKER_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

export function validateName(kind: string, name: string): void {
  if (typeof name !== "string" || !DOCKER_NAME_PATTERN.test(name)) {
    throw deploykit.errorf(deploykit.EINVALID, `Invalid ${kind} name "${String(name)}".`);
  }
}

/** Docker's predefined networks: joining "host" would share the host's network stack. */
const RESERVED_NETWORKS = new Set(["host", "none", "bridge", "default"]);

/** A project network name: a valid Docker name that is not one of Docker's predefined networks. */
export function validateNetworkName(name: string): void {
  validateName("network", name);
  if (RESERVED_NETWORKS.has(name.toLowerCase())) throw deploykit.errorf(deploykit.EINVALID, `Network name "${name}" is reserved.`);
}
