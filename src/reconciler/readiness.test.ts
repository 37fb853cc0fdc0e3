import { describe, expect, it } from "vitest";
import type * as deploykit from "../index.ts";
import { Ledger } from "./readiness.ts";

const starting = { id: "d1", status: "starting" as const, baseline_restart_count: 0 };
const insp = (over: Partial<deploykit.ContainerInspection>): deploykit.ContainerInspection => ({
  state: "running",
  restart_count: 0,
  started_at: "2026-01-01T00:00:00.000Z",
  labels: {},
  ...over,
});
const T0 = Date.parse("2026-01-01T00:00:00.000Z");

describe("Ledger", () => {
  it.each([
    { name: "exited with a code", obs: [insp({ state: "exited", exit_code: 2 })], bad: 1, reason: "container exited with code 2" },
    { name: "exited without a code", obs: [insp({ state: "dead" })], bad: 1, reason: "container exited" },
    {
      name: "restart count climbing",
      obs: [insp({}), insp({ restart_count: 1 })],
      bad: 1,
      reason: "container is restarting (restart count 1)",
    },
    {
      name: "restarting",
      obs: [insp({ state: "restarting", restart_count: 4 })],
      bad: 1,
      reason: "container is restarting (restart count 4)",
    },
    {
      name: "restarting with a known exit code",
      obs: [insp({ state: "restarting", exit_code: 9 })],
      bad: 1,
      reason: "container exited with code 9",
    },
    { name: "running quietly", obs: [insp({}), insp({})], bad: 0, reason: undefined },
  ])("judges $name", ({ obs, bad, reason }) => {
    const l = new Ledger();
    let o: ReturnType<Ledger["observe"]> | undefined;
    for (const i of obs) o = l.observe("s1", starting, 0, "c1", i, T0);
    expect(o!.bad).toBe(bad);
    expect(o!.reason).toBe(reason);
  });

  it("counts the same inspection once, however many passes read it", () => {
    const l = new Ledger();
    const i = insp({ state: "restarting" });
    l.observe("s1", starting, 0, "c1", i, T0);
    expect(l.observe("s1", starting, 0, "c1", i, T0).bad).toBe(1);
    expect(l.observe("s1", starting, 0, "c1", insp({ state: "restarting" }), T0).bad).toBe(2);
  });

  it("is ready only after the stable window, and a restart starts the window again", () => {
    const l = new Ledger();
    const o = l.observe("s1", starting, 0, "c1", insp({}), T0 + 5_000);
    expect(Ledger.ready(o, T0 + 9_999, 10_000)).toBe(false);
    expect(Ledger.ready(o, T0 + 10_000, 10_000)).toBe(true);
    const again = l.observe("s1", starting, 0, "c1", insp({ restart_count: 1, started_at: "2026-01-01T00:00:20.000Z" }), T0 + 20_000);
    expect(Ledger.ready(again, T0 + 40_000, 10_000)).toBe(false);
    const quiet = l.observe("s1", starting, 0, "c1", insp({ restart_count: 1, started_at: "2026-01-01T00:00:20.000Z" }), T0 + 30_000);
    expect(Ledger.ready(quiet, T0 + 30_000, 10_000)).toBe(true);
  });

  it("keeps counting restarts across short runs, and clears them after a run of the window", () => {
    // A loaded engine: each crash shows as "running" for a while before Docker notices the exit.
    const l = new Ledger(10_000);
    const at = (s: number) => `2026-01-01T00:00:${String(s).padStart(2, "0")}.000Z`;
    l.observe("s1", starting, 0, "c1", insp({ started_at: at(0) }), T0 + 1_000);
    expect(l.observe("s1", starting, 0, "c1", insp({ restart_count: 1, started_at: at(4) }), T0 + 5_000).bad).toBe(1);
    expect(l.observe("s1", starting, 0, "c1", insp({ restart_count: 1, started_at: at(4) }), T0 + 7_000).bad).toBe(1);
    expect(l.observe("s1", starting, 0, "c1", insp({ restart_count: 2, started_at: at(8) }), T0 + 9_000).bad).toBe(2);
    expect(l.observe("s1", starting, 0, "c1", insp({ restart_count: 2, started_at: at(8) }), T0 + 11_000).bad).toBe(2);
    const third = l.observe("s1", starting, 0, "c1", insp({ restart_count: 3, started_at: at(12) }), T0 + 13_000);
    expect(third.bad).toBe(3);
    // A run that lasts the window is good again, and ready.
    const settled = l.observe("s1", starting, 0, "c1", insp({ restart_count: 3, started_at: at(12) }), T0 + 22_000);
    expect(settled.bad).toBe(0);
    expect(Ledger.ready(settled, T0 + 22_000, 10_000)).toBe(true);
  });

  it("starts a healthy deployment's replica from the stored baseline", () => {
    const l = new Ledger();
    const healthy = { id: "d1", status: "healthy" as const, baseline_restart_count: 3 };
    expect(l.observe("s1", healthy, 0, "c1", insp({ restart_count: 3 }), T0).bad).toBe(0);
    const l2 = new Ledger();
    expect(l2.observe("s1", healthy, 0, "c1", insp({ restart_count: 4 }), T0).bad).toBe(1);
  });
});
