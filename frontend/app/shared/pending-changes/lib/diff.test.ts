import { describe, expect, it } from "vitest";
import type { MaskedEnvVar } from "../../../../../src/envvar.ts";
import type { PendingChange } from "../../../../../src/pending-change.ts";
import type { Service } from "../../../../../src/service.ts";
import { compactDiff } from "./diff.ts";
import { mergeEnvRows } from "./env-rows.ts";
import {
  canUndo,
  effectiveSettings,
  groupsStagedForDeletion,
  pendingServices,
  REMOVABLE_OPS,
  serviceOverrides,
  takenNames,
} from "./staged.ts";

let seq = 0;
function change(op: PendingChange["op"], fields: Partial<PendingChange> & { payload?: Record<string, unknown> }): PendingChange {
  seq++;
  return {
    id: `c${seq}`,
    project_id: "p1",
    seq,
    op,
    target_type: op.startsWith("env_var") ? "env_var" : op.startsWith("project") ? "project" : "service",
    payload: {},
    created_at: "2026-01-01T00:00:00Z",
    ...fields,
  };
}

function service(id: string, name: string, extra: Partial<Service> = {}): Service {
  return {
    id,
    project_id: "p1",
    name,
    status: "running",
    icon_url: null,
    active_deployment_id: null,
    image: "nginx:1",
    ports: [{ container_port: 80 }],
    volumes: [],
    resources: null,
    replicas: 1,
    stop_grace_seconds: 30,
    healthcheck_path: null,
    healthcheck_timeout_seconds: 60,
    drain_seconds: 5,
    start_command: null,
    entrypoint: null,
    restart_policy: "always",
    restart_max_retries: 10,
    pre_deploy_command: null,
    cron_schedule: null,
    cron_timeout_seconds: 3600,
    created_at: "",
    updated_at: "",
    ...extra,
  };
}

function envVar(id: string, key: string, _value: string, scope: MaskedEnvVar["scope"] = "service", scope_id = "s1"): MaskedEnvVar {
  return { id, scope, scope_id, key, sealed: false, masked: true, created_at: "", updated_at: "" };
}

describe("serviceOverrides", () => {
  it("keeps the latest name, clears icons with empty strings and marks deletes", () => {
    const o = serviceOverrides([
      change("service.update", { target_id: "s1", payload: { name: "api" } }),
      change("service.update", { target_id: "s1", payload: { name: "api2", icon_url: "https://x/i.svg" } }),
      change("service.update", { target_id: "s1", payload: { icon_url: "" } }),
      change("service.update", { target_id: "s1", payload: { replicas: 3, ports: [{ container_port: 8080, host_port: 9000 }] } }),
      change("service.delete", { target_id: "s2" }),
    ]);
    expect(o.get("s1")).toEqual({
      name: "api2",
      icon_url: null,
      replicas: 3,
      ports: [{ container_port: 8080, host_port: 9000 }],
      deleted: false,
    });
    expect(o.get("s2")).toEqual({ deleted: true });
  });

  it("ignores a reparent-only update", () => {
    const o = serviceOverrides([change("service.update", { target_id: "s1", payload: { reparented: true, previous_parent_id: "" } })]);
    expect(o.get("s1")).toEqual({ deleted: false });
  });

  it("effectiveSettings overlays staged fields on the service", () => {
    const s = service("s1", "web", { replicas: 2, resources: { memory_mb: 128 } });
    expect(effectiveSettings(s, { deleted: false, resources: null, image: "nginx:2" })).toEqual({
      image: "nginx:2",
      ports: [{ container_port: 80 }],
      volumes: [],
      resources: null,
      replicas: 2,
      stop_grace_seconds: 30,
      start_command: null,
      entrypoint: null,
      restart_policy: "always",
      restart_max_retries: 10,
      pre_deploy_command: null,
      cron_schedule: null,
      cron_timeout_seconds: 3600,
      healthcheck_path: null,
      healthcheck_timeout_seconds: 60,
      drain_seconds: 5,
    });
  });
});

describe("takenNames", () => {
  it.each([
    ["applied names, lowercased", [], ["web", "db"]],
    [
      "plus staged creates",
      [change("service.create", { target_temp_id: "t1", payload: { name: "Cache", image: "redis" } })],
      ["web", "db", "cache"],
    ],
    ["renames free the old name", [change("service.update", { target_id: "s1", payload: { name: "front" } })], ["front", "db"]],
    ["deletes free the name", [change("service.delete", { target_id: "s2" })], ["web"]],
    ["an empty rename changes nothing", [change("service.update", { target_id: "s1", payload: { name: "" } })], ["web", "db"]],
  ] as const)("%s", (_name, log, want) => {
    expect([...takenNames([service("s1", "Web"), service("s2", "db")], log)].sort()).toEqual([...want].sort());
  });
});

describe("pendingServices", () => {
  it("collects inline and later-staged variables per temp id", () => {
    const create = change("service.create", {
      target_temp_id: "t1",
      payload: { name: "api", image: "node:22", env_vars: [{ scope: "service", key: "A", value: "1" }] },
    });
    const later = change("env_var.create", { parent_temp_id: "t1", payload: { scope: "service", key: "B", value: "2" } });
    const p = pendingServices([create, later]).get("t1");
    expect(p?.name).toBe("api");
    expect(p?.inlineEnv).toEqual([{ key: "A", value: "1" }]);
    expect(p?.stagedEnv.map((c) => c.id)).toEqual([later.id]);
  });
});

describe("compactDiff", () => {
  const ctx = {
    project: { id: "p1", name: "Shop" },
    services: new Map([["s1", service("s1", "web")]]),
    nodes: new Map([
      ["g1", { id: "g1", type: "group" as const, label: "Backend" }],
      ["n1", { id: "n1", type: "service" as const, label: "web", service_id: "s1", parent_id: "g1" }],
    ]),
  };

  it("shows latest-wins fields with before → after per target", () => {
    const d = compactDiff(
      [
        change("project.update", { target_id: "p1", payload: { name: "Shop 2" } }),
        change("service.update", { target_id: "s1", payload: { name: "front" } }),
        change("service.update", { target_id: "s1", payload: { name: "frontend" } }),
      ],
      ctx,
    );
    expect(d.map((g) => g.id)).toEqual(["project", "service:s1"]);
    expect(d[0]?.title).toBe('Project "Shop"');
    expect(d[0]?.fields).toEqual([{ label: "Name", before: "Shop", after: "Shop 2", changeIds: [expect.any(String)] }]);
    expect(d[1]?.fields[0]).toMatchObject({ label: "Name", before: "web", after: "frontend" });
    expect(d[1]?.fields[0]?.changeIds).toHaveLength(2);
  });

  it("shows staged domains under their service", () => {
    const d = compactDiff(
      [
        change("domain.create", { target_id: "s1", payload: { hostname: "shop.example.com", target_port: 8080, generated: false } }),
        change("domain.delete", { target_id: "d1", payload: { service_id: "s1", hostname: "old.example.com" } }),
      ],
      ctx,
    );
    expect(d.map((g) => g.id)).toEqual(["service:s1"]);
    expect(d[0]?.fields.map((f) => [f.label, f.before, f.after])).toEqual([
      ["Domain", "", "https://shop.example.com → :8080"],
      ["Domain", "https://old.example.com", ""],
    ]);
    const changes = [change("domain.create", { target_id: "s1", payload: { hostname: "a.example.com", target_port: 80 } })];
    expect(canUndo(changes, [changes[0]?.id as string])).toBe(true);
  });

  it("shows a staged health check", () => {
    const d = compactDiff(
      [change("service.update", { target_id: "s1", payload: { healthcheck_path: "/healthz", healthcheck_timeout_seconds: 30 } })],
      ctx,
    );
    expect(d[0]?.fields.map((f) => [f.label, f.before, f.after])).toEqual([
      ["Health check", "off (stays up 10 s)", "GET /healthz"],
      ["Health check timeout", "60 s", "30 s"],
    ]);
  });

  it("shows a staged source (issue 13), leaving out a field staged to what it already is", () => {
    const d = compactDiff(
      [
        change("service.update", {
          target_id: "s1",
          payload: { repo_url: "https://github.com/acme/web.git", branch: "dev", root_dir: "apps/web", dockerfile_path: "" },
        }),
      ],
      ctx,
    );
    expect(d[0]?.fields.map((f) => [f.label, f.before, f.after])).toEqual([
      ["Repository", "none (runs its image)", "https://github.com/acme/web.git"],
      ["Branch", "main", "dev"],
      ["Root directory", "repository root", "apps/web"],
    ]);
  });

  it("hides a rename back to the applied name", () => {
    const d = compactDiff(
      [
        change("service.update", { target_id: "s1", payload: { name: "x" } }),
        change("service.update", { target_id: "s1", payload: { name: "web" } }),
      ],
      ctx,
    );
    expect(d).toEqual([]);
  });

  it("reads the Group after-value from the live canvas parent", () => {
    const d = compactDiff([change("service.update", { target_id: "s1", payload: { reparented: true, previous_parent_id: "" } })], ctx);
    expect(d[0]?.fields).toEqual([{ label: "Group", before: "(top-level)", after: 'Group "Backend"', changeIds: [expect.any(String)] }]);
  });

  it("merges env changes: remove then add is an edit, update on an add stays an add", () => {
    const d = compactDiff(
      [
        change("env_var.delete", { target_id: "e1", payload: { scope: "service", scope_id: "s1", key: "A", old_value: "1" } }),
        change("env_var.create", { target_id: "s1", payload: { scope: "service", key: "A", value: "2" } }),
        change("env_var.create", { target_id: "s1", payload: { scope: "service", key: "B", value: "x" } }),
        change("env_var.update", { target_id: "e9", payload: { scope: "service", scope_id: "s1", key: "B", value: "y", old_value: "x" } }),
        change("env_var.delete", { target_id: "e2", payload: { scope: "service", scope_id: "s1", key: "C", old_value: "3" } }),
      ],
      ctx,
    );
    expect(d).toHaveLength(1);
    expect(d[0]?.env.map(({ key, kind, before, after }) => ({ key, kind, before, after }))).toEqual([
      { key: "A", kind: "edit", before: "1", after: "2" },
      { key: "B", kind: "add", before: undefined, after: "y" },
      { key: "C", kind: "remove", before: "3", after: undefined },
    ]);
  });

  it("shows a staged rename with its new key", () => {
    const d = compactDiff(
      [
        change("env_var.update", {
          target_id: "e1",
          payload: { scope: "service", scope_id: "s1", key: "A", new_key: "B", value: "1", old_value: "1" },
        }),
        change("env_var.update", { target_id: "e2", payload: { scope: "service", scope_id: "s1", key: "C", value: "4", old_value: "3" } }),
      ],
      ctx,
    );
    expect(d[0]?.env.map(({ key, renamedTo }) => ({ key, renamedTo }))).toEqual([
      { key: "A", renamedTo: "B" },
      { key: "C", renamedTo: undefined },
    ]);
  });

  it("keeps a sealed variable's staged entries although their values are never sent", () => {
    const d = compactDiff(
      [
        change("env_var.update", { target_id: "e1", payload: { scope: "service", scope_id: "s1", key: "S", sealed: true } }),
        change("env_var.create", { target_id: "s1", payload: { scope: "service", key: "T", sealed: true } }),
      ],
      ctx,
    );
    expect(d[0]?.env.map(({ key, kind, sealed }) => ({ key, kind, sealed }))).toEqual([
      { key: "S", kind: "edit", sealed: true },
      { key: "T", kind: "add", sealed: true },
    ]);
  });

  it("groups creates, deletes, project and group variables with badges and titles", () => {
    const d = compactDiff(
      [
        change("service.create", {
          target_temp_id: "t1",
          payload: { name: "api", image: "node:22", env_vars: [{ scope: "service", key: "K", value: "v" }] },
        }),
        change("env_var.create", { parent_temp_id: "t1", payload: { scope: "service", key: "L", value: "w" } }),
        change("service.delete", { target_id: "s1" }),
        change("env_var.create", { target_id: "g1", payload: { scope: "group", key: "G", value: "1" } }),
        change("env_var.create", { target_id: "p1", payload: { scope: "project", key: "P", value: "1" } }),
      ],
      ctx,
    );
    expect(d.map((g) => [g.id, g.title, g.badge])).toEqual([
      ["project", 'Project "Shop"', undefined],
      ["group:g1", 'Group "Backend"', undefined],
      ["service:temp:t1", 'Service "api"', "creating"],
      ["service:s1", 'Service "web"', "deleting"],
    ]);
    expect(d[2]?.env.map((e) => e.key)).toEqual(["K", "L"]);
  });

  it("shows a staged group deletion as a deleting group, and the canvas knows which groups go", () => {
    const changes = [
      change("env_var.create", { target_id: "g1", payload: { scope: "group", key: "G", value: "1" } }),
      change("group.delete", { target_id: "g1", target_type: "group", payload: { label: "Backend" } }),
    ];
    const d = compactDiff(changes, ctx);
    expect(d.map((g) => [g.id, g.title, g.badge])).toEqual([["group:g1", 'Group "Backend"', "deleting"]]);
    expect(d[0]?.changeIds).toHaveLength(2);
    expect([...groupsStagedForDeletion(changes)]).toEqual(["g1"]);
    expect(REMOVABLE_OPS.has("group.delete")).toBe(true);
  });

  it("warns before Deploy that a running service with a volume stops before it restarts", () => {
    const db = service("s2", "db", {
      active_deployment_id: "d2",
      volumes: [{ name: "data", mount_path: "/data" }],
      stop_grace_seconds: 45,
    });
    const withDB = { ...ctx, services: new Map([...ctx.services, ["s2", db]]) };
    const d = compactDiff(
      [
        change("env_var.update", { target_id: "e1", payload: { scope: "service", scope_id: "s2", key: "A", old_value: "1", value: "2" } }),
        change("service.update", { target_id: "s1", payload: { image: "nginx:2" } }),
      ],
      withDB,
    );
    expect(d.find((g) => g.id === "service:s2")?.warning).toMatch(/volume.*stops the running container \(up to 45 s/);
    // A stateless service is redeployed start-first: no warning.
    expect(d.find((g) => g.id === "service:s1")?.warning).toBeUndefined();
    // Nor for a service that never ran, or one being deleted.
    const fresh = { ...withDB, services: new Map([["s2", { ...db, active_deployment_id: null }]]) };
    expect(compactDiff([change("service.update", { target_id: "s2", payload: { image: "pg:16" } })], fresh)[0]?.warning).toBeUndefined();
    expect(compactDiff([change("service.delete", { target_id: "s2" })], withDB)[0]?.warning).toBeUndefined();
  });

  it("warns on project and group variables that reach a running service with a volume", () => {
    const db = service("s2", "db", { active_deployment_id: "d2", volumes: [{ name: "data", mount_path: "/data" }] });
    const withDB = {
      ...ctx,
      services: new Map([...ctx.services, ["s2", db]]),
      nodes: new Map([
        ["g1", { id: "g1", type: "group" as const, label: "Backend" }],
        ["n1", { id: "n1", type: "service" as const, label: "web", service_id: "s1", parent_id: "g1" }],
        ["n2", { id: "n2", type: "service" as const, label: "db", service_id: "s2", parent_id: "" }],
      ]),
    };
    const project = compactDiff(
      [change("env_var.create", { target_id: "p1", payload: { scope: "project", key: "A", value: "1" } })],
      withDB,
    );
    expect(project[0]?.warning).toMatch(/Services with a volume \(db\)/);
    // Group g1 holds only the stateless web service.
    const group = compactDiff([change("env_var.create", { target_id: "g1", payload: { scope: "group", key: "A", value: "1" } })], withDB);
    expect(group[0]?.warning).toBeUndefined();
  });

  it("undo is offered only for removable entries", () => {
    const create = change("service.create", { target_temp_id: "t1", payload: { name: "a", image: "b" } });
    const env = change("env_var.create", { target_id: "p1", payload: { scope: "project", key: "P", value: "1" } });
    expect(canUndo([create, env], [env.id])).toBe(true);
    expect(canUndo([create, env], [create.id])).toBe(false);
    expect(canUndo([create, env], [])).toBe(false);
  });
});

describe("mergeEnvRows", () => {
  it("combines applied rows with staged add, edit, remove; pending rows sort last", () => {
    const rows = mergeEnvRows(
      [envVar("e1", "A", "1"), envVar("e2", "B", "2"), envVar("e3", "C", "3")],
      [
        change("env_var.update", { target_id: "e2", payload: { scope: "service", scope_id: "s1", key: "B", value: "20", old_value: "2" } }),
        change("env_var.delete", { target_id: "e3", payload: { scope: "service", scope_id: "s1", key: "C", old_value: "3" } }),
        change("env_var.create", { target_id: "s1", payload: { scope: "service", key: "AA", value: "new" } }),
        change("env_var.create", { target_id: "other", payload: { scope: "service", key: "Z", value: "no" } }),
        change("env_var.create", { target_id: "s1", payload: { scope: "group", key: "Y", value: "no" } }),
      ],
      "service",
      "s1",
    );
    expect(rows.map((r) => [r.key, r.state, r.value])).toEqual([
      ["A", "unchanged", undefined],
      ["AA", "add", "new"],
      ["B", "edit", "20"],
      ["C", "remove", "3"],
    ]);
  });

  it("treats delete-then-create of the same key as an edit that undoes both", () => {
    const del = change("env_var.delete", { target_id: "e1", payload: { scope: "project", scope_id: "p1", key: "A", old_value: "1" } });
    const add = change("env_var.create", { target_id: "p1", payload: { scope: "project", key: "A", value: "2" } });
    const rows = mergeEnvRows([envVar("e1", "A", "1", "project", "p1")], [del, add], "project", "p1");
    expect(rows).toEqual([expect.objectContaining({ key: "A", state: "edit", value: "2", changeIds: [del.id, add.id] })]);
  });

  it.each([
    {
      name: "a staged rename shows the new key, remembering the applied one",
      changes: [{ key: "A", new_key: "B", value: "1" }],
      want: [["B", "edit", "A", "1"]],
    },
    {
      name: "a rename back to the applied key is only an edit",
      changes: [
        { key: "A", new_key: "B", value: "1" },
        { key: "A", new_key: "A", value: "2" },
      ],
      want: [["A", "edit", undefined, "2"]],
    },
    {
      name: "a value edit after a rename keeps the new key (the payload names the applied one)",
      changes: [
        { key: "A", new_key: "B", value: "1" },
        { key: "A", value: "3" },
      ],
      want: [["B", "edit", "A", "3"]],
    },
  ])("$name", ({ changes, want }) => {
    const staged = changes.map((p) => change("env_var.update", { target_id: "e1", payload: { scope: "service", scope_id: "s1", ...p } }));
    const rows = mergeEnvRows([envVar("e1", "A", "1"), envVar("e2", "Z", "9")], staged, "service", "s1");
    expect(rows.map((r) => [r.key, r.state, r.renamedFrom, r.value])).toEqual([["Z", "unchanged", undefined, undefined], ...want]);
    expect(rows.at(-1)?.changeIds).toEqual(staged.map((c) => c.id));
  });

  it("knows no value of a sealed row, staged or applied", () => {
    const sealed = { ...envVar("e1", "S", ""), sealed: true };
    const add = change("env_var.create", { target_id: "s1", payload: { scope: "service", key: "T", sealed: true } });
    const rows = mergeEnvRows([sealed], [add], "service", "s1");
    expect(rows.map((r) => [r.key, r.state, r.sealed, r.value])).toEqual([
      ["S", "unchanged", true, undefined],
      ["T", "add", true, undefined],
    ]);
  });
});
