import { DeployKitError, ERATELIMIT } from "../index.ts";

export interface RateLimiterOptions {
  /** Hits allowed inside the window. */
  max: number;
  windowMs: number;
  now: () => number;
  message: string;
  /** Keys remembered at most; the oldest are forgotten first (bounds memory under a spray of keys). */
  maxKeys?: number;
}

/**
 * In-memory sliding-window limiter. `check` refuses with ERATELIMIT (429 + Retry-After) once a key
 * has `max` hits inside the window; callers decide what counts as a hit (every attempt, or failures).
 */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();
  private readonly opts: Required<RateLimiterOptions>;

  constructor(opts: RateLimiterOptions) {
    this.opts = { maxKeys: 50_000, ...opts };
  }

  /** Throws ERATELIMIT when the key is over its budget. */
  check(key: string): void {
    const now = this.opts.now();
    const list = this.live(key, now);
    if (list && list.length >= this.opts.max) {
      const oldest = list[0] as number;
      const retry = Math.max(1, Math.ceil((oldest + this.opts.windowMs - now) / 1000));
      throw new DeployKitError(ERATELIMIT, this.opts.message, { retryAfterSeconds: retry });
    }
  }

  hit(key: string): void {
    const now = this.opts.now();
    const list = this.live(key, now) ?? [];
    list.push(now);
    if (list.length > this.opts.max) list.shift();
    this.hits.delete(key);
    this.hits.set(key, list);
    if (this.hits.size > this.opts.maxKeys) this.evict(now);
  }

  /** check, then count this attempt. */
  take(key: string): void {
    this.check(key);
    this.hit(key);
  }

  reset(key: string): void {
    this.hits.delete(key);
  }

  get size(): number {
    return this.hits.size;
  }

  private live(key: string, now: number): number[] | undefined {
    const list = this.hits.get(key);
    if (!list) return undefined;
    const cutoff = now - this.opts.windowMs;
    while (list.length > 0 && (list[0] as number) <= cutoff) list.shift();
    if (list.length === 0) {
      this.hits.delete(key);
      return undefined;
    }
    return list;
  }

  private evict(now: number): void {
    for (const key of [...this.hits.keys()]) this.live(key, now);
    // Still too many live keys: forget the least recently hit ones.
    for (const key of this.hits.keys()) {
      if (this.hits.size <= this.opts.maxKeys) break;
      this.hits.delete(key);
    }
  }
}
