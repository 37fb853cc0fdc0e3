import { FieldErrorCollector } from "./errors.ts";

export type LogStream = "stdout" | "stderr";

/** One line of container output; the Docker timestamp is taken off the text into `ts`. */
export interface LogLine {
  /** First 12 characters of the Docker container id. */
  container_id: string;
  stream: LogStream;
  line: string;
  /** RFC 3339 timestamp from Docker (nanoseconds), when known. */
  ts?: string;
  /** Replica index of the container, when the reader knows it (searches, deployment logs). */
  replica?: number;
}

/** A read of a container's recent output without following. Times are epoch milliseconds. */
export interface LogHistoryOptions {
  since?: number;
  until?: number;
  /** Only this stream (Docker filters it). */
  stream?: LogStream;
  /** Only the newest `tail` lines (Docker applies it before since/until); absent: all. */
  tail?: number;
}

/**
 * A search of a service's recent container output (Docker's json-file logs). Every field narrows:
 * absent means "any". `since`/`until` are epoch milliseconds; `replica` is the replica index.
 */
export interface LogQuery {
  /** Text (case-insensitive substring) or, with `regex`, a JavaScript pattern. */
  q?: string;
  regex: boolean;
  stream?: LogStream;
  replica?: number;
  since?: number;
  until?: number;
  /** Most matches returned; the newest are kept when more match. */
  limit: number;
}

/** What a search found. `truncated` says the scan stopped early (line cap or time budget). */
export interface LogSearchResult {
  lines: LogLine[];
  /** Lines read from Docker (after its since/until and stream filters). */
  scanned: number;
  truncated: boolean;
}

/** A running container of the service, as the searcher needs it. */
export interface LogTarget {
  docker_container_id: string;
  replica: number;
}

const DURATION = /^(\d{1,9})([smhd])$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration back from `now` ("90s", "10m", "2h", "1d") or an RFC 3339 time, as epoch ms; null when not one. */
export function parseLogTime(raw: string, now: Date): number | null {
  const m = DURATION.exec(raw);
  if (m) return now.getTime() - Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  const t = /^\d{4}-\d{2}-\d{2}T/.test(raw) ? Date.parse(raw) : Number.NaN;
  return Number.isNaN(t) ? null : t;
}

export interface LogStreamOptions {
  /** Lines of history before following (capped at 5000). */
  tail: number;
}

export const LOG_TAIL_DEFAULT = 500;
export const LOG_TAIL_MAX = 5000;

/** The `?tail=` of the logs route: default 500, max 5000, bad or ≤ 0 → default. */
export function normalizeLogTail(raw: unknown): number {
  const n = typeof raw === "number" ? raw : Number.parseInt(String(raw ?? ""), 10);
  if (!Number.isFinite(n) || n <= 0) return LOG_TAIL_DEFAULT;
  return Math.min(Math.floor(n), LOG_TAIL_MAX);
}

/**
 * The `?since=` of the logs route (`deploykit logs --since`): a duration back from `now` ("90s", "10m",
 * "2h", "1d") or an RFC 3339 time. Returns epoch milliseconds, null when absent. Throws EINVALID (since).
 */
export function parseLogSince(raw: string | undefined, now: Date): number | null {
  if (raw === undefined || raw === "") return null;
  const t = parseLogTime(raw, now);
  if (t === null) {
    const v = new FieldErrorCollector();
    v.add("since", "Since must be a duration (90s, 10m, 2h, 1d) or an RFC 3339 time.");
    v.throwIfAny();
  }
  return t;
}

export interface LogSubscription {
  /** Stop receiving; the shared Docker stream closes when its last viewer leaves. */
  close(): void;
}

/**
 * LogStreamer follows container output. Viewers of one container share one Docker log stream; a
 * new viewer first receives up to `tail` lines of history.
 */
export interface LogStreamer {
  /**
   * `onLine` gets every line; `onEnd` is called once when the container's stream ends (container
   * exited or removed) or fails. Throws ENOTFOUND when the container does not exist, EUNAVAILABLE when
   * Docker is unreachable.
   */
  follow(
    dockerContainerID: string,
    opts: LogStreamOptions,
    onLine: (line: LogLine) => void,
    onEnd: (err?: Error) => void,
  ): Promise<LogSubscription>;
  /**
   * Reads a container's recent output without following (Docker's json-file log), oldest first.
   * `onLine` returning false stops the read. Throws ENOTFOUND when the container does not exist,
   * EUNAVAILABLE when Docker is unreachable.
   */
  history(dockerContainerID: string, opts: LogHistoryOptions, onLine: (line: LogLine) => boolean | undefined): Promise<void>;
  /**
   * Searches the recent output of `targets` (a service's containers) for `query`: matches in time
   * order, the newest `query.limit` of them, each with its replica. The work is bounded: at most
   * LOG_SEARCH_SCAN_MAX lines are read and a search stops after LOG_SEARCH_BUDGET_MS (a regex runs
   * where it can be stopped), returning what it found with `truncated`. Containers that vanished are
   * skipped. Throws EUNAVAILABLE when Docker is unreachable, ERATELIMIT when too many searches run.
   */
  search(targets: LogTarget[], query: LogQuery): Promise<LogSearchResult>;
}
