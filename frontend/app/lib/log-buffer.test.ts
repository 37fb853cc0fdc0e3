import { describe, expect, it } from "vitest";
import { LogBuffer } from "./log-buffer.ts";

const line = (text: string) => ({ container_id: "c1", stream: "stdout" as const, text });

describe("LogBuffer", () => {
  it("keeps items in order until full", () => {
    const b = new LogBuffer(3);
    b.push(line("a"));
    b.push(line("b"));
    expect(b.length).toBe(2);
    expect(b.slice(0, 10).map((x) => x.text)).toEqual(["a", "b"]);
  });

  it("evicts the oldest once over capacity and keeps sequence numbers monotonic", () => {
    const b = new LogBuffer(3);
    for (const t of ["a", "b", "c", "d", "e"]) b.push(line(t));
    expect(b.length).toBe(3);
    expect(b.slice(0, 3).map((x) => x.text)).toEqual(["c", "d", "e"]);
    expect(b.slice(0, 3).map((x) => x.seq)).toEqual([2, 3, 4]);
    expect(b.at(0)?.text).toBe("c");
    expect(b.at(3)).toBeUndefined();
    expect(b.pushed).toBe(5);
  });

  it("slices a window in logical order across the wrap point", () => {
    const b = new LogBuffer(4);
    for (let i = 0; i < 10; i++) b.push(line(String(i)));
    expect(b.slice(1, 3).map((x) => x.text)).toEqual(["7", "8"]);
    expect(b.slice(-5, 99).map((x) => x.text)).toEqual(["6", "7", "8", "9"]);
  });

  it("bumps the version on every change and clears", () => {
    const b = new LogBuffer(2);
    const v0 = b.version;
    b.push(line("x"));
    expect(b.version).toBe(v0 + 1);
    b.clear();
    expect(b.length).toBe(0);
    expect(b.slice(0, 5)).toEqual([]);
    expect(b.version).toBe(v0 + 2);
  });

  it("takes 100k lines into a 5000-line buffer quickly", () => {
    const b = new LogBuffer(5000);
    const t = performance.now();
    for (let i = 0; i < 100_000; i++) b.push({ container_id: "c", stream: i % 2 ? "stderr" : "stdout", text: `line ${i}` });
    expect(performance.now() - t).toBeLessThan(500);
    expect(b.length).toBe(5000);
    expect(b.at(4999)?.text).toBe("line 99999");
  });

  it("refuses a non-positive capacity", () => {
    expect(() => new LogBuffer(0)).toThrow();
  });
});
