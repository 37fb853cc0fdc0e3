import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { inertLogText } from "../../../lib/log-text.ts";
import { LogLine, logTime } from "./log-line.tsx";

// B12: container output is attacker-controlled. What the Logs tab shows of it must be inert text:
// no element, no attribute, no terminal escape, no control character that moves the cursor or fakes a line.

const HOSTILE = [
  "<img src=x onerror=alert(1)>",
  "<script>alert(document.cookie)</script>",
  "\x1b]0;pwn\x07title set",
  "\x1b[31mred\x1b[0m \x1b[2J\x1b[H cleared",
  "ok\r\n[INFO] fake admin login",
  "\u009b31mC1 CSI\u009d0;t\u009c",
  "\u202eevil\u202c \u2028next",
];

const render = (text: string) =>
  renderToStaticMarkup(<LogLine item={{ seq: 1, container_id: "0123456789abcdef", stream: "stdout", text }} />);

describe("inertLogText", () => {
  it("removes terminal escape sequences and keeps their visible text", () => {
    expect(inertLogText("\x1b[31mred\x1b[0m plain")).toBe("red plain");
    expect(inertLogText("\x1b]0;pwn\x07after")).toBe("after");
    expect(inertLogText("\x1b]8;;http://evil.test\x1b\\link\x1b]8;;\x1b\\")).toBe("link");
    expect(inertLogText("\x1bPdcs\x1b\\x")).toBe("x");
    expect(inertLogText("\u009b2Jx")).toBe("x");
  });

  it("shows every other control character as a visible symbol", () => {
    expect(inertLogText("ok\r\n[INFO] fake admin login")).toBe("ok\u240d\u240a[INFO] fake admin login");
    expect(inertLogText("a\x00b\x07c\x7fd\x1b")).toBe("a\u2400b\u2407c\u2421d\u241b");
    expect(inertLogText("a\u0085b\u2028c\u202ed")).toBe("a<U+0085>b<U+2028>c<U+202E>d");
    expect(inertLogText("tab\tstays")).toBe("tab\tstays");
  });

  it("leaves ordinary text, HTML-looking text and non-Latin text as they are", () => {
    for (const s of ["GET /api 200 12ms", "<img src=x onerror=alert(1)>", "héllo wörld — 日本語 🚀"]) expect(inertLogText(s)).toBe(s);
  });

  it("leaves no control character in any hostile line", () => {
    for (const s of HOSTILE) {
      const out = inertLogText(s);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence.
      expect(out, JSON.stringify(s)).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
    }
  });
});

describe("LogLine (the Logs tab's row)", () => {
  it("renders a hostile line as text: no element or attribute comes from the line", () => {
    for (const s of HOSTILE) {
      const html = render(s);
      // The row's own markup: one div and two spans, whatever the line says.
      expect(html.match(/<[a-z]+/g), html).toEqual(["<div", "<span", "<span"]);
      expect(html).not.toContain("<img");
      expect(html).not.toContain("<script");
      // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence.
      expect(html).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/);
    }
    expect(render("<img src=x onerror=alert(1)>")).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(render("\x1b]0;pwn\x07title set")).toContain(">title set</span>");
  });

  it("shows the replica, and the Docker time when asked", () => {
    const item = {
      seq: 1,
      container_id: "0123456789abcdef",
      stream: "stdout" as const,
      text: "hi",
      ts: "2026-01-02T03:04:05.123456789Z",
      replica: 2,
    };
    const plain = renderToStaticMarkup(<LogLine item={item} />);
    expect(plain).toContain(">r2 0123456789ab</span>");
    expect(plain).not.toContain("03:04:05");
    const timed = renderToStaticMarkup(<LogLine item={item} showTime />);
    expect(timed).toContain(">03:04:05.123</time>");
    expect(timed.match(/<span/g)?.length).toBe(2);
    expect(timed).toContain('title="2026-01-02T03:04:05.123456789Z"');
  });

  it.each([
    ["2026-01-02T03:04:05.123456789Z", "03:04:05.123"],
    ["2026-01-02T03:04:05Z", "03:04:05    "],
    [undefined, "            "],
  ])("logTime(%s)", (ts, want) => {
    expect(logTime(ts)).toBe(want);
  });
});
