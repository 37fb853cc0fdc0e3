import { describe, expect, it, vi } from "vitest";
import * as deploykit from "../index.ts";
import { EventBus } from "./bus.ts";

function ev(n: number): deploykit.Event {
  return deploykit.newEvent(deploykit.EVENT_SERVICE_DELETED, "p1", { service_id: `s${n}` });
}

function serviceID(e: deploykit.Event): string {
  return (e.payload as { service_id: string }).service_id;
}

/** Waits until `cond` holds, polling on timers (handlers run on microtasks and timers). */
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A logger that records warn/error calls. */
function recordingLogger(): deploykit.Logger & { warns: unknown[]; errors: unknown[] } {
  const l = {
    warns: [] as unknown[],
    errors: [] as unknown[],
    trace() {},
    debug() {},
    info() {},
    warn(obj: unknown) {
      l.warns.push(obj);
    },
    error(obj: unknown) {
      l.errors.push(obj);
    },
    child() {
      return l;
    },
  };
  return l;
}

describe("EventBus", () => {
  it("fans out every event to every subscriber, in order", async () => {
    const bus = new EventBus();
    const a: string[] = [];
    const b: string[] = [];
    bus.subscribe((e) => {
      a.push(serviceID(e));
    });
    bus.subscribe(async (e) => {
      await new Promise((r) => setTimeout(r, 1));
      b.push(serviceID(e));
    });
    for (let i = 0; i < 20; i++) bus.publish(ev(i));
    const want = Array.from({ length: 20 }, (_, i) => `s${i}`);
    await until(() => a.length === 20 && b.length === 20);
    expect(a).toEqual(want);
    expect(b).toEqual(want);
  });

  it("delivers asynchronously, never inside publish", () => {
    const bus = new EventBus();
    let got = 0;
    bus.subscribe(() => {
      got++;
    });
    bus.publish(ev(1));
    expect(got).toBe(0);
  });

  it("stamps `at` when empty and keeps a given one", async () => {
    const bus = new EventBus();
    const got: deploykit.Event[] = [];
    bus.subscribe((e) => {
      got.push(e);
    });
    const before = Date.now();
    bus.publish(ev(1));
    bus.publish({ ...ev(2), at: "2020-01-02T03:04:05.000Z" });
    await until(() => got.length === 2);
    expect(got[0]!.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(got[0]!.at!)).toBeGreaterThanOrEqual(before - 1);
    expect(got[1]!.at).toBe("2020-01-02T03:04:05.000Z");
  });

  it("drops events for a full subscriber, counts them and logs once", async () => {
    const logger = recordingLogger();
    const bus = new EventBus({ logger });
    const got: string[] = [];
    const sub = bus.subscribe(
      (e) => {
        got.push(serviceID(e));
      },
      { bufferSize: 1 },
    );
    for (let i = 0; i < 10; i++) bus.publish(ev(i));
    await vi.waitFor(() => expect(got).toEqual(["s0"]));
    expect(sub.dropped).toBe(9);
    expect(logger.warns).toHaveLength(1);
  });

  it("uses the default buffer size when none is given", async () => {
    const bus = new EventBus({ defaultBufferSize: 3 });
    const got: string[] = [];
    const sub = bus.subscribe((e) => {
      got.push(serviceID(e));
    });
    for (let i = 0; i < 5; i++) bus.publish(ev(i));
    await vi.waitFor(() => expect(got).toEqual(["s0", "s1", "s2"]));
    expect(sub.dropped).toBe(2);
  });

  it("never lets a blocked subscriber delay another", async () => {
    const bus = new EventBus({ defaultBufferSize: 4 });
    const blocked = bus.subscribe(() => new Promise<void>(() => {}));
    const fast: string[] = [];
    bus.subscribe((e) => {
      fast.push(serviceID(e));
    });
    for (let i = 0; i < 100; i++) {
      bus.publish(ev(i));
      if (i % 3 === 0) await new Promise((r) => setTimeout(r, 0));
    }
    await until(() => fast.length === 100);
    expect(fast[99]).toBe("s99");
    // The blocked one holds its first event forever; its buffer filled up and the rest were dropped.
    expect(blocked.dropped).toBe(100 - 1 - 4);
  });

  it("isolates a throwing handler: publish does not throw and others still receive", async () => {
    const logger = recordingLogger();
    const bus = new EventBus({ logger });
    let throwerCalls = 0;
    bus.subscribe(() => {
      throwerCalls++;
      throw new Error("boom");
    });
    bus.subscribe(async () => {
      throw new Error("async boom");
    });
    const got: string[] = [];
    bus.subscribe((e) => {
      got.push(serviceID(e));
    });
    expect(() => {
      bus.publish(ev(1));
      bus.publish(ev(2));
    }).not.toThrow();
    await until(() => got.length === 2 && throwerCalls === 2 && logger.errors.length === 4);
    expect(got).toEqual(["s1", "s2"]);
  });

  it("close is idempotent and stops delivery", async () => {
    const bus = new EventBus();
    const got: string[] = [];
    const sub = bus.subscribe((e) => {
      got.push(serviceID(e));
    });
    bus.publish(ev(1));
    sub.close();
    sub.close();
    bus.publish(ev(2));
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual([]);
    expect(bus.subscriberCount).toBe(0);
  });

  it("bus close is idempotent; publish after close is ignored and subscribe gives a closed subscription", async () => {
    const bus = new EventBus();
    const got: string[] = [];
    bus.subscribe((e) => {
      got.push(serviceID(e));
    });
    bus.close();
    bus.close();
    expect(() => bus.publish(ev(1))).not.toThrow();
    const late = bus.subscribe((e) => {
      got.push(serviceID(e));
    });
    bus.publish(ev(2));
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual([]);
    expect(late.dropped).toBe(0);
    expect(bus.subscriberCount).toBe(0);
  });
});
