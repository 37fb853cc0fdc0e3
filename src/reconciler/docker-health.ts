import * as deploykit from "../index.ts";
import { describe } from "./pass.ts";

/** After Docker comes back, failures are still blamed on the outage for this long. */
export const OUTAGE_GRACE_MS = 10_000;

/** What the System page shows about the reconciler. */
export interface ReconcilerStatus {
  docker_reachable: boolean;
  /** The last error a pass met; cleared when Docker becomes reachable again. */
  last_error?: string;
  /** RFC 3339 time of the last finished pass. */
  last_pass_at?: string;
}

/**
 * What the reconciler knows of Docker: whether it answers (an EUNAVAILABLE error says it does not,
 * any answer says it does), since when, the last error a pass met and when a pass last finished.
 */
export class DockerHealth {
  readonly #log: deploykit.Logger;
  readonly #now: () => number;
  readonly #onRecovered: () => void;
  #reachable = true;
  /** When Docker last became reachable again after an outage. */
  #recoveredAt?: number;
  #lastError?: string;
  #lastPassAt?: string;

  /** `onRecovered` runs when Docker answers again after an outage (the reconciler resyncs). */
  constructor(log: deploykit.Logger, now: () => number, onRecovered: () => void) {
    this.#log = log;
    this.#now = now;
    this.#onRecovered = onRecovered;
  }

  /** Docker is down, or came back too recently for a failure to be the service's own. */
  get unsettled(): boolean {
    return !this.#reachable || (this.#recoveredAt !== undefined && this.#now() - this.#recoveredAt < OUTAGE_GRACE_MS);
  }

  /** A Docker call answered (no error) or failed. */
  observe(err?: unknown): void {
    if (err === undefined) {
      if (!this.#reachable) {
        this.#reachable = true;
        this.#recoveredAt = this.#now();
        this.#lastError = undefined;
        this.#log.info("Docker is reachable again; resyncing");
        this.#onRecovered();
      }
      return;
    }
    this.#lastError = describe(err);
    if (deploykit.errorCode(err) === deploykit.EUNAVAILABLE) this.#markUnreachable(err);
  }

  /** A pass (or the sweep, `key`) failed and will be retried. */
  noteError(key: string, err: unknown): void {
    this.#lastError = describe(err);
    if (deploykit.errorCode(err) === deploykit.EUNAVAILABLE) {
      this.#markUnreachable(err);
      return;
    }
    this.#log.error({ key, err: describe(err) }, "reconcile pass failed; retrying with backoff");
  }

  passFinished(): void {
    this.#lastPassAt = new Date(this.#now()).toISOString();
  }

  status(): ReconcilerStatus {
    const s: ReconcilerStatus = { docker_reachable: this.#reachable };
    if (this.#lastError !== undefined) s.last_error = this.#lastError;
    if (this.#lastPassAt !== undefined) s.last_pass_at = this.#lastPassAt;
    return s;
  }

  /** Warns once per outage, not once per failed pass. */
  #markUnreachable(err: unknown): void {
    if (!this.#reachable) return;
    this.#reachable = false;
    this.#log.warn({ err: describe(err) }, "Docker is unreachable; reconciling with backoff until it is back");
  }
}
