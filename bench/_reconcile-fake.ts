// `node bench/reconcile.ts fake [services=1000] [passes=11]` (issue 19): reconcileOnce over N services
// in sync on a real SQLite file, with the reconciler's in-memory fake Docker serving N running
// containers (test/reconciler/fleet.ts; set up through the reconciler itself). The fake answers at
// once, so the figures are the reconciler's own work: wall and CPU time per pass, the longest slice
// it held the event loop (wall, and in CPU time, which the machine's other load does not inflate),
// and Docker list calls per pass. Budgets: ≤ 250 ms a pass, constant lists, slices ≤ 10 ms.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { inSyncFleet, watchLoop } from "../test/reconciler/fleet.ts";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export async function run(n: number, passes: number): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), "dk-bench-fleet-"));
  try {
    let t0 = performance.now();
    const f = await inSyncFleet(n, join(dir, "deploykit.db"));
    console.log(`setup: ${n} services running on the fake Docker in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await f.rec.reconcileOnce(); // warm-up
    const wall: number[] = [];
    const cpu: number[] = [];
    const slice: number[] = [];
    const sliceCpu: number[] = [];
    const lists = new Set<number>();
    for (let i = 0; i < passes; i++) {
      f.fake.resetCalls();
      t0 = performance.now();
      const c0 = process.cpuUsage();
      const { loop } = await watchLoop(() => f.rec.reconcileOnce());
      const c = process.cpuUsage(c0);
      wall.push(performance.now() - t0);
      cpu.push((c.user + c.system) / 1000);
      slice.push(loop.maxSliceMs);
      sliceCpu.push(loop.maxSliceCpuMs);
      lists.add(f.fake.count("listContainers") + f.fake.count("listNetworks") + f.fake.count("listVolumes"));
    }
    // Deploy of one more service in another project, the fleet running: the pass over exactly that
    // service (what Apply's deployment.created triggers now, issue 11) against the full resync the
    // Deploy route triggered before. Alternating; the clock stops when the fake runs its container.
    const other = await f.projects.createProject({ name: "other" });
    f.rec.start(); // a live reconciler, as in the daemon; its start-up resync settles first
    await new Promise((r) => setTimeout(r, 5_000));
    const targeted: number[] = [];
    const full: number[] = [];
    for (let i = 0; i < 5; i++) {
      for (const how of ["targeted", "full"] as const) {
        const svc = await f.services.createService(other.id, { name: `one-more-${how}-${i}`, image: "app:1" });
        const ran = new Promise<void>((resolve) => {
          f.fake.onRun = (c) => {
            if (c.labels["deploykit.service-id"] === svc.id) resolve();
          };
        });
        t0 = performance.now();
        await f.deployments.createDeployment(svc.id, { image: "app:1" });
        if (how === "targeted") f.rec.triggerService(svc.id);
        else f.rec.trigger();
        await ran;
        (how === "targeted" ? targeted : full).push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 4_000)); // the rest of a full resync drains before the next run
      }
    }
    f.fake.onRun = undefined;
    await f.rec.stop();
    f.close();
    console.log(
      `deploy of one more service beside ${n} running: its own pass ${median(targeted).toFixed(1)} ms, a full resync (before issue 11) ${median(full).toFixed(1)} ms (medians of 5)`,
    );
    const load = loadavg()
      .map((l) => l.toFixed(1))
      .join(" ");
    const ok = (b: boolean) => (b ? "✔" : "✘");
    console.log(`load average: ${load}`);
    console.log(
      `reconcileOnce, ${n} services in sync (${passes} passes): wall median ${median(wall).toFixed(0)} ms (min ${Math.min(...wall).toFixed(0)}),` +
        ` CPU median ${median(cpu).toFixed(0)} ms (budget ≤ 250 ms: wall ${ok(median(wall) <= 250)}, CPU ${ok(median(cpu) <= 250)})`,
    );
    console.log(
      `longest event-loop slice per pass: wall median ${median(slice).toFixed(1)} ms (max ${Math.max(...slice).toFixed(1)}),` +
        ` CPU median ${median(sliceCpu).toFixed(1)} ms (max ${Math.max(...sliceCpu).toFixed(1)}) (budget ≤ 10 ms CPU ${ok(median(sliceCpu) <= 10)})`,
    );
    console.log(
      `Docker list calls per pass: ${[...lists].join(",")} (containers+networks+volumes) ${ok(lists.size === 1 && lists.has(3))}`,
    );
    return median(cpu) <= 250 && median(sliceCpu) <= 10 && lists.size === 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
