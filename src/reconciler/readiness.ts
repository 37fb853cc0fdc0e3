import * as deploykit from "../index.ts";
import type { HealthState } from "./healthcheck.ts";

/**
 * The names a container keeps on a network when it stops answering to the service's `names`: the
 * others it has (Docker adds the short container id by itself, so that one is left to Docker).
 */
export function aliasesWithout(have: readonly string[], names: readonly string[], dockerID: string): string[] {
  return have.filter((a) => !names.includes(a) && a !== dockerID.slice(0, 12));
}

/**
 * The names a serving container of `service` answers to on its project network: the service name
 * for clients in the project and, with the proxy, the id-based name its routes dial (so a
 * switch-over moves a name instead of loading a new proxy config).
 */
export function serviceAliases(service: { id: string; name: string }, proxy: boolean): string[] {
  return proxy ? [service.name, deploykit.proxyAlias(service.id)] : [service.name];
}

/** Bad observations of a replica, with no run of the stable window between them, that fail a starting deployment. */
export const BAD_OBSERVATIONS_TO_FAIL = 3;
/** Lines of container output kept on a failed deployment. */
export const FAILURE_LOG_LINES = 50;

/** What the gate remembers about one replica between passes (in memory only). */
export interface ReplicaObservation {
  docker_id: string;
  /** Restart count at the previous observation. */
  last_restart_count: number;
  /** Highest restart count seen: the promotion baseline. */
  max_restart_count: number;
  /** Bad observations since the last run that lasted the ledger's clearing window. */
  bad: number;
  /** Whether the latest observation was bad (a restart since the one before, or not running). */
  last_bad: boolean;
  /** Docker's StartedAt of the current run (ms), when running. */
  running_since?: number;
  /** Why the last bad observation was bad. */
  reason?: string;
  exit_code?: number;
  /** Set when a healthy deployment's replica crash-looped; cleared once it is ready again. */
  crash_looping: boolean;
  /** The inspection last counted. */
  inspection?: deploykit.ContainerInspection;
  /** The HTTP health check of this container, when its deployment has a path (healthcheck.ts). */
  health?: HealthState;
}

/**
 * The readiness ledger, keyed service → "deployment/replica". A replica is ready when it is running,
 * no restart is counted against it and it has been up for the stable window. Restarts count until a
 * run lasts `clearAfterMs` (the stable window): three of them fail a starting deployment.
 */
export class Ledger {
  readonly #byService = new Map<string, Map<string, ReplicaObservation>>();
  /** When a superseded container lost the service name (docker id → ms): it is stopped only after the service's drain_seconds. */
  readonly withdrawn = new Map<string, number>();
  /**
   * Containers of a serving deployment taken out of the service name for the Restart action (docker
   * id → ms): restarted after the service's drain_seconds, named again once back through the readiness gate.
   */
  readonly restarting = new Map<string, number>();

  /**
   * How long a run must last before an observation of it counts as good and clears the bad count.
   * A younger run with an unchanged restart count says nothing either way: on a loaded engine Docker
   * may take seconds to notice that a crashing process exited, and an inspection in that gap shows
   * "running". Clearing on it let a crash loop hide behind every such gap (a CI run under four test
   * lanes never reached three bad observations in a row).
   */
  readonly #clearAfterMs: number;

  constructor(clearAfterMs = 10_000) {
    this.#clearAfterMs = clearAfterMs;
  }

  static key(deploymentID: string, replica: number): string {
    return `${deploymentID}/${replica}`;
  }

  forService(serviceID: string): Map<string, ReplicaObservation> {
    let m = this.#byService.get(serviceID);
    if (!m) {
      m = new Map();
      this.#byService.set(serviceID, m);
    }
    return m;
  }

  clear(serviceID: string): void {
    this.#byService.delete(serviceID);
  }

  /**
   * Records one inspection. The first observation of a replica starts from the deployment's stored
   * baseline when it is already healthy, so restarts that happened while the reconciler was down
   * count, but the ones before promotion do not.
   */
  observe(
    serviceID: string,
    dep: Pick<deploykit.Deployment, "id" | "status" | "baseline_restart_count">,
    replica: number,
    dockerID: string,
    insp: deploykit.ContainerInspection,
    now: number,
  ): ReplicaObservation {
    const entries = this.forService(serviceID);
    const key = Ledger.key(dep.id, replica);
    let o = entries.get(key);
    if (!o || o.docker_id !== dockerID) {
      const start = dep.status === "healthy" ? dep.baseline_restart_count : insp.restart_count;
      o = {
        docker_id: dockerID,
        last_restart_count: start,
        max_restart_count: Math.max(dep.baseline_restart_count, insp.restart_count),
        bad: 0,
        last_bad: false,
        crash_looping: false,
      };
      entries.set(key, o);
    }
    // A cached inspection (shared within a resync) seen again is not a new observation.
    if (o.inspection === insp) return o;
    o.inspection = insp;
    const exited = insp.state === "exited" || insp.state === "dead";
    // "restarting" is Docker waiting out its restart delay after a crash: as bad as a higher count,
    // and what a crash loop mostly looks like once that delay has grown past the observation interval.
    const restarted = insp.restart_count > o.last_restart_count || insp.state === "restarting";
    o.last_bad = exited || restarted;
    if (exited || restarted) {
      o.bad++;
      if (exited) {
        o.exit_code = insp.exit_code;
        o.reason = insp.exit_code !== undefined ? `container exited with code ${insp.exit_code}` : "container exited";
      } else {
        o.exit_code = insp.exit_code;
        o.reason =
          insp.state === "restarting" && insp.exit_code !== undefined
            ? `container exited with code ${insp.exit_code}`
            : `container is restarting (restart count ${insp.restart_count})`;
      }
    }
    o.last_restart_count = insp.restart_count;
    o.max_restart_count = Math.max(o.max_restart_count, insp.restart_count);
    const started = insp.started_at ? Date.parse(insp.started_at) : Number.NaN;
    o.running_since = insp.state === "running" ? (Number.isFinite(started) ? started : (o.running_since ?? now)) : undefined;
    if (!o.last_bad && o.running_since !== undefined && now - o.running_since >= this.#clearAfterMs) o.bad = 0;
    return o;
  }

  /** Running, last observation good, and up for at least `windowMs`. */
  static ready(o: ReplicaObservation, now: number, windowMs: number): boolean {
    return o.bad === 0 && o.running_since !== undefined && now - o.running_since >= windowMs;
  }

  /** Drops entries whose deployment/replica is not in `keep`. */
  retain(serviceID: string, keep: Set<string>): void {
    const entries = this.#byService.get(serviceID);
    if (!entries) return;
    for (const k of entries.keys()) if (!keep.has(k)) entries.delete(k);
    if (entries.size === 0) this.#byService.delete(serviceID);
  }
}
