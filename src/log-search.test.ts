import { describe, expect, it } from "vitest";
import { EINVALID } from "./errors.ts";
import {
  compareLogLines,
  formatLogLine,
  inWindow,
  KEPT_LOG_LINES,
  KEPT_LOG_MAX_CHARS,
  keepLogLines,
  LOG_DOWNLOAD_LIMIT_MAX,
  LOG_PATTERN_MAX,
  LOG_SEARCH_LIMIT_DEFAULT,
  logFileName,
  parseLogQuery,
  textMatcher,
} from "./log-search.ts";
import type { LogLine } from "./logs.ts";

const now = new Date("2026-01-02T03:04:05.000Z");
const at = (iso: string) => Date.parse(iso);

describe("parseLogQuery", () => {
  it("defaults to any line, newest 500", () => {
    expect(parseLogQuery({}, now)).toEqual({ regex: false, limit: LOG_SEARCH_LIMIT_DEFAULT });
  });

  it("reads every field", () => {
    expect(
      parseLogQuery(
        { q: "err(or)?", regex: "true", stream: "stderr", replica: "2", since: "10m", until: "2026-01-02T03:00:00Z", limit: "50" },
        now,
      ),
    ).toEqual({
      q: "err(or)?",
      regex: true,
      stream: "stderr",
      replica: 2,
      since: now.getTime() - 600_000,
      until: at("2026-01-02T03:00:00Z"),
      limit: 50,
    });
  });

  it.each([
    [{ q: "(unclosed", regex: "true" }, "q"],
    [{ q: "x".repeat(LOG_PATTERN_MAX + 1) }, "q"],
    [{ regex: "yes" }, "regex"],
    [{ stream: "stdin" }, "stream"],
    [{ replica: "-1" }, "replica"],
    [{ replica: "one" }, "replica"],
    [{ since: "yesterday" }, "since"],
    [{ until: "10y" }, "until"],
    [{ since: "1h", until: "2h" }, "until"],
    [{ limit: "0" }, "limit"],
    [{ limit: "5001" }, "limit"],
  ])("refuses %o with EINVALID on %s", (input, field) => {
    expect(() => parseLogQuery(input, now)).toThrow(expect.objectContaining({ code: EINVALID, fields: { [field]: [expect.any(String)] } }));
  });

  it("takes a plain-text q as is, even when it is not a valid pattern", () => {
    expect(parseLogQuery({ q: "(unclosed" }, now).q).toBe("(unclosed");
  });

  it("lets a download ask for more than a page", () => {
    expect(parseLogQuery({ limit: String(LOG_DOWNLOAD_LIMIT_MAX) }, now, LOG_DOWNLOAD_LIMIT_MAX).limit).toBe(LOG_DOWNLOAD_LIMIT_MAX);
  });
});

describe("textMatcher", () => {
  it("matches case-insensitively, and everything without text", () => {
    const m = textMatcher("Error");
    expect([m?.("an ERROR here"), m?.("fine")]).toEqual([true, false]);
    expect(textMatcher(undefined)).toBeNull();
    expect(textMatcher("")).toBeNull();
  });
});

describe("inWindow", () => {
  it.each([
    ["2026-01-02T03:00:00.5Z", true],
    ["2026-01-02T02:59:59.999999999Z", false],
    ["2026-01-02T03:10:00.001000001Z", false],
    ["2026-01-02T03:10:00.000999999Z", true],
    [undefined, true],
  ])("%s", (ts, want) => {
    expect(inWindow(ts, at("2026-01-02T03:00:00Z"), at("2026-01-02T03:10:00Z"))).toBe(want);
  });
});

const line = (ts: string, text: string, replica = 0): LogLine => ({ container_id: "abc", stream: "stdout", line: text, ts, replica });

describe("keepLogLines", () => {
  it("merges replicas in time order", () => {
    const a = [line("2026-01-01T00:00:01Z", "a1"), line("2026-01-01T00:00:03Z", "a3")];
    const b = [line("2026-01-01T00:00:02Z", "b2", 1)];
    expect(keepLogLines(a, b).map((l) => l.line)).toEqual(["a1", "b2", "a3"]);
  });

  it("keeps the newest lines within the line and character bounds", () => {
    const many = Array.from({ length: KEPT_LOG_LINES + 10 }, (_, i) =>
      line(`2026-01-01T00:${String(Math.floor(i / 60)).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}Z`, `l${i}`),
    );
    const kept = keepLogLines([], many);
    expect(kept.length).toBe(KEPT_LOG_LINES);
    expect(kept.at(-1)?.line).toBe(`l${KEPT_LOG_LINES + 9}`);
    const big = Array.from({ length: 5 }, (_, i) => line(`2026-01-01T00:00:0${i}Z`, String(i).repeat(KEPT_LOG_MAX_CHARS / 2)));
    expect(keepLogLines([], big).map((l) => l.line[0])).toEqual(["3", "4"]);
  });
});

describe("formatting", () => {
  it("writes tab-separated lines and safe file names", () => {
    expect(formatLogLine(line("2026-01-01T00:00:00.1Z", "hello\tworld", 2))).toBe("2026-01-01T00:00:00.1Z\t2\tstdout\thello\tworld");
    expect(formatLogLine({ container_id: "c", stream: "stderr", line: "x" })).toBe("-\t-\tstderr\tx");
    expect(logFileName('we"b; x', now)).toBe("we_b__x-logs-2026-01-02T03-04-05-000Z.log");
  });

  it("orders by timestamp text", () => {
    expect(compareLogLines(line("2026-01-01T00:00:00.000000002Z", ""), line("2026-01-01T00:00:00.000000010Z", ""))).toBe(-1);
  });
});
