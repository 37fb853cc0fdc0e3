// Summarises a V8 .cpuprofile (node --cpu-prof; BENCH_CPU_PROF=<dir> makes bench/_populated.ts
// profile the daemon): self time by function and by file, top entries.
//   node bench/_profile-top.ts <file.cpuprofile> [top=30]
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error("usage: node bench/_profile-top.ts <file.cpuprofile> [top]");
const prof = JSON.parse(readFileSync(file, "utf8")) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const top = Number(topArg ?? 30);
const byID = new Map(prof.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
prof.samples.forEach((id, i) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
});
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const fn = new Map<string, number>();
const files = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byID.get(id) as Node;
  const url = n.callFrame.url.replace(/^file:\/\/.*?\/(node_modules|src)\//, "$1/");
  const key = `${n.callFrame.functionName || "(anonymous)"} ${url}:${n.callFrame.lineNumber + 1}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  const f = url || n.callFrame.functionName;
  files.set(f, (files.get(f) ?? 0) + us);
}
const show = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title} (of ${(total / 1e3).toFixed(0)} ms sampled)\n`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    process.stdout.write(`${(us / 1e3).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}\n`);
};
show("self time by function", fn);
show("self time by file", files);

// Who pays for the top self-time entries: the first frame in src/ (outside src/sqlite/db.ts) above
// each sample, so "SQLite" splits into the queries' callers.
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const callers = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byID.get(id) as Node;
  if (!n.callFrame.url && n.callFrame.functionName === "(idle)") continue;
  let p: number | undefined = id;
  let key = "(no src/ frame)";
  while (p !== undefined) {
    const f = (byID.get(p) as Node).callFrame;
    if (f.url.includes("/src/") && !f.url.endsWith("/src/sqlite/db.ts")) {
      key = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/src\//, "src/")}:${f.lineNumber + 1}`;
      break;
    }
    p = parent.get(p);
  }
  callers.set(key, (callers.get(key) ?? 0) + us);
}
show("busy time by first src/ caller", callers);
