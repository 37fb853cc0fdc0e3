import { Worker } from "node:worker_threads";
import * as deploykit from "../index.ts";
import type { Conn } from "./conn.ts";
import { historyBatches } from "./log-history.ts";

/** Searches running at once across the daemon; more wait for none, they are refused (ERATELIMIT). */
export const MAX_CONCURRENT_SEARCHES = 4;

/** The search stopped early: out of time, or the matcher was stopped. */
class Stopped extends Error {}

/** Which lines of a batch match: in-thread for text, on a worker (stoppable) for a regex. */
interface Matcher {
  match(texts: string[], deadline: number): Promise<number[]>;
  close(): void;
}

function textMatcher(q: string | undefined): Matcher {
  const test = deploykit.textMatcher(q);
  return {
    match: async (texts) => {
      const hits: number[] = [];
      for (let i = 0; i < texts.length; i++) if (!test || test(texts[i] as string)) hits.push(i);
      return hits;
    },
    close() {},
  };
}

function regexMatcher(pattern: string): Matcher {
  // From source the worker is a .ts file (Node strips the types); built, it is the compiled .js.
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const worker = new Worker(new URL(`./log-match-worker${ext}`, import.meta.url), { workerData: { pattern } });
  const pending = new Map<number, { resolve: (hits: number[]) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  let next = 0;
  let dead = false;
  const stop = () => {
    if (dead) return;
    dead = true;
    void worker.terminate();
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Stopped());
    }
    pending.clear();
  };
  worker.on("message", (m: { id: number; hits: number[] }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    clearTimeout(p.timer);
    p.resolve(m.hits);
  });
  worker.on("error", stop);
  worker.on("exit", stop);
  return {
    match: (texts, deadline) =>
      new Promise<number[]>((resolve, reject) => {
        if (dead) return reject(new Stopped());
        const id = next++;
        // A match still running at the deadline is a runaway backtrack: the worker goes, and with it the match.
        const timer = setTimeout(stop, Math.max(0, deadline - Date.now()));
        pending.set(id, { resolve, reject, timer });
        worker.postMessage({ id, texts });
      }),
    close: stop,
  };
}

/** The newest `limit` items pushed, in push order. */
class Newest<T> {
  readonly items: T[] = [];
  private readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }
  push(x: T): void {
    this.items.push(x);
    if (this.items.length > this.limit * 2) this.items.splice(0, this.items.length - this.limit);
  }
  take(): T[] {
    return this.items.slice(-this.limit);
  }
}

/** Searches containers' json-file logs with bounded work (see deploykit.LogStreamer.search). */
export class LogSearcher {
  private running = 0;
  private readonly conn: Conn;
  private readonly budgetMs: number;

  constructor(conn: Conn, budgetMs = deploykit.LOG_SEARCH_BUDGET_MS) {
    this.conn = conn;
    this.budgetMs = budgetMs;
  }

  async search(targets: deploykit.LogTarget[], query: deploykit.LogQuery): Promise<deploykit.LogSearchResult> {
    if (this.running >= MAX_CONCURRENT_SEARCHES)
      throw new deploykit.DeployKitError(deploykit.ERATELIMIT, "Too many log searches running; try again in a moment.", {
        retryAfterSeconds: 1,
      });
    this.running++;
    const matcher = query.regex && query.q ? regexMatcher(query.q) : textMatcher(query.q);
    try {
      return await this.run(targets, query, matcher);
    } finally {
      matcher.close();
      this.running--;
    }
  }

  private async run(targets: deploykit.LogTarget[], query: deploykit.LogQuery, matcher: Matcher): Promise<deploykit.LogSearchResult> {
    const deadline = Date.now() + this.budgetMs;
    const chosen = targets.filter((t) => query.replica === undefined || t.replica === query.replica);
    const cap = Math.ceil(deploykit.LOG_SEARCH_SCAN_MAX / Math.max(1, chosen.length));
    let scanned = 0;
    let truncated = false;
    const opts: deploykit.LogHistoryOptions = {};
    if (query.since !== undefined) opts.since = query.since;
    if (query.until !== undefined) opts.until = query.until;
    if (query.stream !== undefined) opts.stream = query.stream;
    // Without a window the newest lines are what is wanted: Docker's tail picks them. With one, the
    // window is read from its start (Docker applies a tail before since/until, so none is asked for)
    // and the cap may stop it before its end (truncated).
    if (query.since === undefined && query.until === undefined) opts.tail = cap;
    const perTarget = await Promise.allSettled(
      chosen.map(async (t) => {
        const mine = new Newest<deploykit.LogLine>(query.limit);
        let n = 0;
        try {
          for await (const batch of historyBatches(this.conn, t.docker_container_id, opts, t.replica)) {
            const lines = batch.filter((l) => deploykit.inWindow(l.ts, query.since, query.until)).slice(0, cap - n);
            n += lines.length;
            scanned += lines.length;
            for (const i of await matcher.match(
              lines.map((l) => l.line),
              deadline,
            ))
              mine.push(lines[i] as deploykit.LogLine);
            if (n >= cap || Date.now() >= deadline) {
              truncated = true;
              break;
            }
          }
        } catch (err) {
          if (err instanceof Stopped) truncated = true;
          else if (deploykit.errorCode(err) !== deploykit.ENOTFOUND) throw err;
        }
        return mine.take();
      }),
    );
    const found: deploykit.LogLine[] = [];
    for (const r of perTarget) {
      if (r.status === "rejected") throw r.reason;
      found.push(...r.value);
    }
    const lines = found.sort(deploykit.compareLogLines).slice(-query.limit);
    return { lines, scanned, truncated };
  }
}
