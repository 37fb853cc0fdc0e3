import { describe, expect, it } from "vitest";
import { diffDotenv, formatDotenv, formatDotenvLine, parseDotenv } from "./dotenv.ts";

describe("parseDotenv", () => {
  it("reads keys, quotes, comments and references", () => {
    const text = [
      "# database",
      "",
      "export HOST=db.local # the host",
      "URL=postgres://${{db.USER}}:${{db.PASSWORD}}@${{db.HOST}}/app",
      "SINGLE='a # b $x'",
      'DOUBLE="line1\\nline2 \\"q\\""',
      'MULTI="first',
      'second"',
      "EMPTY=",
      "HASH=a#b",
    ].join("\n");
    const r = parseDotenv(text);
    expect(r.errors).toEqual([]);
    expect(Object.fromEntries(r.entries.map((e) => [e.key, e.value]))).toEqual({
      HOST: "db.local",
      URL: "postgres://${{db.USER}}:${{db.PASSWORD}}@${{db.HOST}}/app",
      SINGLE: "a # b $x",
      DOUBLE: 'line1\nline2 "q"',
      MULTI: "first\nsecond",
      EMPTY: "",
      HASH: "a#b",
    });
    expect(r.entries.map((e) => e.line)).toEqual([3, 4, 5, 6, 7, 9, 10]);
  });

  it.each([
    ["no equals", "JUSTKEY", "line 1: expected KEY=value."],
    ["bad key", "1A=x", 'line 1: "1A" is not a valid key (letters, digits and underscores, not starting with a digit).'],
    ["duplicate", "A=1\nA=2", 'line 2: "A" is already set on line 1.'],
    ["unterminated", 'A="x', "line 1: unterminated double quote."],
    ["trailing text", "A='x' y", "line 1: unexpected text after the closing quote."],
  ])("%s", (_n, text, error) => {
    expect(parseDotenv(text).errors).toEqual([error]);
  });
});

describe("formatDotenv", () => {
  it.each([
    ["plain", "abc", "K=abc"],
    ["reference", "${{db.HOST}}:5432", "K=${{db.HOST}}:5432"],
    ["space", "a b", 'K="a b"'],
    ["empty", "", 'K=""'],
    ["newline and quotes", 'a\n"b"\\', 'K="a\\n\\"b\\"\\\\"'],
    ["hash", "a#b", 'K="a#b"'],
  ])("line: %s", (_n, value, want) => {
    expect(formatDotenvLine("K", value)).toBe(want);
    expect(parseDotenv(want).entries[0]?.value).toBe(value);
  });

  it("keeps the layout's comments and order, drops gone keys, appends new ones", () => {
    const layout = '# top\nB=old\n\n# about A\nA="x\ny"\nGONE=1\n';
    const text = formatDotenv(
      [
        { key: "A", value: "new a" },
        { key: "B", value: "b" },
        { key: "C", value: "c" },
      ],
      layout,
    );
    expect(text).toBe('# top\nB=b\n\n# about A\nA="new a"\nC=c\n');
  });

  it("without a layout lists by key", () => {
    expect(
      formatDotenv([
        { key: "B", value: "2" },
        { key: "A", value: "1" },
      ]),
    ).toBe("A=1\nB=2\n");
    expect(formatDotenv([])).toBe("");
  });
});

describe("diffDotenv", () => {
  it("creates, updates and deletes", () => {
    const current = [
      { key: "KEEP", value: "1" },
      { key: "CHANGE", value: "1" },
      { key: "DROP", value: "1" },
    ];
    const entries = parseDotenv("KEEP=1\nCHANGE=2\nNEW=3").entries;
    expect(diffDotenv(current, entries)).toEqual({
      creates: [{ key: "NEW", value: "3" }],
      updates: [{ key: "CHANGE", value: "2" }],
      deletes: ["DROP"],
    });
  });
});
