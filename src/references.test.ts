import { describe, expect, it } from "vitest";
import {
  listReferences,
  newReferenceProblems,
  parseValue,
  providerOrder,
  type ReferenceProject,
  ReferenceResolver,
  type ReferenceService,
  referenceProblems,
  referenceUses,
  renameServiceInValue,
  renameVariableInValue,
} from "./references.ts";

function svc(name: string, env: Record<string, string>, extra: Partial<ReferenceService> = {}): ReferenceService {
  return { id: `id-${name}`, name, env, ...extra };
}

function project(services: ReferenceService[], shared: Record<string, string> = {}): ReferenceProject {
  return { id: "p1", services, shared };
}

const db = svc("db", { USER: "app", PASSWORD: "s3cret", URL: "postgres://${{USER}}:${{PASSWORD}}@${{db.HOST}}" }, { port: 5432 });
const web = svc("web", { PORT: "8080" }, { port: 8080, domain: "web.example.com" });

function resolve(p: ReferenceProject, name: string, deploy = {}) {
  return new ReferenceResolver(p, deploy).resolveService(name);
}

describe("parseValue", () => {
  it.each([
    ["plain", "plain", ["plain"]],
    ["qualified", "${{db.HOST}}", [{ service: "db", key: "HOST", raw: "${{db.HOST}}" }]],
    ["local", "a${{ KEY }}b", ["a", { key: "KEY", raw: "${{ KEY }}" }, "b"]],
    ["escape", "$${{db.HOST}}", ["${{db.HOST}}"]],
    ["escape then reference", "$${{x}}${{y}}", ["${{x}}", { key: "y", raw: "${{y}}" }]],
    ["not a reference", "${{ a b }}", ["${{ a b }}"]],
    ["shell style", "${PATH}", ["${PATH}"]],
    ["unclosed", "${{db.HOST", ["${{db.HOST"]],
  ])("%s", (_n, input, want) => {
    expect(parseValue(input)).toEqual(want);
  });

  it("lists references in order", () => {
    expect(listReferences("${{a.X}}-${{shared.Y}}-${{Z}}").map((r) => r.raw)).toEqual(["${{a.X}}", "${{shared.Y}}", "${{Z}}"]);
  });
});

describe("ReferenceResolver", () => {
  it.each([
    ["host and port", "${{db.HOST}}:${{db.PORT}}", "db:5432"],
    ["other service's variable", "${{db.PASSWORD}}", "s3cret"],
    ["nested: a variable that references", "${{db.URL}}", "postgres://app:s3cret@db"],
    ["many mixed with text", "postgres://${{db.USER}}:${{db.PASSWORD}}@${{db.HOST}}:${{db.PORT}}/app", "postgres://app:s3cret@db:5432/app"],
    ["same service", "${{NAME}}!", "web!"],
    ["shared", "${{shared.REGION}}", "eu"],
    ["shared referencing shared and a service", "${{shared.DSN}}", "eu/db"],
    ["domain", "https://${{web.DOMAIN}}", "https://web.example.com"],
    ["escaped stays literal", "$${{db.HOST}} ${{db.HOST}}", "${{db.HOST}} db"],
    [
      "built-ins",
      "${{DEPLOYKIT_PROJECT_ID}}/${{DEPLOYKIT_SERVICE_ID}}/${{DEPLOYKIT_DEPLOYMENT_ID}}/${{DEPLOYKIT_COMMIT_SHA}}",
      "p1/id-app/d1/",
    ],
    ["built-in HOST wins over a variable named HOST", "${{api.HOST}}", "api"],
  ])("%s", (_n, value, want) => {
    const p = project([db, web, svc("api", { HOST: "0.0.0.0" }), svc("app", { V: value, NAME: "web" })], {
      REGION: "eu",
      DSN: "${{REGION}}/${{db.HOST}}",
    });
    const r = resolve(p, "app", { deployment_id: "d1" });
    expect(r.problems).toEqual([]);
    expect(r.env.V).toBe(want);
  });

  it("records the services each key depends on, through other variables and shared ones", () => {
    const p = project([db, svc("app", { A: "${{db.URL}}", B: "${{shared.X}}", C: "${{A}}", D: "plain" })], { X: "${{web.PORT}}" }).services;
    const r = resolve(project([...p, web], { X: "${{web.PORT}}" }), "app");
    expect(r.refs).toEqual({ A: ["db"], B: ["web"], C: ["db"] });
  });

  it.each([
    ["missing service", { URL: "${{ghost.HOST}}" }, 'Reference ${{ghost.HOST}} in app.URL: no service "ghost".'],
    ["missing variable", { URL: "${{db.NOPE}}" }, 'Reference ${{db.NOPE}} in app.URL: service "db" has no variable NOPE.'],
    ["missing local variable", { URL: "${{NOPE}}" }, 'Reference ${{NOPE}} in app.URL: service "app" has no variable NOPE.'],
    ["missing shared variable", { URL: "${{shared.NOPE}}" }, "Reference ${{shared.NOPE}} in app.URL: no shared variable NOPE."],
    ["port of a service without ports", { URL: "${{cache.PORT}}" }, 'Reference ${{cache.PORT}} in app.URL: service "cache" has no port.'],
    [
      "domain of a service without one",
      { URL: "${{cache.DOMAIN}}" },
      'Reference ${{cache.DOMAIN}} in app.URL: service "cache" has no public domain.',
    ],
    ["self cycle", { A: "x${{A}}" }, "Reference ${{A}} in app.A: cycle app.A → app.A."],
    ["local cycle", { A: "${{B}}", B: "${{A}}" }, "Reference ${{A}} in app.B: cycle app.A → app.B → app.A."],
  ])("%s is a problem naming the reference, and the text stays", (_n, env, message) => {
    const r = resolve(project([db, svc("cache", {}), svc("app", env)]), "app");
    expect(r.problems.map((p) => p.message)).toContain(message);
    expect(Object.values(r.env).join(" ")).toContain("${{");
  });

  it("names a cycle across services and shared variables", () => {
    const p = project([svc("a", { X: "${{b.Y}}" }), svc("b", { Y: "${{shared.Z}}" })], { Z: "${{a.X}}" });
    expect(resolve(p, "a").problems.map((x) => x.message)).toEqual(["Reference ${{a.X}} in shared.Z: cycle a.X → b.Y → shared.Z → a.X."]);
  });

  it("a diamond is not a cycle", () => {
    const p = project([svc("a", { X: "${{B}}${{C}}", B: "${{D}}", C: "${{D}}", D: "d" })]);
    expect(resolve(p, "a")).toMatchObject({ env: { X: "dd" }, problems: [] });
  });

  it("keeps __proto__ an ordinary key", () => {
    const env = JSON.parse('{"__proto__": "x", "A": "${{__proto__}}"}') as Record<string, string>;
    expect(resolve(project([svc("a", env)]), "a").env.A).toBe("x");
  });
});

describe("referenceProblems and newReferenceProblems", () => {
  it("reports shared variables no one references", () => {
    expect(referenceProblems(project([], { A: "${{ghost.HOST}}" })).map((p) => p.owner)).toEqual(["shared"]);
  });

  it("reports only what a change breaks", () => {
    const before = project([svc("a", { OLD: "${{ghost.HOST}}" }), db]);
    const after = project([svc("a", { OLD: "${{ghost.HOST}}", NEW: "${{db.NOPE}}" }), db]);
    expect(newReferenceProblems(before, after).map((p) => p.reference)).toEqual(["${{db.NOPE}}"]);
    expect(newReferenceProblems(before, before)).toEqual([]);
  });
});

describe("renames", () => {
  it.each([
    ["every field of the service", "${{db.HOST}}:${{db.PASSWORD}} ${{dbx.HOST}}", "${{pg.HOST}}:${{pg.PASSWORD}} ${{dbx.HOST}}"],
    ["whitespace normalised", "${{ db.HOST }}", "${{pg.HOST}}"],
    ["escapes untouched", "$${{db.HOST}}", "$${{db.HOST}}"],
    ["local references untouched", "${{HOST}}", "${{HOST}}"],
  ])("service: %s", (_n, input, want) => {
    expect(renameServiceInValue(input, "db", "pg")).toBe(want);
  });

  it.each([
    [
      { service: "db", oldKey: "PASSWORD", newKey: "PASS" },
      "${{db.PASSWORD}} ${{PASSWORD}} ${{db.USER}}",
      "${{db.PASS}} ${{PASSWORD}} ${{db.USER}}",
    ],
    [{ service: "shared", oldKey: "A", newKey: "B" }, "${{shared.A}} ${{A}}", "${{shared.B}} ${{A}}"],
    [{ oldKey: "A", newKey: "B" }, "${{A}} ${{x.A}} $${{A}}", "${{B}} ${{x.A}} $${{A}}"],
  ])("variable %o", (target, input, want) => {
    expect(renameVariableInValue(input, target)).toBe(want);
  });
});

describe("referenceUses", () => {
  it("lists direct references with their targets, built-ins left out", () => {
    const p = project([svc("app", { A: "${{db.PASSWORD}}${{B}}${{DEPLOYKIT_PROJECT_ID}}", B: "b" })], { S: "${{db.HOST}}" });
    expect(referenceUses(p)).toEqual([
      { owner: "app", key: "A", target: "db", target_key: "PASSWORD", reference: "${{db.PASSWORD}}" },
      { owner: "app", key: "A", target: "app", target_key: "B", reference: "${{B}}" },
      { owner: "shared", key: "S", target: "db", target_key: "HOST", reference: "${{db.HOST}}" },
    ]);
  });
});

describe("providerOrder", () => {
  it.each([
    ["providers first", ["web", "db"], { web: ["db"] }, ["db", "web"]],
    ["chain", ["a", "b", "c"], { a: ["b"], b: ["c"] }, ["c", "b", "a"]],
    ["providers outside the set ignored", ["web"], { web: ["db"] }, ["web"]],
    ["cycle broken where met", ["a", "b"], { a: ["b"], b: ["a"] }, ["b", "a"]],
  ])("%s", (_n, ids, deps, want) => {
    expect(providerOrder(ids, new Map(Object.entries(deps)))).toEqual(want);
  });
});
