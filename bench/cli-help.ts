/**
 * CLI start-up (issue 17): wall time of `deploykit --help` and `deploykit logs --help` from the
 * built CLI, interleaved with `node -e 0` as the same-run baseline (builds dist/ first when missing).
 *   node bench/cli-help.ts [runs=30]
 * Budget: `--help` ≤ 150 ms.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { median } from "./_stats.ts";

const RUNS = Number(process.argv[2] ?? 30);
const CLI = "dist/server/cli/main.js";
if (!existsSync(CLI)) {
  const build = spawnSync("npm", ["run", "build:server"], { stdio: "inherit" });
  if (build.status !== 0 || !existsSync(CLI)) throw new Error(`${CLI} is missing and npm run build:server failed`);
}
const cases: Record<string, string[]> = {
  "node -e 0 (baseline)": ["-e", "0"],
  "deploykit --help": [CLI, "--help"],
  "deploykit logs --help": [CLI, "logs", "--help"],
};
const times = new Map<string, number[]>(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < RUNS; i++) {
  for (const [name, args] of Object.entries(cases)) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { stdio: "ignore" });
    if (r.status !== 0) throw new Error(`${name} exited ${r.status}`);
    times.get(name)?.push(performance.now() - t0);
  }
}
const base = median(times.get("node -e 0 (baseline)") ?? []);
console.log(`| command (${RUNS} runs, interleaved) | median | min | max | vs node -e 0 |`);
console.log("|---|---|---|---|---|");
for (const [name, xs] of times) {
  const m = median(xs);
  console.log(
    `| ${name} | ${m.toFixed(1)} ms | ${Math.min(...xs).toFixed(1)} ms | ${Math.max(...xs).toFixed(1)} ms | ${(m / base).toFixed(2)}× |`,
  );
}
