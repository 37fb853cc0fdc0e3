/**
 * Deny by default: walks the server's real route table (hidden routes included) and fails when a route
 * is neither on the public list below nor refuses an anonymous caller with 401.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startServer } from "../../test/http/harness.ts";

/** Reviewed on purpose: adding a public route means adding it here. */
const PUBLIC = [
  "GET /api/health",
  "GET /api/auth/register",
  "POST /api/auth/register",
  "POST /api/auth/login",
  "POST /api/auth/refresh",
  // Device login (deploykit login): starting one is worth nothing until a signed-in user approves it;
  // polling needs the secret device code.
  "POST /api/auth/device",
  "POST /api/auth/device/token",
  "GET /api/openapi.json",
  "GET /api/projects/:projectId/canvas/ws",
  // Authenticates with its first frame like the canvas socket (shell.ts).
  "GET /api/projects/:projectId/services/:serviceId/shell",
  "OPTIONS *",
  // Prometheus' scrape: checks an API key itself (a session token is 403), or is not served (-metrics-endpoint=false).
  "GET /metrics",
];
const DOCS = /^\/api\/docs(\/|$)/;

let h: Harness;
beforeAll(async () => {
  h = await startServer();
});
afterAll(async () => {
  await h.close();
});

const routes = () => h.server.routeTable.filter((r) => r.method !== "HEAD");

describe("deny by default", () => {
  it("the public routes are exactly the reviewed list (plus the docs UI)", () => {
    const pub = routes()
      .filter((r) => r.public && !DOCS.test(r.url))
      .map((r) => `${r.method} ${r.url}`);
    expect(pub.sort()).toEqual([...PUBLIC].sort());
  });

  it("every other route answers an anonymous caller 401", async () => {
    const closed = routes().filter((r) => !r.public);
    expect(closed.length).toBeGreaterThan(40);
    const open: string[] = [];
    for (const r of closed) {
      const path = r.url.replace(/:[A-Za-z_]+/g, "x");
      const res = await fetch(`${h.url}${path}`, {
        method: r.method,
        headers: r.method === "GET" || r.method === "DELETE" ? {} : { "content-type": "application/json" },
        body: r.method === "GET" || r.method === "DELETE" ? undefined : "{}",
      });
      if (res.status !== 401) open.push(`${r.method} ${r.url} → ${res.status}`);
    }
    expect(open).toEqual([]);
  });
});
