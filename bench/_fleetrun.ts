import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { inSyncFleet, watchLoop } from "../test/reconciler/fleet.ts";

const n = Number(process.argv[2] ?? 1000);
let t0 = performance.now();
const f = await inSyncFleet(n);
console.log("setup", ((performance.now() - t0) / 1000).toFixed(1), "s");
const s = new Session();
if (process.env.PROF) {
  s.connect();
  await s.post("Profiler.enable");
  await s.post("Profiler.setSamplingInterval", { interval: 200 });
  await s.post("Profiler.start");
}
for (let i = 0; i < 5; i++) {
  f.fake.resetCalls();
  t0 = performance.now();
  const c0 = process.cpuUsage();
  const { loop } = await watchLoop(() => f.rec.reconcileOnce());
  const c = process.cpuUsage(c0);
  console.log(
    "pass",
    (performance.now() - t0).toFixed(0),
    "ms wall",
    ((c.user + c.system) / 1000).toFixed(0),
    "ms cpu",
    JSON.stringify(loop),
    JSON.stringify(f.fake.calls),
  );
}
if (process.env.PROF) {
  const { profile } = await s.post("Profiler.stop");
  writeFileSync(process.env.PROF, JSON.stringify(profile));
}
