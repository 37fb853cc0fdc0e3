import { FieldErrorCollector } from "./errors.ts";

export type LogStream = "stdout" | "stderr";

/** One line of container output; the Docker timestamp is stripped. */
export interface LogLine {
  /** First 12 characters of the Docker container id. */
  container_id: string;
  stream: LogStream;
  line: string;
  /** RFC 3339 timestamp from Docker, when known. */
  ts?: string;
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

const SINCE_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The `?since=` of the logs route (`deploykit logs --since`): a duration back from `now` ("90s", "10m",
 * "2h", "1d") or an RFC 3339 time. Returns epoch milliseconds, null when absent. Throws EINVALID (since).
 */
export function parseLogSince(raw: string | undefined, now: Date): number | null {
  if (raw === undefined || raw === "") return null;
  const m = /^(\d{1,9})([smhd])$/.exec(raw);
  if (m) return now.getTime() - Number(m[1]) * (SINCE_UNITS[m[2] as string] as number);
  const t = /^\d{4}-\d{2}-\d{2}T/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(t)) {
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
}
