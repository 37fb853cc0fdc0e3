// Runs every benchmark in bench/ one after another (they share the 2-core machine, so never in
// parallel) and stops at the first that fails. `node bench/run.ts [name…]` runs only those. After
// the defaults come the profiles of issue 19: the populated HTTP and memory profiles (100 and 300
// real containers) and the reconciler over 1,000 services on a fake Docker.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.startsWith("_"))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.ts$/, "")))
  .sort();

const PROFILES: [string, ...string[]][] = [
  ["reconcile.ts", "fake", "1000"],
  ["http.ts", "populated", "100"],
  ["http.ts", "populated", "300"],
  ["memory.ts", "populated", "100"],
  ["memory.ts", "populated", "300"],
];
const runs: [string, ...string[]][] = [
  ...benches.map((f): [string] => [f]),
  ...PROFILES.filter(([f]) => wanted.length === 0 || wanted.includes(f.replace(/\.ts$/, ""))),
];
for (const [file, ...args] of runs) {
  process.stdout.write(`\n== bench/${file} ${args.join(" ")}\n`);
  const r = spawnSync(process.execPath, [join(here, file), ...args], { stdio: "inherit" });
  if (r.status !== 0) {
    process.stderr.write(`bench/${file} ${args.join(" ")} failed with status ${r.status}\n`);
    process.exit(r.status ?? 1);
  }
}
