/**
 * A fresh deploykitd as an attacker on the network sees it: the first admin can only be claimed with
 * the one-time setup token from the data directory (or the log), and no other origin may call the API.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ADMIN, Daemon } from "../harness/daemon.ts";

describe("first-run setup token", () => {
  it("is written 0600 and logged as a URL; registering needs it (403 without), then the file is gone", async () => {
    const d = await Daemon.start({ register: false });
    try {
      const file = join(d.dataDir, "setup-token");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const token = d.setupToken();
      expect(token).toMatch(/^dks_[A-Za-z0-9_-]{43}$/);
      expect(d.log()).toContain(`http://127.0.0.1:${d.port}/setup?token=${token}`);

      for (const setup_token of [undefined, "", "dks_guess", token.slice(0, -1)]) {
        const r = await d.request("POST", "/api/auth/register", { token: null, body: { ...ADMIN, setup_token } });
        expect([r.status, r.body.error]).toEqual([403, "forbidden"]);
      }
      // A web page on another origin gets no CORS grant to read anything back.
      const cross = await fetch(`${d.url}/api/auth/register`, { headers: { origin: "https://evil.test" } });
      expect(cross.headers.get("access-control-allow-origin")).toBeNull();

      // The token survives a restart until it is used.
      await d.restart();
      expect(d.setupToken()).toBe(token);
      const ok = await d.request("POST", "/api/auth/register", { token: null, body: { ...ADMIN, setup_token: token } });
      expect(ok.status).toBe(201);
      expect(existsSync(file)).toBe(false);
      await d.restart();
      expect(existsSync(file)).toBe(false);
      const again = await d.request("POST", "/api/auth/register", {
        token: null,
        body: { ...ADMIN, email: "eve@x.test", setup_token: token },
      });
      expect(again.status).toBe(409);
    } finally {
      await d.destroy();
    }
  }, 60_000);
});
