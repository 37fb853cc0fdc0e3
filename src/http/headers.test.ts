import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type Harness, type Overrides, startServer } from "../../test/http/harness.ts";

let h: Harness | undefined;
let dir: string | undefined;
afterEach(async () => {
  await h?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  h = undefined;
  dir = undefined;
});

async function start(o: Overrides = {}) {
  dir = mkdtempSync(join(tmpdir(), "dk-spa-"));
  mkdirSync(join(dir, "assets"));
  writeFileSync(join(dir, "index.html"), '<!doctype html><script type="module" src="/assets/app.js"></script>');
  writeFileSync(join(dir, "assets", "app.js"), "console.log(1)");
  h = await startServer({ spaDir: dir, ...o });
  return h;
}

const PATHS = ["/", "/projects/x", "/assets/app.js", "/api/health", "/api/projects", "/api/nope", "/api/docs", "/api/openapi.json"];

describe("security headers", () => {
  it.each(PATHS)("%s carries CSP (script-src 'self', frame-ancestors 'none'), X-Frame-Options, Referrer-Policy, nosniff", async (path) => {
    await start();
    const r = await fetch(`${h?.url}${path}`, { redirect: "manual" });
    const csp = r.headers.get("content-security-policy") ?? "";
    const directives = new Map(
      csp
        .split(";")
        .map((d) => d.trim().split(/\s+/) as [string, ...string[]])
        .map(([k, ...v]) => [k, v]),
    );
    expect(directives.get("script-src")).toEqual(["'self'"]);
    expect(directives.get("frame-ancestors")).toEqual(["'none'"]);
    expect(directives.get("object-src")).toEqual(["'none'"]);
    expect(r.headers.get("x-frame-options")).toBe("DENY");
    expect(r.headers.get("referrer-policy")).toBe("no-referrer");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("strict-transport-security")).toBeNull();
  });

  it("sends HSTS only over HTTPS (here: a trusted proxy's X-Forwarded-Proto)", async () => {
    await start({ trustProxy: 1 });
    const https = await fetch(`${h?.url}/api/health`, { headers: { "x-forwarded-proto": "https" } });
    expect(https.headers.get("strict-transport-security")).toBe("max-age=31536000");
    const http = await fetch(`${h?.url}/api/health`);
    expect(http.headers.get("strict-transport-security")).toBeNull();
  });

  it("the SPA's index.html has no inline script (CSP would block it)", () => {
    const html = readFileSync(new URL("../../frontend/index.html", import.meta.url), "utf8");
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc=/);
      expect(body?.trim()).toBe("");
    }
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });
});
