import * as deploykit from "../index.ts";

/**
 * Bounds the requests waiting on Docker (catalogue D04). Every Docker call has a deadline (10 s,
 * src/docker), but a hung dockerd holds each caller that long; without a bound, a page polling
 * /api/system/status from many tabs piles up requests and their sockets. Beyond `limit` requests in
 * flight the next one is refused at once: EUNAVAILABLE with Retry-After (503).
 */
export class DockerGate {
  readonly limit: number;
  readonly retryAfterSeconds: number;
  #inFlight = 0;

  constructor(limit: number, retryAfterSeconds = 5) {
    this.limit = limit;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#inFlight >= this.limit)
      throw new deploykit.DeployKitError(
        deploykit.EUNAVAILABLE,
        `Docker is not answering: ${this.limit} requests are already waiting for it. Try again shortly.`,
        { retryAfterSeconds: this.retryAfterSeconds },
      );
    this.#inFlight++;
    try {
      return await fn();
    } finally {
      this.#inFlight--;
    }
  }
}
