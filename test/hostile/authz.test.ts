import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CanvasClient } from "../harness/canvas.ts";
import { ADMIN, Daemon } from "../harness/daemon.ts";
import { HOST_SOCKET } from "../harness/dockerd.ts";
import { removeInstanceObjects } from "../harness/images.ts";
import { sleep } from "../harness/wait.ts";

// Authorization matrix (catalogue A01, A03–A06, A08–A10, A13, A16): every route of the OpenAPI
// document is classified in POLICY below (a route missing from it fails the test), then called by
// anonymous, forged, expired, refreshed-away, revoked and deleted-user callers (401; 13 kinds), by a member
// (403 on admin routes only) and by the admin. Plus refresh-token reuse and races, the first-user
// registration race, and login rate limiting that forwarded headers cannot dodge.

const PUBLIC = new Set([
  "GET /api/health",
  "GET /api/auth/register",
  "POST /api/auth/register",
  "POST /api/auth/login",
  "POST /api/auth/refresh",
  // The CLI's device login: a code is asked for and polled without credentials (issue 17).
  "POST /api/auth/device",
  "POST /api/auth/device/token",
  // Push webhooks are authenticated by their HMAC signature or token, not a session (issue 13).
  "POST /api/webhooks/{serviceId}",
]);
/** Prometheus' scrape route takes an API key only: a session token is refused with 403 (issue 15). */
const API_KEY_ONLY = new Set(["GET /metrics"]);
const ADMIN_ONLY = new Set([
  "POST /api/users",
  "GET /api/users",
  "GET /api/users/{id}",
  "PATCH /api/users/{id}",
  "DELETE /api/users/{id}",
  "GET /api/system/about",
  "GET /api/system/status",
  "GET /api/system/shell-sessions",
  "PATCH /api/settings",
  "POST /api/system/backups",
  "GET /api/projects/{projectId}/services/{serviceId}/webhook",
  "POST /api/projects/{projectId}/services/{serviceId}/deploy-key",
  "PUT /api/projects/{projectId}/services/{serviceId}/git-token",
]);
/** Every other route needs a signed-in user of any role. Listed so that a new route must be classified. */
const ANY_USER = new Set([
  "POST /api/auth/logout",
  "POST /api/auth/logout-all",
  "GET /api/auth/me",
  "PATCH /api/auth/profile",
  "POST /api/projects",
  "GET /api/projects",
  "GET /api/projects/{projectId}",
  "PATCH /api/projects/{projectId}",
  "DELETE /api/projects/{projectId}",
  "POST /api/projects/{projectId}/services",
  "GET /api/projects/{projectId}/services",
  "GET /api/projects/{projectId}/services/{serviceId}",
  "PATCH /api/projects/{projectId}/services/{serviceId}",
  "DELETE /api/projects/{projectId}/services/{serviceId}",
  "POST /api/projects/{projectId}/services/{serviceId}/deployments",
  "POST /api/projects/{projectId}/services/{serviceId}/stop",
  "POST /api/projects/{projectId}/services/{serviceId}/start",
  "POST /api/projects/{projectId}/services/{serviceId}/restart",
  "POST /api/projects/{projectId}/services/{serviceId}/runs",
  "GET /api/projects/{projectId}/services/{serviceId}/runs",
  "GET /api/projects/{projectId}/services/{serviceId}/deployments",
  "GET /api/projects/{projectId}/services/{serviceId}/deployments/{deploymentId}",
  "POST /api/projects/{projectId}/services/{serviceId}/rollback",
  "GET /api/projects/{projectId}/services/{serviceId}/containers",
  "GET /api/projects/{projectId}/services/{serviceId}/logs",
  "GET /api/projects/{projectId}/services/{serviceId}/logs/search",
  "GET /api/projects/{projectId}/services/{serviceId}/logs/download",
  "GET /api/projects/{projectId}/services/{serviceId}/deployments/{deploymentId}/logs",
  "POST /api/projects/{projectId}/env-vars",
  "POST /api/projects/{projectId}/shared/env-vars",
  "GET /api/projects/{projectId}/shared/env-vars",
  "PATCH /api/projects/{projectId}/shared/env-vars/{envVarId}",
  "DELETE /api/projects/{projectId}/shared/env-vars/{envVarId}",
  "GET /api/projects/{projectId}/env-vars/raw",
  "PUT /api/projects/{projectId}/env-vars/raw",
  "GET /api/projects/{projectId}/shared/env-vars/raw",
  "PUT /api/projects/{projectId}/shared/env-vars/raw",
  "GET /api/projects/{projectId}/services/{serviceId}/env-vars/raw",
  "PUT /api/projects/{projectId}/services/{serviceId}/env-vars/raw",
  "GET /api/projects/{projectId}/groups/{groupId}/env-vars/raw",
  "PUT /api/projects/{projectId}/groups/{groupId}/env-vars/raw",
  "GET /api/projects/{projectId}/env-references",
  // deploykit run: any member; sealed values only reach admins (test/http/sealed.test.ts "run-env").
  "GET /api/projects/{projectId}/services/{serviceId}/run-env",
  "GET /api/projects/{projectId}/env-vars",
  "PATCH /api/projects/{projectId}/env-vars/{envVarId}",
  "DELETE /api/projects/{projectId}/env-vars/{envVarId}",
  "POST /api/projects/{projectId}/env-vars/{envVarId}/reveal",
  "POST /api/projects/{projectId}/services/{serviceId}/env-vars",
  "GET /api/projects/{projectId}/services/{serviceId}/env-vars",
  "PATCH /api/projects/{projectId}/services/{serviceId}/env-vars/{envVarId}",
  "DELETE /api/projects/{projectId}/services/{serviceId}/env-vars/{envVarId}",
  "POST /api/projects/{projectId}/services/{serviceId}/env-vars/{envVarId}/reveal",
  "POST /api/projects/{projectId}/groups/{groupId}/env-vars",
  "GET /api/projects/{projectId}/groups/{groupId}/env-vars",
  "PATCH /api/projects/{projectId}/groups/{groupId}/env-vars/{envVarId}",
  "DELETE /api/projects/{projectId}/groups/{groupId}/env-vars/{envVarId}",
  "POST /api/projects/{projectId}/groups/{groupId}/env-vars/{envVarId}/reveal",
  "POST /api/projects/{projectId}/pending-services/{tempId}/env-vars",
  "GET /api/projects/{projectId}/pending-changes",
  "DELETE /api/projects/{projectId}/pending-changes",
  "DELETE /api/projects/{projectId}/pending-changes/{changeId}",
  "POST /api/projects/{projectId}/deploy",
  "GET /api/presets/databases",
  "GET /api/presets/databases/{presetId}",
  "GET /api/api-keys",
  "POST /api/api-keys",
  "DELETE /api/api-keys/{id}",
  "GET /api/settings",
  "GET /api/projects/{projectId}/services/{serviceId}/domains",
  "POST /api/projects/{projectId}/services/{serviceId}/domains",
  "DELETE /api/projects/{projectId}/services/{serviceId}/domains/{domainId}",
  "GET /api/system/proxy/root.crt",
  "GET /api/auth/device/{userCode}",
  "POST /api/auth/device/{userCode}/approve",
  "POST /api/auth/device/{userCode}/deny",
  "POST /api/projects/{projectId}/shared/env-vars/{envVarId}/reveal",
  "GET /api/projects/{projectId}/services/{serviceId}/deployments/{deploymentId}/build-logs",
  "POST /api/projects/{projectId}/services/{serviceId}/redeploy",
  "POST /api/projects/{projectId}/services/{serviceId}/uploads",
  "GET /api/projects/{projectId}/services/{serviceId}/metrics",
  "GET /api/projects/{projectId}/metrics/summary",
]);
const SESSION_ENDERS = new Set(["POST /api/auth/logout", "POST /api/auth/logout-all"]);

const PASSWORD = "correct-horse-battery-staple";
let d: Daemon;
const routes: { method: string; path: string }[] = [];
let projectID = "";
const bad: Record<string, string | null> = {};
let member = { id: "", token: "" };

/** Random ids (the fixture project for non-deleting calls): authorization must be decided before any lookup. */
function fill(path: string, method = "GET"): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) =>
    name === "projectId" && projectID && method !== "DELETE" ? projectID : randomUUID(),
  );
}

async function call(method: string, path: string, auth: string | null, body: unknown = {}) {
  const headers: Record<string, string> = {};
  if (auth !== null) headers.authorization = auth;
  const hasBody = method === "POST" || method === "PATCH";
  return await d.request(method, path, { token: null, headers, body: hasBody ? body : undefined });
}

async function newMember(email: string): Promise<{ id: string; token: string; refresh: string }> {
  const u = await d.must("POST", "/api/users", 201, { body: { email, name: "m", password: PASSWORD, role: "member" } });
  const t = await d.login(email, PASSWORD);
  return { id: u.id, token: t.access_token, refresh: t.refresh_token };
}

beforeAll(async () => {
  d = await Daemon.start({ args: ["-cors-origin", "https://ui.test"] });
  const doc = await d.must("GET", "/api/openapi.json", 200);
  for (const [path, methods] of Object.entries<Record<string, unknown>>(doc.paths))
    for (const method of Object.keys(methods)) routes.push({ method: method.toUpperCase(), path });
  projectID = (await d.must("POST", "/api/projects", 201, { body: { name: "authz" } })).id;
  const m = await newMember("member@authz.test");
  member = { id: m.id, token: m.token };

  // The credential zoo. Each must be refused (401) on every non-public route.
  const valid = d.token;
  const flip = (t: string) => t.slice(0, -1) + (t.endsWith("A") ? "B" : "A");
  bad.anonymous = null;
  bad.garbage = "Bearer garbage";
  bad["empty bearer"] = "Bearer ";
  bad["basic auth"] = `Basic ${Buffer.from(`${ADMIN.email}:${ADMIN.password}`).toString("base64")}`;
  bad["forged (one char flipped)"] = `Bearer ${flip(valid)}`;
  bad["random dka_ token"] = `Bearer dka_${randomBytes(32).toString("base64url")}`;
  bad["refresh token as bearer"] = `Bearer ${d.refreshToken}`;
  bad["token with trailing garbage"] = `Bearer ${valid}x`;
  const key = await d.must("POST", "/api/api-keys", 201, {
    body: { description: "expiring", expires_at: new Date(Date.now() + 1500).toISOString() },
  });
  const gone = await d.must("POST", "/api/api-keys", 201, { body: { description: "revoked" } });
  await d.must("DELETE", `/api/api-keys/${gone.id}`, 204);
  bad["revoked API key"] = `Bearer ${gone.key}`;
  const l1 = await d.login();
  await d.must("POST", "/api/auth/refresh", 200, { body: { refresh_token: l1.refresh_token }, token: null });
  bad["refreshed-away access token"] = `Bearer ${l1.access_token}`;
  const l2 = await d.login();
  await d.must("POST", "/api/auth/logout", 204, { token: l2.access_token });
  bad["logged-out access token"] = `Bearer ${l2.access_token}`;
  const doomed = await newMember("doomed@authz.test");
  await d.must("DELETE", `/api/users/${doomed.id}`, 204);
  bad["deleted user's token"] = `Bearer ${doomed.token}`;
  await sleep(Math.max(0, Date.parse(key.expires_at) - Date.now() + 300));
  bad["expired API key"] = `Bearer ${key.key}`;
}, 60_000);

afterAll(async () => {
  const instance = d ? d.instanceID() : null;
  await d?.destroy();
  if (instance) await removeInstanceObjects(HOST_SOCKET, instance);
});

describe("authorization matrix", () => {
  it("every route is classified in the policy table", () => {
    const unknown = routes
      .map((r) => `${r.method} ${r.path}`)
      .filter((k) => !PUBLIC.has(k) && !ADMIN_ONLY.has(k) && !ANY_USER.has(k) && !API_KEY_ONLY.has(k));
    expect(unknown).toEqual([]);
    expect(routes.length).toBeGreaterThan(40);
  });

  it("anonymous, forged, expired, refreshed-away, revoked and deleted-user callers get 401 on every non-public route", async () => {
    const wrong: string[] = [];
    for (const r of routes) {
      const k = `${r.method} ${r.path}`;
      if (PUBLIC.has(k)) continue;
      for (const [who, auth] of Object.entries(bad)) {
        const res = await call(r.method, fill(r.path, r.method), auth);
        if (res.status !== 401) wrong.push(`${who}: ${k} → ${res.status}`);
        else expect(res.body.error).toBe("unauthorized");
      }
    }
    expect(wrong).toEqual([]);
    // A 100 KB token is refused cheaply, not parsed at length.
    const huge = await call("GET", "/api/projects", `Bearer dka_${"a".repeat(100_000)}`);
    expect([401, 431]).toContain(huge.status);
  });

  it("a member is refused (403) exactly on the admin routes and allowed on the others", async () => {
    const wrong: string[] = [];
    for (const r of routes) {
      const k = `${r.method} ${r.path}`;
      if (PUBLIC.has(k) || SESSION_ENDERS.has(k)) continue;
      const res = await call(r.method, fill(r.path, r.method), `Bearer ${member.token}`);
      if (ADMIN_ONLY.has(k) || API_KEY_ONLY.has(k) ? res.status !== 403 : res.status === 401 || res.status === 403)
        wrong.push(`${k} → ${res.status}`);
    }
    expect(wrong).toEqual([]);
    // Encoded and reshaped admin paths never reach an admin handler for a member.
    for (const path of [
      "/api/users/",
      "//api/users",
      "/API/users",
      "/api/users%2F",
      "/api/./users",
      "/api/system/status/",
      "/api/System/about",
    ]) {
      const res = await call("GET", path, `Bearer ${member.token}`);
      // Paths outside /api/ fall through to the SPA (an HTML page), never to the users handler.
      expect(res.status === 200 && !/^text\/html/.test(res.headers.get("content-type") ?? ""), `${path} → ${res.status}`).toBe(false);
      expect(res.text, path).not.toContain("member@authz.test");
    }
    // Mass assignment: a member cannot make itself admin through its profile.
    await call("PATCH", "/api/auth/profile", `Bearer ${member.token}`, { role: "admin", is_admin: true });
    expect((await call("GET", "/api/auth/me", `Bearer ${member.token}`)).body.role).toBe("member");
  });

  it("the admin is authorized on every route", async () => {
    const wrong: string[] = [];
    for (const r of routes) {
      const k = `${r.method} ${r.path}`;
      if (SESSION_ENDERS.has(k) || PUBLIC.has(k) || API_KEY_ONLY.has(k)) continue;
      const res = await call(r.method, fill(r.path, r.method), `Bearer ${d.token}`);
      if (res.status === 401 || res.status === 403) wrong.push(`${k} → ${res.status}`);
      expect(res.status, k).toBeLessThan(500);
    }
    expect(wrong).toEqual([]);
  });

  it("canvas WebSocket: bad credentials close with 4001, a foreign Origin is refused before the upgrade, a deleted member is cut off", async () => {
    for (const [who, auth] of Object.entries(bad)) {
      const c = new CanvasClient(d.url, projectID);
      await c.opened();
      c.send("auth", { token: auth?.replace(/^(Bearer|Basic) /, "") ?? "" });
      expect((await c.closed).code, who).toBe(4001);
    }
    const anon = new CanvasClient(d.url, projectID);
    await anon.opened();
    anon.send("node:delete", { id: randomUUID() });
    expect((await anon.closed).code).toBe(4001);

    const evil = new CanvasClient(d.url, projectID, { origin: "https://evil.test" });
    await expect(evil.opened()).rejects.toThrow(/40[13]/);
    const ok = await CanvasClient.join(d.url, projectID, d.token);
    ok.close();

    const m = await newMember("ws-member@authz.test");
    const ws = await CanvasClient.join(d.url, projectID, m.token);
    await d.must("DELETE", `/api/users/${m.id}`, 204);
    await sleep(5200); // the hub re-checks a token at most every 5 s
    ws.send("cursor:move", { x: 1, y: 1 });
    expect((await Promise.race([ws.closed, sleep(5000).then(() => null)]))?.code).toBe(4001);
  });

  it("refresh tokens: reuse of a rotated token revokes the session; concurrent refreshes yield one successor", async () => {
    const s = await d.login();
    const r2 = await d.must("POST", "/api/auth/refresh", 200, { body: { refresh_token: s.refresh_token }, token: null });
    expect((await d.request("POST", "/api/auth/refresh", { body: { refresh_token: s.refresh_token }, token: null })).status).toBe(401);
    expect((await d.request("POST", "/api/auth/refresh", { body: { refresh_token: r2.refresh_token }, token: null })).status).toBe(401);
    expect((await d.request("GET", "/api/auth/me", { token: r2.access_token })).status).toBe(401);
    // Other sessions of the same user are unaffected.
    expect((await d.request("GET", "/api/auth/me")).status).toBe(200);

    const race = await d.login();
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        d.request("POST", "/api/auth/refresh", { body: { refresh_token: race.refresh_token }, token: null }),
      ),
    );
    const winners = answers.filter((a) => a.status === 200);
    expect(winners).toHaveLength(1);
    expect(answers.every((a) => a.status === 200 || a.status === 401)).toBe(true);
  });

  it("login rate limit: forwarded headers and email variants share one bucket, the right password is refused too (429 + Retry-After)", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await d.request("POST", "/api/auth/login", {
        token: null,
        body: { email: i % 2 ? ADMIN.email.toUpperCase() : ` ${ADMIN.email} `, password: `wrong-${i}-password` },
        headers: { "x-forwarded-for": `203.0.113.${i}`, "x-real-ip": `198.51.100.${i}`, forwarded: `for=192.0.2.${i}` },
      });
      expect([401, 422]).toContain(r.status);
    }
    const sixth = await d.request("POST", "/api/auth/login", {
      token: null,
      body: { email: ADMIN.email, password: ADMIN.password },
      headers: { "x-forwarded-for": "203.0.113.99" },
    });
    expect(sixth.status).toBe(429);
    expect(Number(sixth.headers.get("retry-after"))).toBeGreaterThan(0);
    // Signed-in traffic is not limited by it.
    expect((await d.request("GET", "/api/auth/me")).status).toBe(200);
  });
});

describe("first-user registration", () => {
  it("50 concurrent registrations on an empty database create exactly one admin; the window stays closed after a restart", async () => {
    const fresh = await Daemon.start({ register: false });
    try {
      const setup_token = fresh.setupToken();
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          fresh.request("POST", "/api/auth/register", {
            token: null,
            body: { email: `u${i}@race.test`, name: `u${i}`, password: PASSWORD, setup_token },
          }),
        ),
      );
      const created = answers.filter((a) => a.status === 201);
      expect(created).toHaveLength(1);
      expect(answers.every((a) => [201, 409, 429].includes(a.status))).toBe(true);
      expect(created[0]!.body.user.role).toBe("admin");
      expect(fresh.withDB((db) => (db.prepare("SELECT count(*) AS n FROM users").get() as { n: number }).n)).toBe(1);
      await fresh.restart();
      expect((await fresh.request("GET", "/api/auth/register", { token: null })).body.can_register).toBe(false);
      const again = await fresh.request("POST", "/api/auth/register", {
        token: null,
        body: { email: "late@race.test", name: "late", password: PASSWORD, setup_token },
      });
      expect([409, 429]).toContain(again.status);
      // A password spray over many emails from one address trips the per-address limit.
      const spray = [];
      for (let i = 0; i < 22; i++)
        spray.push(
          (
            await fresh.request("POST", "/api/auth/login", {
              token: null,
              body: { email: `v${i}@spray.test`, password: "wrong-password-1" },
            })
          ).status,
        );
      expect(spray.slice(0, 20).every((s) => s === 401)).toBe(true);
      expect(spray.slice(20)).toEqual([429, 429]);
    } finally {
      const instance = fresh.instanceID();
      await fresh.destroy();
      await removeInstanceObjects(HOST_SOCKET, instance);
    }
  });
});
