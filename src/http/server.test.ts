import { afterEach, describe, expect, it } from "vitest";
import { ADMIN, ADMIN_TOKEN, type Harness, KEY_TOKEN, MEMBER_TOKEN, type Overrides, startServer } from "../../test/http/harness.ts";
import * as deploykit from "../index.ts";
import * as mock from "../mock/index.ts";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

async function start(o: Overrides = {}): Promise<Harness> {
  h = await startServer(o);
  return h;
}

async function raw(method: string, path: string, o: { token?: string | null; body?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  const token = o.token === undefined ? ADMIN_TOKEN : o.token;
  if (token) headers.authorization = `Bearer ${token}`;
  if (o.body !== undefined) headers["content-type"] ??= "application/json";
  const r = await fetch(h.url + path, { method, headers, body: o.body });
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json: json as Record<string, unknown> };
}

describe("routing", () => {
  it("answers health, JSON 404 for unknown /api paths and JSON 405 for a wrong method", async () => {
    await start();
    expect((await raw("GET", "/api/health", { token: null })).json).toEqual({ status: "ok" });
    const nf = await raw("GET", "/api/nope", { token: null });
    expect(nf.status).toBe(404);
    expect(nf.json).toEqual({ error: "not_found", message: "Not found." });
    const na = await raw("PUT", "/api/projects/p1", { token: null });
    expect(na.status).toBe(405);
    expect(na.json.error).toBe("invalid");
    expect(na.headers.get("allow")).toContain("PATCH");
    expect(na.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("publishes the OpenAPI document and the docs page", async () => {
    await start();
    const doc = (await raw("GET", "/api/openapi.json", { token: null })).json as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/projects/{projectId}/deploy", "/api/auth/logout-all"]));
    const page = await raw("GET", "/api/docs", { token: null });
    expect([page.status, page.headers.get("content-type")]).toEqual([200, expect.stringContaining("text/html")]);
    expect(page.headers.get("content-security-policy")).toBeTruthy();
    // The UI (loaded on this first visit) serves its assets and the same document.
    const css = await raw("GET", "/api/docs/static/swagger-ui.css", { token: null });
    expect([css.status, css.headers.get("content-type")]).toEqual([200, expect.stringContaining("text/css")]);
    const json = (await raw("GET", "/api/docs/json", { token: null })).json as { paths: Record<string, unknown> };
    expect(Object.keys(json.paths)).toEqual(Object.keys(doc.paths));
    expect((await raw("GET", "/api/docs/nope", { token: null })).status).toBe(404);
  });

  it("rejects every non-public route without credentials (401) and with an unknown token", async () => {
    await start();
    const doc = (await raw("GET", "/api/openapi.json", { token: null })).json as { paths: Record<string, Record<string, unknown>> };
    const PUBLIC = new Set([
      "GET /api/health",
      "GET /api/auth/register",
      "POST /api/auth/register",
      "POST /api/auth/login",
      "POST /api/auth/refresh",
      "POST /api/auth/device",
      "POST /api/auth/device/token",
    ]);
    let checked = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) {
        const m = method.toUpperCase();
        if (PUBLIC.has(`${m} ${path}`) || m === "HEAD") continue;
        const url = path.replace(/\{[^}]+\}/g, "x1");
        for (const token of [null, "dka_bogus"]) {
          const r = await raw(m, url, { token, body: m === "GET" || m === "DELETE" ? undefined : "{}" });
          expect([r.status, `${m} ${url}`]).toEqual([401, `${m} ${url}`]);
          expect(r.json.error).toBe("unauthorized");
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it.each([
    ["GET", "/api/users"],
    ["GET", "/api/users/u1"],
    ["POST", "/api/users"],
    ["PATCH", "/api/users/u1"],
    ["DELETE", "/api/users/u1"],
    ["GET", "/api/system/about"],
    ["GET", "/api/system/status"],
    ["PATCH", "/api/settings"],
  ])("refuses members on admin route %s %s (403)", async (method, path) => {
    await start();
    for (const token of [MEMBER_TOKEN, KEY_TOKEN]) {
      const r = await raw(method, path, { token, body: method === "GET" || method === "DELETE" ? undefined : "{}" });
      expect(r.status).toBe(403);
      expect(r.json).toEqual({ error: "forbidden", message: "Insufficient permissions." });
    }
  });
});

describe("errors", () => {
  it.each([
    [deploykit.EINVALID, 400],
    [deploykit.EUNAUTHORIZED, 401],
    [deploykit.EFORBIDDEN, 403],
    [deploykit.ENOTFOUND, 404],
    [deploykit.ECONFLICT, 409],
    [deploykit.EUNAVAILABLE, 503],
  ] as const)("maps %s to %i with the domain message", async (code, status) => {
    await start({ projects: mock.ProjectService({ findProjectByID: async () => Promise.reject(deploykit.errorf(code, "Nope.")) }) });
    const r = await raw("GET", "/api/projects/p1");
    expect(r.status).toBe(status);
    expect(r.json).toEqual({ error: code, message: "Nope." });
    const err = await h
      .client()
      .findProjectByID("p1")
      .catch((e) => e);
    expect(err).toBeInstanceOf(deploykit.DeployKitError);
    expect([err.code, err.message]).toEqual([code, "Nope."]);
  });

  it("answers field errors with 422 and the field map, through the client too", async () => {
    await start({
      users: mock.UserService({
        createUser: async (u) => {
          deploykit.validateUserCreate(u);
          return ADMIN;
        },
      }),
    });
    const r = await raw("POST", "/api/users", { body: JSON.stringify({ email: "x", name: "", password: "short" }) });
    expect(r.status).toBe(422);
    expect(r.json).toEqual({
      error: "invalid",
      message: "Validation failed.",
      errors: { email: ["Email is not valid."], name: ["Name is required."], password: ["Password must be at least 8 characters."] },
    });
    const err = await h
      .client()
      .createUser({ email: "x", name: "n", password: "longenough" })
      .catch((e) => e);
    expect(err.code).toBe("invalid");
    expect(err.fields).toEqual({ email: ["Email is not valid."] });
  });

  it("hides unexpected errors behind 500 Internal error.", async () => {
    await start({
      projects: mock.ProjectService({ findProjectByID: async () => Promise.reject(new Error("disk on fire at /var/secret")) }),
    });
    const r = await raw("GET", "/api/projects/p1");
    expect(r.status).toBe(500);
    expect(r.json).toEqual({ error: "internal", message: "Internal error." });
  });

  it.each([
    ["bad JSON", "POST", "/api/projects", { body: "{nope" }, 400, "Invalid JSON body."],
    ["__proto__ key", "POST", "/api/projects", { body: '{"__proto__":{"x":1}}' }, 400, "Invalid JSON body."],
    ["constructor.prototype", "POST", "/api/projects", { body: '{"constructor":{"prototype":{"x":1}}}' }, 400, "Invalid JSON body."],
    ["unknown field", "POST", "/api/projects", { body: '{"name":"a","admin":true}' }, 400, 'Unknown field "admin".'],
    ["wrong type", "POST", "/api/projects", { body: '{"name":5}' }, 400, 'Field "name" must be a string.'],
    ["array body", "POST", "/api/projects", { body: "[]" }, 400, "Request body must be an object."],
    ["no body", "POST", "/api/projects", {}, 400, "Request body must be an object."],
    [
      "form body",
      "POST",
      "/api/projects",
      { body: "name=x", headers: { "content-type": "application/x-www-form-urlencoded" } },
      415,
      undefined,
    ],
    ["bad offset", "GET", "/api/projects?offset=abc", {}, 400, 'Query param "offset" must be an integer.'],
    ["unknown query", "GET", "/api/projects?sort=name", {}, 400, 'Unknown query param "sort".'],
    [
      "too long",
      "POST",
      "/api/projects",
      { body: JSON.stringify({ name: "x".repeat(1001) }) },
      400,
      'Field "name" is too long (max 1000 characters).',
    ],
    [
      "nested unknown",
      "PATCH",
      "/api/projects/p1/services/s1",
      { body: '{"ports":[{"container_port":80,"privileged":true}]}' },
      400,
      'Unknown field "ports[0].privileged".',
    ],
    ["malformed URL", "GET", "/api/projects/%E0%A4%A", {}, 400, undefined],
  ] as const)("rejects %s with 4xx and a message, never 500", async (_name, method, path, o, status, message) => {
    await start();
    const r = await raw(method, path, o as { body?: string; headers?: Record<string, string> });
    expect(r.status).toBe(status);
    expect(r.json.error).toBe("invalid");
    if (message) expect(r.json.message).toBe(message);
  });

  // B10: JSON only. text/plain was parsed by Fastify's built-in parser and answered 400.
  it("answers 415 to a text/plain, form or multipart body on every route that takes a body", async () => {
    await start();
    const doc = (await raw("GET", "/api/openapi.json", { token: null })).json as { paths: Record<string, Record<string, unknown>> };
    const types = ["text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"];
    let checked = 0;
    for (const [path, methods] of Object.entries(doc.paths))
      for (const method of Object.keys(methods).map((m) => m.toUpperCase())) {
        if (method !== "POST" && method !== "PATCH" && method !== "PUT") continue;
        const url = path.replace(/\{[^}]+\}/g, "x1");
        for (const type of types) {
          const r = await raw(method, url, { body: '{"name":"x"}', headers: { "content-type": type } });
          expect([r.status, r.json], `${method} ${url} ${type}`).toEqual([
            415,
            { error: "invalid", message: "Unsupported content type: send JSON (Content-Type: application/json)." },
          ]);
        }
        checked++;
      }
    expect(checked).toBeGreaterThan(20);
  });

  it("limits the body to 1 MiB (413)", async () => {
    await start();
    const r = await raw("POST", "/api/projects", { body: JSON.stringify({ name: "x".repeat(1024 * 1024 + 10) }) });
    expect(r.status).toBe(413);
    expect(r.json).toEqual({ error: "invalid", message: "Request body is too large." });
  });
});

describe("cors", () => {
  it("answers preflight with 204 and sets the configured origin", async () => {
    await start({ corsOrigin: "https://a.example, https://b.example" });
    const pre = await raw("OPTIONS", "/api/projects", { token: null, headers: { origin: "https://b.example" } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("https://b.example");
    expect(pre.headers.get("access-control-allow-headers")).toBe("Authorization, Content-Type");
    const other = await raw("GET", "/api/health", { token: null, headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("allows any origin with *", async () => {
    await start();
    const r = await raw("GET", "/api/health", { token: null, headers: { origin: "https://x.example" } });
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
  });
});
