import { describe, expect, it } from "vitest";
import { Demuxer, demuxAll } from "./demux.ts";
import { FrameLines, LineSplitter, MAX_LINE_BYTES } from "./lines.ts";
import { Ring } from "./logs.ts";

function frame(type: number, text: string | Buffer): Buffer {
  const payload = typeof text === "string" ? Buffer.from(text) : text;
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

const TS = "2026-01-02T03:04:05.123456789Z";

describe("Demuxer", () => {
  it.each([1, 3, 7, 8, 9, 64, 1000])("reassembles frames split into %d-byte chunks", (size) => {
    const stream = Buffer.concat([frame(1, "out one\n"), frame(2, "err\n"), frame(1, ""), frame(0, "stdin?"), frame(1, "out two\n")]);
    const got: string[] = [];
    const d = new Demuxer((kind, p) => got.push(`${kind}:${p.toString()}`));
    for (let i = 0; i < stream.length; i += size) d.push(stream.subarray(i, i + size));
    expect(got).toEqual(["stdout:out one\n", "stderr:err\n", "stdout:out two\n"]);
  });

  it("demuxAll concatenates payloads in order", () => {
    expect(demuxAll(Buffer.concat([frame(1, "a\n"), frame(2, "b\n")])).toString()).toBe("a\nb\n");
  });
});

describe("FrameLines", () => {
  it("strips the timestamp of every frame and keeps the first for a line split across frames", () => {
    const got: [string, string | undefined][] = [];
    const f = new FrameLines((text, ts) => got.push([text, ts]));
    f.push(Buffer.from(`${TS} part one, `));
    f.push(Buffer.from(`2026-01-02T03:04:06.000000000Z part two\n`));
    f.push(Buffer.from(`2026-01-02T03:04:07.000000000Z \n`));
    f.push(Buffer.from(`2026-01-02T03:04:08.000000000Z next\n`));
    f.push(Buffer.from(`2026-01-02T03:04:09.000000000Z unterminated`));
    f.end();
    expect(got).toEqual([
      ["part one, part two", TS],
      ["", "2026-01-02T03:04:07.000000000Z"],
      ["next", "2026-01-02T03:04:08.000000000Z"],
      ["unterminated", "2026-01-02T03:04:09.000000000Z"],
    ]);
  });
});

describe("LineSplitter", () => {
  it("joins partial lines across chunks, including multi-byte characters split mid-way", () => {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    const bytes = Buffer.from("héllo wörld\nsecond\nthird");
    for (let i = 0; i < bytes.length; i++) s.push(bytes.subarray(i, i + 1));
    s.end();
    expect(got).toEqual(["héllo wörld", "second", "third"]);
  });

  it("caps a line at 1 MiB and keeps the next line intact", () => {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    const big = Buffer.alloc(MAX_LINE_BYTES + 5000, "a");
    for (let i = 0; i < big.length; i += 65536) s.push(big.subarray(i, i + 65536));
    s.push(Buffer.from("\nok\n"));
    expect(got.map((l) => l.length)).toEqual([MAX_LINE_BYTES, 2]);
    // A single chunk holding an over-long whole line is capped too.
    s.push(Buffer.concat([Buffer.alloc(MAX_LINE_BYTES + 1, "b"), Buffer.from("\n")]));
    expect(got[2]!.length).toBe(MAX_LINE_BYTES);
  });
});

describe("Ring", () => {
  const line = (text: string) => ({ container_id: "c", stream: "stdout" as const, line: text });

  it("keeps the latest lines by count", () => {
    const r = new Ring(3);
    for (const t of ["a", "b", "c", "d", "e"]) r.push(line(t));
    expect(r.last(10).map((l) => l.line)).toEqual(["c", "d", "e"]);
    expect(r.last(2).map((l) => l.line)).toEqual(["d", "e"]);
    expect(r.last(0)).toEqual([]);
  });

  it("drops the oldest lines when over its character budget, but always keeps the newest", () => {
    const r = new Ring(100, 10);
    for (const t of ["aaaa", "bbbb", "cccc"]) r.push(line(t));
    expect(r.last(10).map((l) => l.line)).toEqual(["bbbb", "cccc"]);
    r.push(line("x".repeat(50)));
    expect(r.last(10).map((l) => l.line.length)).toEqual([50]);
  });
});
