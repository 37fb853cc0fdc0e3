import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Fleet, inSyncFleet, watchLoop } from "./fleet.ts";

// Issue 19: a resync pass over a large instance must leave the event loop free for requests, canvas
// moves and log lines. A fake Docker serving 1,000 running containers answers every call at once, so
// nothing in a pass yields to I/O by itself: only the reconciler's own yields between services do.
// The bound is on the CPU time of the longest slice (the wall-clock gap also counts the time the OS
// gave the core to other processes) and generous: the budget is 10 ms (bench/reconcile.ts fake);
// before the fix one slice held the whole pass's list and inspections (113–316 ms wall).
const N = 1000;
const MAX_SLICE_CPU_MS = 50;

let fleet: Fleet;
beforeAll(async () => {
  fleet = await inSyncFleet(N);
}, 120_000);
afterAll(() => fleet?.close());

describe("a resync pass over 1,000 services in sync", () => {
  it("keeps the event loop free: no synchronous slice longer than one service's pass", async () => {
    await fleet.rec.reconcileOnce(); // warm-up
    fleet.fake.resetCalls();
    fleet.published.length = 0;
    const { loop } = await watchLoop(() => fleet.rec.reconcileOnce());
    expect(loop.maxSliceCpuMs).toBeLessThan(MAX_SLICE_CPU_MS);
    // Constant Docker list calls, whatever the count (one snapshot per resync).
    expect(fleet.fake.count("listContainers")).toBe(1);
    expect(fleet.fake.count("listNetworks")).toBe(1);
    expect(fleet.fake.count("listVolumes")).toBe(1);
    expect(fleet.fake.count("runContainer") + fleet.fake.count("removeContainer")).toBe(0);
    // Nothing changed, so nothing is published: the API's list cache (dropped on every event of the
    // project) stays valid however many services run.
    expect(fleet.published).toEqual([]);
  }, 120_000);
});
