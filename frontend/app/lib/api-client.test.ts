import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, api, errorText } from "./api-client.ts";
import { getAccessToken, getRefreshToken, onTokensChange, setTokens } from "./tokens.ts";

class MemoryStorage {
  private m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

describe("api client", () => {
  let refreshCalls = 0;
  beforeEach(() => {
    refreshCalls = 0;
    vi.stubGlobal("localStorage", new MemoryStorage());
    setTokens({ access_token: "dka_old", refresh_token: "dkr_old", expires_at: new Date(Date.now() + 60_000).toISOString() });
  });
  afterEach(() => vi.unstubAllGlobals());

  it("refreshes once for many concurrent 401s and retries each with the new token", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit) => {
        if (url === "/api/auth/refresh") {
          refreshCalls++;
          expect(JSON.parse(String(init.body))).toEqual({ refresh_token: "dkr_old" });
          await new Promise((r) => setTimeout(r, 20));
          return json(200, { access_token: "dka_new", refresh_token: "dkr_new", expires_at: new Date(Date.now() + 900_000).toISOString() });
        }
        const auth = new Headers(init.headers).get("Authorization");
        return auth === "Bearer dka_new" ? json(200, { url }) : json(401, { error: "unauthorized", message: "Invalid or expired token." });
      }),
    );
    const heard: (string | null)[] = [];
    const off = onTokensChange((t) => heard.push(t));
    const results = await Promise.all([api<{ url: string }>("/api/a"), api<{ url: string }>("/api/b"), api<{ url: string }>("/api/c")]);
    off();
    expect(results.map((r) => r.url)).toEqual(["/api/a", "/api/b", "/api/c"]);
    expect(refreshCalls).toBe(1);
    expect(getAccessToken()).toBe("dka_new");
    expect(getRefreshToken()).toBe("dkr_new");
    expect(heard).toEqual(["dka_new"]);
  });

  it("drops the tokens when the refresh is refused and surfaces the 401", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) =>
        url === "/api/auth/refresh"
          ? json(401, { error: "unauthorized", message: "Invalid refresh token." })
          : json(401, { error: "unauthorized", message: "Invalid or expired token." }),
      ),
    );
    await expect(api("/api/x")).rejects.toMatchObject({ status: 401, code: "unauthorized" });
    expect(getAccessToken()).toBeNull();
    expect(getRefreshToken()).toBeNull();
  });

  it("maps the error envelope, field errors and Retry-After", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) =>
        url === "/api/v"
          ? json(422, { error: "invalid", message: "Validation failed.", errors: { name: ["Name is required."] } })
          : json(429, { error: "rate_limited", message: "Too many login attempts." }, { "Retry-After": "30" }),
      ),
    );
    const v = (await api("/api/v").catch((e) => e)) as ApiError;
    expect(v).toBeInstanceOf(ApiError);
    expect(v.field("name")).toBe("Name is required.");
    expect(errorText(v)).toBe("Name is required.");
    const r = (await api("/api/r", { anonymous: true }).catch((e) => e)) as ApiError;
    expect([r.status, r.retryAfterSeconds]).toEqual([429, 30]);
    expect(errorText(r)).toBe("Too many login attempts. Try again in 30s.");
  });

  it("returns undefined for 204", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => new Response(null, { status: 204 })),
    );
    expect(await api("/api/x", { method: "DELETE" })).toBeUndefined();
  });
});

describe("refresh across tabs", () => {
  beforeEach(() => {
    vi.stubGlobal("localStorage", new MemoryStorage());
    setTokens({ access_token: "dka_old", refresh_token: "dkr_old", expires_at: new Date(Date.now() + 60_000).toISOString() });
  });
  afterEach(() => vi.unstubAllGlobals());

  it("uses a pair another tab rotated while it waited for the lock instead of presenting the old one", async () => {
    const calls: string[] = [];
    // A lock held by "another tab" that rotates the stored pair before letting us in.
    vi.stubGlobal("navigator", {
      locks: {
        request: async (_name: string, fn: () => Promise<boolean>) => {
          setTokens({ access_token: "dka_other", refresh_token: "dkr_other", expires_at: new Date(Date.now() + 900_000).toISOString() });
          return fn();
        },
      },
    });
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit) => {
        calls.push(url);
        if (url === "/api/auth/refresh") return json(500, {});
        return new Headers(init.headers).get("Authorization") === "Bearer dka_other"
          ? json(200, { ok: true })
          : json(401, { error: "unauthorized", message: "x" });
      }),
    );
    expect(await api("/api/me")).toEqual({ ok: true });
    expect(calls).toEqual(["/api/me", "/api/me"]);
  });
});
