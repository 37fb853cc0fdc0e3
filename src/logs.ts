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
