import { describe, expect, it } from "vitest";
import { SSEParser } from "./sse.ts";

describe("SSEParser", () => {
  it("parses data frames, named events and skips comments", () => {
    const p = new SSEParser();
    const out = p.feed(': ping\n\ndata: {"a":1}\n\nevent: end\ndata: {}\n\n');
    expect(out).toEqual([
      { event: "message", data: '{"a":1}' },
      { event: "end", data: "{}" },
    ]);
  });

  it("handles frames split across chunks and CRLF line ends", () => {
    const p = new SSEParser();
    expect(p.feed("da")).toEqual([]);
    expect(p.feed('ta: {"line":"he')).toEqual([]);
    expect(p.feed('llo"}\r\n')).toEqual([]);
    expect(p.feed("\r\n")).toEqual([{ event: "message", data: '{"line":"hello"}' }]);
  });

  it("joins multi-line data with newlines", () => {
    expect(new SSEParser().feed("data: a\ndata: b\n\n")).toEqual([{ event: "message", data: "a\nb" }]);
  });
});
