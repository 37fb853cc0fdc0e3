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

  /**
   * check, then count this attempt — synchronously, so concurrent requests cannot all pass the check
   * before any of them is counted. Call before the first await.
   */
  take(key: string): void {
    this.check(key);
    this.hit(key);
  }

  /** Returns the most recent hit of `take` (the attempt turned out not to count, e.g. it succeeded). */
  giveBack(key: string): void {
    const list = this.hits.get(key);
    if (!list) return;
    list.pop();
    if (list.length === 0) this.hits.delete(key);
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

export interface LoginAttempt {
  /** The password was right: the attempt is given back and the pair's failures are forgotten. */
  succeeded(): void;
  /** The attempt never reached a password check (bad input, server error): given back. */
  void(): void;
}

/**
 * Password guesses, limited three ways (15-minute windows): per email *and* client address (5), so
 * someone elsewhere cannot lock a user out; per address (20), against sprays over many emails; and a
 * higher per-email ceiling (50), against one account guessed at from many addresses.
 * Each attempt is counted before the password is checked (`take`), so a burst of concurrent requests
 * cannot run more checks than the budget allows.
 */
export class LoginLimiter {
  static readonly PAIR_MAX = 5;
  static readonly IP_MAX = 20;
  static readonly EMAIL_MAX = 50;
  readonly byPair: RateLimiter;
  readonly byIP: RateLimiter;
  readonly byEmail: RateLimiter;

  constructor(now: () => number) {
    const opts = { windowMs: 15 * 60_000, now, message: "Too many login attempts. Try again later." };
    this.byPair = new RateLimiter({ ...opts, max: LoginLimiter.PAIR_MAX });
    this.byIP = new RateLimiter({ ...opts, max: LoginLimiter.IP_MAX });
    this.byEmail = new RateLimiter({ ...opts, max: LoginLimiter.EMAIL_MAX });
  }

  /** Throws ERATELIMIT, else counts the attempt in all three limits. Synchronous: call before any await. */
  take(email: string, ip: string): LoginAttempt {
    const pair = `${email}\n${ip}`;
    this.byPair.check(pair);
    this.byIP.check(ip);
    this.byEmail.check(email);
    this.byPair.hit(pair);
    this.byIP.hit(ip);
    this.byEmail.hit(email);
    const giveBack = () => {
      this.byPair.giveBack(pair);
      this.byIP.giveBack(ip);
      this.byEmail.giveBack(email);
    };
    return {
      succeeded: () => {
        giveBack();
        this.byPair.reset(pair);
      },
      void: giveBack,
    };
  }

  /** Runs `check` as one counted attempt: a thrown EUNAUTHORIZED (or `failure`) keeps it counted. */
  async guard<T>(email: string, ip: string, check: () => Promise<T>, failure: (err: unknown) => boolean): Promise<T> {
    const attempt = this.take(email, ip);
    try {
      const result = await check();
      attempt.succeeded();
      return result;
    } catch (err) {
      if (!failure(err)) attempt.void();
      throw err;
    }
  }
}
