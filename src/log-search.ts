import { FieldErrorCollector } from "./errors.ts";
import { type LogLine, type LogQuery, parseLogTime } from "./logs.ts";

/** Matches returned by a search when `limit` is not given, and the most it may ask for. */
export const LOG_SEARCH_LIMIT_DEFAULT = 500;
export const LOG_SEARCH_LIMIT_MAX = 5000;
/** Lines a download may hold: a file is read once, not scrolled. */
export const LOG_DOWNLOAD_LIMIT_MAX = 50_000;
/** Lines read from Docker per search across all replicas, matching or not. */
export const LOG_SEARCH_SCAN_MAX = 200_000;
/** Wall-clock budget of one search; what was found by then is returned, marked truncated. */
export const LOG_SEARCH_BUDGET_MS = 5000;
/** Longest search text or pattern: a long pattern is where a catastrophic regex hides. */
export const LOG_PATTERN_MAX = 256;
/** Lines and characters kept with a deployment when the reconciler removes its containers. */
export const KEPT_LOG_LINES = 500;
export const KEPT_LOG_MAX_CHARS = 256 * 1024;

/** The query string of the search and download routes, as sent. */
export interface LogQueryInput {
  q?: string;
  regex?: string;
  stream?: string;
  replica?: string;
  since?: string;
  until?: string;
  limit?: string;
}

/**
 * Validates the search and download query. `maxLimit` is the route's ceiling (a download may hold
 * more than a page of results). Throws EINVALID with the offending fields: q (too long, or a pattern
 * that does not compile), regex, stream, replica, since, until (also when before since), limit.
 */
export function parseLogQuery(input: LogQueryInput, now: Date, maxLimit = LOG_SEARCH_LIMIT_MAX): LogQuery {
  const v = new FieldErrorCollector();
  const out: LogQuery = { regex: false, limit: Math.min(LOG_SEARCH_LIMIT_DEFAULT, maxLimit) };
  if (input.regex !== undefined && input.regex !== "") {
    if (input.regex === "true" || input.regex === "1") out.regex = true;
    else if (input.regex !== "false" && input.regex !== "0") v.add("regex", "Regex must be true or false.");
  }
  if (input.q !== undefined && input.q !== "") {
    if (input.q.length > LOG_PATTERN_MAX) v.add("q", `Search text must be at most ${LOG_PATTERN_MAX} characters.`);
    else if (out.regex) {
      try {
        new RegExp(input.q);
        out.q = input.q;
      } catch (err) {
        v.add("q", `${(err as Error).message}.`);
      }
    } else out.q = input.q;
  }
  if (input.stream !== undefined && input.stream !== "") {
    if (input.stream === "stdout" || input.stream === "stderr") out.stream = input.stream;
    else v.add("stream", "Stream must be stdout or stderr.");
  }
  if (input.replica !== undefined && input.replica !== "") {
    if (/^\d{1,3}$/.test(input.replica)) out.replica = Number(input.replica);
    else v.add("replica", "Replica must be a replica number (0, 1, …).");
  }
  for (const f of ["since", "until"] as const) {
    const raw = input[f];
    if (raw === undefined || raw === "") continue;
    const t = raw.length <= 64 ? parseLogTime(raw, now) : null;
    if (t === null) v.add(f, `${f === "since" ? "Since" : "Until"} must be a duration (90s, 10m, 2h, 1d) or an RFC 3339 time.`);
    else out[f] = t;
  }
  if (out.since !== undefined && out.until !== undefined && out.until < out.since) v.add("until", "Until must not be before since.");
  if (input.limit !== undefined && input.limit !== "") {
    const n = /^\d{1,9}$/.test(input.limit) ? Number(input.limit) : 0;
    if (n < 1 || n > maxLimit) v.add("limit", `Limit must be between 1 and ${maxLimit}.`);
    else out.limit = n;
  }
  v.throwIfAny();
  return out;
}

/**
 * The text test of a query, for plain text only (a regex runs where it can be stopped: see the
 * Docker log searcher). Null when every line matches.
 */
export function textMatcher(q: string | undefined): ((line: string) => boolean) | null {
  if (q === undefined || q === "") return null;
  const needle = q.toLowerCase();
  return (line) => line.toLowerCase().includes(needle);
}

/** Whether the line's Docker timestamp lies inside [since, until]; a line without one is kept. */
export function inWindow(ts: string | undefined, since?: number, until?: number): boolean {
  if (ts === undefined || (since === undefined && until === undefined)) return true;
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return true;
  return (since === undefined || t >= since) && (until === undefined || t <= until);
}

/** Orders lines by Docker timestamp (RFC 3339 with nanoseconds sorts as text); untimed lines keep their place. */
export function compareLogLines(a: LogLine, b: LogLine): number {
  if (a.ts === undefined || b.ts === undefined || a.ts === b.ts) return 0;
  return a.ts < b.ts ? -1 : 1;
}

/**
 * The lines kept with a deployment at teardown: `existing` (earlier replicas) and `incoming` merged
 * in time order, then the newest KEPT_LOG_LINES whose text fits in KEPT_LOG_MAX_CHARS.
 */
export function keepLogLines(existing: readonly LogLine[], incoming: readonly LogLine[]): LogLine[] {
  const all = [...existing, ...incoming].sort(compareLogLines).slice(-KEPT_LOG_LINES);
  let chars = 0;
  let from = all.length;
  while (from > 0) {
    const n = (all[from - 1] as LogLine).line.length;
    if (chars + n > KEPT_LOG_MAX_CHARS) break;
    chars += n;
    from--;
  }
  return all.slice(from);
}

/** One line of a downloaded log file: time, replica, stream, text (tab-separated, so `cut` works). */
export function formatLogLine(l: LogLine): string {
  return `${l.ts ?? "-"}\t${l.replica ?? "-"}\t${l.stream}\t${l.line}`;
}

/** A download's file name: `<service>-logs-<utc time>.log`, safe in a Content-Disposition header. */
export function logFileName(serviceName: string, now: Date): string {
  const safe = serviceName.replace(/[^a-zA-Z0-9_.-]/g, "_").slice(0, 64) || "service";
  return `${safe}-logs-${now.toISOString().replace(/[:.]/g, "-")}.log`;
}
