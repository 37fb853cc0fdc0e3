import { afterEach, describe, expect, it, vi } from "vitest";
import { WorkQueue } from "./queue.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("WorkQueue", () => {
  it("hands keys out first in, first out", async () => {
    const q = new WorkQueue<string>();
    q.add("a");
    q.add("b");
    q.add("c");
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBe("b");
    expect(await q.get()).toBe("c");
  });

  it("queues a key at most once", async () => {
    const q = new WorkQueue<string>();
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.length).toBe(2);
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBe("b");
    expect(q.length).toBe(0);
  });

  it("re-queues a key added while it was processed, only once it is done", async () => {
    const q = new WorkQueue<string>();
    q.add("a");
    const key = await q.get();
    q.add("a");
    q.add("a");
    expect(q.length).toBe(0);
    q.done(key!);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe("a");
    q.done("a");
    expect(q.length).toBe(0);
  });

  it("never hands one key to two workers at once", async () => {
    const q = new WorkQueue<string>();
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const worker = async () => {
      for (;;) {
        const k = await q.get();
        if (k === undefined) return;
        active++;
        maxActive = Math.max(maxActive, active);
        runs++;
        await new Promise((r) => setTimeout(r, 5));
        active--;
        q.done(k);
      }
    };
    const workers = [worker(), worker(), worker()];
    for (let i = 0; i < 5; i++) {
      q.add("same");
      await new Promise((r) => setTimeout(r, 2));
    }
    await new Promise((r) => setTimeout(r, 40));
    q.shutdown();
    await Promise.all(workers);
    expect(maxActive).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(2);
  });

  it("wakes blocked getters on shutdown and ignores later adds", async () => {
    const q = new WorkQueue<string>();
    const pending = [q.get(), q.get()];
    q.shutdown();
    expect(await Promise.all(pending)).toEqual([undefined, undefined]);
    q.add("a");
    expect(q.length).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it("adds a key after a delay, and shutdown cancels it", async () => {
    vi.useFakeTimers();
    const q = new WorkQueue<string>();
    q.addAfter("a", 500);
    expect(q.length).toBe(0);
    vi.advanceTimersByTime(499);
    expect(q.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.length).toBe(1);

    const q2 = new WorkQueue<string>();
    q2.addAfter("b", 100);
    q2.shutdown();
    vi.advanceTimersByTime(1_000);
    expect(q2.length).toBe(0);
  });

  it("backs off 1 s doubling to 30 s, and forget resets it", async () => {
    const q = new WorkQueue<string>();
    const delays = Array.from({ length: 8 }, () => q.backoff("a"));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(q.backoff("b")).toBe(1_000);
    q.forget("a");
    expect(q.failures("a")).toBe(0);
    expect(q.backoff("a")).toBe(1_000);
  });

  it("addRateLimited waits the backoff delay", async () => {
    vi.useFakeTimers();
    const q = new WorkQueue<string>({ backoffBaseMs: 100, backoffMaxMs: 300 });
    q.addRateLimited("a");
    vi.advanceTimersByTime(99);
    expect(q.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe("a");
    q.done("a");
    q.addRateLimited("a");
    vi.advanceTimersByTime(199);
    expect(q.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.length).toBe(1);
  });
});
