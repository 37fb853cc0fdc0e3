import { describe, expect, it } from "vitest";
import { formatLine, textDestination, textLogs } from "./logfmt.ts";
import { logDestination, newLogger } from "./logger.ts";

describe("textLogs: which format -log-format means here", () => {
  it.each([
    ["auto", true, {}, true],
    ["auto", false, {}, false],
    ["auto", undefined, {}, false],
    ["auto", true, { CI: "true" }, false],
    ["json", true, {}, false],
    ["text", false, { CI: "1" }, true],
  ] as const)("%s with stdout a TTY: %s, env %j → text %s", (format, tty, env, want) => {
    expect(textLogs(format, tty, env)).toBe(want);
  });
});

describe("formatLine", () => {
  it("prints time, level, component, message and the other fields", () => {
    const line = JSON.stringify({
      level: 30,
      time: "2026-12-03T19:05:12.345Z",
      service: "deploykitd",
      component: "http",
      msg: "request",
      method: "GET",
      url: "/api/projects",
      status: 200,
      note: "two words",
      tags: ["a"],
    });
    expect(formatLine(line, false)).toBe(
      '19:05:12.345 INFO  http: request method=GET url=/api/projects status=200 note="two words" tags=["a"]\n',
    );
  });

  it("colours the level only when asked", () => {
    const line = JSON.stringify({ level: 50, time: "2026-12-03T19:05:12.345Z", msg: "boom" });
    expect(formatLine(line, false)).toBe("19:05:12.345 ERROR boom\n");
    expect(formatLine(line, true)).toContain("\x1b[31mERROR\x1b[0m");
  });

  it("puts an error's message inline and its stack beneath", () => {
    const line = JSON.stringify({
      level: 40,
      time: 0,
      msg: "failed",
      err: { type: "Error", message: "no such file", stack: "Error: no such file\n    at x (y.ts:1:1)" },
    });
    expect(formatLine(line, false)).toBe(
      '00:00:00.000 WARN  failed err="no such file"\n    Error: no such file\n        at x (y.ts:1:1)\n',
    );
  });

  it("passes anything that is not a JSON object through", () => {
    expect(formatLine("plain text", false)).toBe("plain text\n");
    expect(formatLine("[1,2]", false)).toBe("[1,2]\n");
  });
});

describe("newLogger with the text destination", () => {
  it("is what -log-format auto picks for a terminal, and JSON (pino's own stdout) for anything else", () => {
    const out: string[] = [];
    const stdout = (isTTY: boolean) => ({ isTTY, write: (s: string) => out.push(s) }) as unknown as NodeJS.WriteStream;
    expect(logDestination("auto", stdout(false), {})).toBeUndefined();
    expect(logDestination("auto", stdout(true), { CI: "true" })).toBeUndefined();
    const dest = logDestination("auto", stdout(true), { NO_COLOR: "1" });
    newLogger("info", dest).info({ port: 8080 }, "listening");
    expect(out).toEqual([expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening port=8080\n$/)]);
  });

  it("writes readable lines, still redacted", () => {
    const out: string[] = [];
    const log = newLogger("info", textDestination({ write: (s: string) => out.push(s) }, false));
    log.child({ component: "reconciler" }).info({ service_id: "s1", value: "hunter2-secret" }, "deployed");
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}reconciler: deployed service_id=s1 value=\[redacted\]\n$/);
    expect(out[0]).not.toContain("hunter2-secret");
  });
});

describe("formatLine keeps the terminal safe", () => {
  it("quotes values and messages that hold control characters", () => {
    const line = JSON.stringify({ level: 30, time: 0, msg: "evil\x1b[2J", url: "/x\x1b[31m", name: "café" });
    expect(formatLine(line, false)).toBe('00:00:00.000 INFO  "evil\\u001b[2J" url="/x\\u001b[31m" name="café"\n');
  });
});
