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

// B12: user-controlled text (a registry's error message, a name, container output in a failure
// reason) must not be able to forge a record of its own or write terminal escapes, in either format.
describe("log injection (B12)", () => {
  const FORGED = '\n{"level":50,"msg":"forged"}';
  const HOSTILE = [
    FORGED,
    `x\r\n12:00:00.000 ERROR forged admin login`,
    "\x1b[2K\x1b]0;pwn\x07",
    "\u009b2J\u0085next",
    "a\u2028b\u2029c",
    "\u202eevil",
  ];
  // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence.
  const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/;

  /** Every line of `text` is either a record (time and level first) or a stack line (4 spaces). */
  function expectOneRecordPerLine(text: string, records: number, what: string) {
    expect(text.endsWith("\n"), what).toBe(true);
    const lines = text.slice(0, -1).split("\n");
    expect(
      lines.filter((l) => /^\d\d:\d\d:\d\d\.\d{3} /.test(l)),
      what,
    ).toHaveLength(records);
    for (const l of lines) {
      expect(/^\d\d:\d\d:\d\d\.\d{3} [A-Z]+ {0,2}[^ ]/.test(l) || l.startsWith("    "), `${what}: ${JSON.stringify(l)}`).toBe(true);
      expect(l, what).not.toMatch(/^\{"level"/);
      expect(l, what).not.toMatch(RAW_CONTROL);
    }
  }

  it("text: hostile messages, values, keys, components and error messages stay on their record's line, escaped", () => {
    for (const h of HOSTILE) {
      const what = JSON.stringify(h);
      const lines = [
        formatLine(JSON.stringify({ level: 30, time: 0, msg: h }), false),
        formatLine(JSON.stringify({ level: 40, time: 0, msg: "deployment attempt failed", reason: h, names: [h] }), false),
        formatLine(JSON.stringify({ level: 40, time: 0, component: h, msg: "x", [h]: 1 }), false),
      ];
      for (const l of lines) expectOneRecordPerLine(l, 1, what);
      const err = new Error(`image ${h} not found`);
      err.stack = `Error: image ${h} not found\n    at pull (image.ts:1:1)\r\x1b[31m`;
      const withStack = formatLine(
        JSON.stringify({ level: 50, time: 0, msg: "request failed", err: { type: "Error", message: err.message, stack: err.stack } }),
        true,
      );
      // Colour codes are the formatter's own: strip them, then nothing else may be there.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the formatter's own colours.
      expectOneRecordPerLine(withStack.replace(/\x1b\[\d+m/g, ""), 1, what);
      expect(withStack).toContain("    at pull (image.ts:1:1)");
    }
  });

  it("text: the forged record reads back as the value it was", () => {
    const out = formatLine(JSON.stringify({ level: 40, time: 0, msg: `m${FORGED}`, image: FORGED }), false);
    expect(out).toBe(
      '00:00:00.000 WARN  "m\\n{\\"level\\":50,\\"msg\\":\\"forged\\"}" image="\\n{\\"level\\":50,\\"msg\\":\\"forged\\"}"\n',
    );
    expect(formatLine(JSON.stringify({ level: 30, time: 0, msg: "x", s: "a\u009bb\u2028" }), false)).toBe(
      '00:00:00.000 INFO  x s="a\\u009bb\\u2028"\n',
    );
  });

  it("both formats, through the real logger: one record per write, whatever the fields hold", () => {
    for (const format of ["json", "text"] as const) {
      const out: string[] = [];
      const sink = { write: (s: string) => out.push(s) };
      const log = newLogger("info", format === "text" ? textDestination(sink, false) : (sink as never));
      for (const h of HOSTILE) {
        log.child({ component: "reconciler" }).warn({ deployment_id: h, reason: `pull failed: ${h}` }, "deployment attempt failed");
        log.error({ err: new Error(`bad name ${h}`) }, h);
      }
      const text = out.join("");
      if (format === "json") {
        const lines = text.trimEnd().split("\n");
        expect(lines).toHaveLength(HOSTILE.length * 2);
        for (const l of lines) {
          const rec = JSON.parse(l);
          expect(rec.msg).not.toBe("forged");
          // JSON escapes every C0 control (pino's strings are JSON strings); C1 and U+2028 are valid JSON as they are.
          // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence.
          expect(l).not.toMatch(/[\u0000-\u001f]/);
        }
      } else {
        const records = text.split("\n").filter((l) => /^\d\d:\d\d:\d\d\.\d{3} /.test(l));
        expect(records).toHaveLength(HOSTILE.length * 2);
        for (const chunk of out) expectOneRecordPerLine(chunk, 1, format);
      }
    }
  });
});
