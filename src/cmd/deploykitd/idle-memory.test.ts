import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");

// In a fresh Node with default flags: start-up-like churn grows the young generation; the trim
// gives it back, and the process still runs (the gc extension is not left exposed).
const SCRIPT = `
import { memoryReducingGC, youngBytes } from "./src/cmd/deploykitd/idle-memory.ts";
let keep = [];
for (let i = 0; i < 200_000; i++) { keep.push({ i, s: "x".repeat(i % 64) }); if (keep.length > 50_000) keep = []; }
const before = youngBytes();
memoryReducingGC();
console.log(JSON.stringify({ before, after: youngBytes(), gcExposed: typeof globalThis.gc }));
`;

describe("trimWhenIdle", () => {
  it("shrinks the young generation that a burst grew", () => {
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", SCRIPT], { cwd: root, encoding: "utf8" });
    const r = JSON.parse(out.trim().split("\n").at(-1) ?? "") as { before: number; after: number; gcExposed: string };
    expect(r.before).toBeGreaterThan(4 * 2 ** 20);
    expect(r.after).toBeLessThanOrEqual(2 * 2 ** 20);
    expect(r.gcExposed).toBe("undefined");
  });

  it("with the young generation capped, the same churn leaves it small without a trim", () => {
    const script = `
      import { capYoungGeneration, youngBytes } from "./src/cmd/deploykitd/idle-memory.ts";
      const capped = process.argv[1] === "cap";
      if (capped) capYoungGeneration();
      let keep = [];
      for (let i = 0; i < 200_000; i++) { keep.push({ i, s: "x".repeat(i % 64) }); if (keep.length > 50_000) keep = []; }
      console.log(youngBytes());
    `;
    const young = (arg: string) =>
      Number(
        execFileSync(process.execPath, ["--input-type=module", "-e", script, arg], { cwd: root, encoding: "utf8" })
          .trim()
          .split("\n")
          .at(-1),
      );
    expect(young("default")).toBeGreaterThan(8 * 2 ** 20);
    expect(young("cap")).toBeLessThanOrEqual(4 * 2 ** 20);
  });

  it("optimizing compilers wait while paused, and optimize hot code once resumed; a command-line choice is left alone", () => {
    // %GetOptimizationStatus bit 4 (16): the function runs optimized code.
    const script = `
      import { pauseOptimizers, resumeOptimizers } from "./src/cmd/deploykitd/idle-memory.ts";
      const hot = new Function("n", "let s = 0; for (let i = 0; i < n; i++) s += (i * 31) ^ (s >>> 3); return s;");
      const optimized = new Function("f", "return (%GetOptimizationStatus(f) & 16) !== 0;");
      const spin = () => { for (let k = 0; k < 3000; k++) hot(1000); };
      pauseOptimizers();
      spin();
      const whilePaused = optimized(hot);
      resumeOptimizers();
      spin();
      spin();
      console.log(JSON.stringify({ whilePaused, resumed: optimized(hot) }));
    `;
    const run = (...flags: string[]) =>
      JSON.parse(
        execFileSync(process.execPath, ["--allow-natives-syntax", ...flags, "--input-type=module", "-e", script], {
          cwd: root,
          encoding: "utf8",
        })
          .trim()
          .split("\n")
          .at(-1) ?? "",
      ) as { whilePaused: boolean; resumed: boolean };
    expect(run()).toEqual({ whilePaused: false, resumed: true });
    expect(run("--no-maglev")).toEqual({ whilePaused: true, resumed: true });
  });
});
