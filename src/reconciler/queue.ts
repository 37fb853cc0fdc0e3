/**
 * A keyed FIFO work queue in the style of client-go's workqueue: a key is queued at most once, a
 * key being processed is never handed to a second worker (re-adds while it is processed are kept
 * and re-queued by `done`), with delayed and rate-limited adds.
 */

export const DEFAULT_BACKOFF_BASE_MS = 1_000;
export const DEFAULT_BACKOFF_MAX_MS = 30_000;

export interface WorkQueueOptions {
  /** First retry delay of `addRateLimited`; doubles per consecutive failure. */
  backoffBaseMs?: number;
  /** Cap of the rate-limited delay. */
  backoffMaxMs?: number;
}

export class WorkQueue<K> {
  readonly #queue: K[] = [];
  /** Keys waiting to be processed (queued, or re-added while processing). */
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  readonly #failures = new Map<K, number>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #waiters: (() => void)[] = [];
  #shuttingDown = false;
  readonly #baseMs: number;
  readonly #maxMs: number;

  constructor(opts: WorkQueueOptions = {}) {
    this.#baseMs = opts.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
    this.#maxMs = opts.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
  }

  /** Keys queued and not yet handed out. */
  get length(): number {
    return this.#queue.length;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Queues `key` unless it is already queued; a key being processed is queued again by `done`. */
  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#queue.push(key);
    this.#wakeOne();
  }

  /** Adds `key` after `delayMs`; cancelled by shutdown. */
  addAfter(key: K, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.#timers.add(timer);
  }

  /** Adds `key` after base × 2^(failures−1), capped; each call counts one more failure until `forget`. */
  addRateLimited(key: K): void {
    this.addAfter(key, this.backoff(key));
  }

  /** The delay `addRateLimited` would use now, counting one more failure. */
  backoff(key: K): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    return Math.min(this.#maxMs, this.#baseMs * 2 ** Math.min(failures - 1, 30));
  }

  /** Consecutive failures recorded for `key`. */
  failures(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Clears the failure counter of `key`. */
  forget(key: K): void {
    this.#failures.delete(key);
  }

  /**
   * Waits for a key and marks it processing; the caller must call `done(key)`. Resolves undefined
   * once the queue is shut down.
   */
  async get(): Promise<K | undefined> {
    while (this.#queue.length === 0 && !this.#shuttingDown) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    if (this.#shuttingDown) return undefined;
    const key = this.#queue.shift() as K;
    this.#dirty.delete(key);
    this.#processing.add(key);
    return key;
  }

  /** Ends processing of `key`; queues it again when it was re-added meanwhile. */
  done(key: K): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shuttingDown) {
      this.#queue.push(key);
      this.#wakeOne();
    }
  }

  /** Wakes every waiting `get` (which resolves undefined) and cancels delayed adds. */
  shutdown(): void {
    this.#shuttingDown = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #wakeOne(): void {
    const w = this.#waiters.shift();
    if (w) w();
  }
}
