import { afterEach, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, type Harness, startServer } from "../../test/http/harness.ts";
import type * as deploykit from "../index.ts";
import * as mock from "../mock/index.ts";

// D04: a hung dockerd holds every request that asks it for up to the call deadline; the number of
// such requests is bounded, and beyond the bound they are refused at once with 503 + Retry-After.

let h: Harness;
afterEach(async () => {
  await h?.close();
});

async function get(path: string): Promise<{ status: number; retryAfter: string | null; body: unknown; ms: number }> {
  const t0 = performance.now();
  const r = await fetch(h.url + path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const body = await r.json();
  return { status: r.status, retryAfter: r.headers.get("retry-after"), body, ms: performance.now() - t0 };
}

describe("requests waiting on Docker are bounded (D04)", () => {
  it("fills to the bound while Docker hangs, refuses beyond it in under 100 ms with 503 and Retry-After, and recovers", async () => {
    const hung: (() => void)[] = [];
    const status = { host: {}, docker: { reachable: true }, deploykit: {} } as unknown as deploykit.SystemStatus;
    const hang = <T>(v: T) => new Promise<T>((resolve) => hung.push(() => resolve(v)));
    h = await startServer({
      system: mock.SystemService({ status: () => hang(status), about: () => hang({} as deploykit.SystemAbout) }),
      reconciler: mock.Reconciler(),
      limits: { dockerWaiting: 4 },
    });
    const waiting = [get("/api/system/status"), get("/api/system/status"), get("/api/system/about"), get("/api/system/status")];
    while (hung.length < 4) await new Promise((r) => setTimeout(r, 10));

    for (const path of ["/api/system/status", "/api/system/about"]) {
      // Refused without waiting on Docker (which never answers here). On a machine saturated by the
      // other test lanes one round trip can stall, so the fastest of five refusals is held to 100 ms.
      const tries: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await get(path);
        expect(r.status, path).toBe(503);
        expect(r.retryAfter).toBe("5");
        expect(r.body).toEqual({
          error: "unavailable",
          message: "Docker is not answering: 4 requests are already waiting for it. Try again shortly.",
        });
        tries.push(r.ms);
      }
      expect(Math.min(...tries), `${path}: ${tries.map((ms) => ms.toFixed(0)).join(", ")} ms`).toBeLessThan(100);
    }

    for (const release of hung.splice(0)) release();
    expect((await Promise.all(waiting)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    // The bound is free again.
    const again = get("/api/system/status");
    while (hung.length < 1) await new Promise((r) => setTimeout(r, 10));
    hung.splice(0).forEach((release) => {
      release();
    });
    expect((await again).status).toBe(200);
  });
});
