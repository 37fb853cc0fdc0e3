import { describe, expect, it } from "vitest";
import type { CanvasEdge, CanvasNode } from "../../../../../src/canvas.ts";
import type { PendingChange } from "../../../../../src/pending-change.ts";
import type { Service } from "../../../../../src/service.ts";
import { pendingServices, serviceOverrides } from "../../../shared/pending-changes/lib/staged.ts";
import {
  type DeriveInput,
  deriveFlowEdges,
  deriveFlowNodes,
  mergeFlowEdges,
  mergeFlowNodes,
  type ServiceNodeData,
  serviceEndpoints,
} from "./flow.ts";

function node(id: string, type: CanvasNode["type"], extra: Partial<CanvasNode> = {}): CanvasNode {
  return { id, project_id: "p1", type, label: id, position_x: 10, position_y: 20, data: "{}", created_at: "", updated_at: "", ...extra };
}

function svc(id: string, name: string, extra: Partial<Service> = {}): Service {
  return {
    id,
    project_id: "p1",
    name,
    status: "running",
    icon_url: null,
    active_deployment_id: "d1",
    image: "web:1",
    ports: [{ container_port: 80, host_port: 8081 }],
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
    active_deployment: { id: "d1", image: "web:1" } as Service["active_deployment"],
    ...extra,
  };
}

function input(over: Partial<DeriveInput> = {}): DeriveInput {
  return { nodes: [], services: new Map(), overrides: new Map(), pending: new Map(), host: "10.0.0.5", drafts: [], ghosts: [], ...over };
}

describe("serviceEndpoints", () => {
  it.each([
    [[{ container_port: 80, host_port: 8081 }], "10.0.0.5", "http://10.0.0.5:8081", "web:80"],
    [[{ container_port: 5432 }], "h", null, "web:5432"],
    [[], "h", null, null],
    [[{ container_port: 53, host_port: 5353, protocol: "udp" as const }], "h", null, "web:53"],
    [[{ container_port: 80, host_port: 80 }], "::1", "http://[::1]:80", "web:80"],
  ])("%j on %s", (ports, host, url, internal) => {
    const e = serviceEndpoints("web", ports, host);
    expect(e.publicUrl).toBe(url);
    expect(e.internal).toBe(internal);
  });
});

describe("deriveFlowNodes", () => {
  it("derives service nodes from the service, staged overrides and endpoints", () => {
    const changes: PendingChange[] = [
      {
        id: "c1",
        project_id: "p1",
        seq: 1,
        op: "service.update",
        target_type: "service",
        target_id: "s1",
        payload: { name: "front", icon_url: "https://i/x.svg" },
        created_at: "",
      },
    ];
    const [n] = deriveFlowNodes(
      input({
        nodes: [node("n1", "service", { service_id: "s1" })],
        services: new Map([["s1", svc("s1", "web")]]),
        overrides: serviceOverrides(changes),
      }),
    );
    expect(n?.type).toBe("service");
    expect(n?.data).toEqual({
      name: "front",
      image: "web:1",
      status: "running",
      iconUrl: "https://i/x.svg",
      serviceId: "s1",
      pendingDelete: false,
      pendingCreate: false,
      renamed: true,
      publicUrl: "http://10.0.0.5:8081",
      publicLabel: "10.0.0.5:8081",
      internal: "front:80",
    } satisfies ServiceNodeData);
  });

  it("shows a pending create from its staged entry and a pending delete as not selectable", () => {
    const changes: PendingChange[] = [
      {
        id: "c1",
        project_id: "p1",
        seq: 1,
        op: "service.create",
        target_type: "service",
        target_temp_id: "n2",
        payload: { name: "api", image: "api:2" },
        created_at: "",
      },
      { id: "c2", project_id: "p1", seq: 2, op: "service.delete", target_type: "service", target_id: "s1", payload: {}, created_at: "" },
    ];
    const nodes = deriveFlowNodes(
      input({
        nodes: [node("n1", "service", { service_id: "s1" }), node("n2", "service", { data: '{"image":"api:2"}' })],
        services: new Map([["s1", svc("s1", "web", { active_deployment: undefined, active_deployment_id: null, status: "created" })]]),
        overrides: serviceOverrides(changes),
        pending: pendingServices(changes),
      }),
    );
    expect(nodes[0]?.selectable).toBe(false);
    expect(nodes[0]?.data).toMatchObject({ pendingDelete: true, image: "web:1", status: "created" });
    expect(nodes[1]?.data).toMatchObject({ name: "api", image: "api:2", status: "pending", pendingCreate: true });
  });

  it("has no image for a legacy service created without one", () => {
    const [n] = deriveFlowNodes(
      input({
        nodes: [node("n1", "service", { service_id: "s1" })],
        services: new Map([["s1", svc("s1", "web", { image: "", active_deployment: undefined, ports: [] })]]),
      }),
    );
    expect(n?.data).toMatchObject({ image: null, publicUrl: null, internal: null });
  });

  it("keeps parents before children, drops dangling parents and sizes notes and groups", () => {
    const nodes = deriveFlowNodes(
      input({
        nodes: [
          node("g1", "group", { width: 600, height: 400, label: "" }),
          node("note", "note", { parent_id: "g1", label: "hello", data: '{"backgroundColor":"#BAE1FF"}' }),
          node("orphan", "note", { parent_id: "gone" }),
        ],
        drafts: [{ id: "d1", x: 1, y: 2 }],
        ghosts: [{ draft_id: "x", user_id: "u2", user_name: "Bo", x: 5, y: 6 }],
      }),
    );
    expect(nodes.map((n) => [n.id, n.type, n.parentId])).toEqual([
      ["g1", "group", undefined],
      ["note", "note", "g1"],
      ["orphan", "note", undefined],
      ["draft-d1", "service-draft", undefined],
      ["ghost-x", "service-drafting", undefined],
    ]);
    expect([nodes[0]?.width, nodes[0]?.height]).toEqual([600, 400]);
    expect(nodes[1]?.data).toEqual({ text: "hello", color: "#BAE1FF" });
    expect(nodes[4]?.draggable).toBe(false);
  });
});

describe("deriveFlowEdges", () => {
  const edge = (id: string, s: string, t: string, data = "{}", label?: string): CanvasEdge => ({
    id,
    project_id: "p1",
    source_id: s,
    target_id: t,
    data,
    created_at: "",
    updated_at: "",
    ...(label ? { label } : {}),
  });
  it("marks managed env-ref edges undeletable with their keys as label and skips dangling edges", () => {
    const edges = deriveFlowEdges(
      [edge("e1", "a", "b", '{"managed":"env-ref","keys":["DB_HOST","DB_PORT"]}'), edge("e2", "a", "b"), edge("e3", "a", "zz")],
      new Set(["a", "b"]),
    );
    expect(edges.map((e) => [e.id, e.type, e.label, e.deletable])).toEqual([
      ["e1", "floating", "DB_HOST, DB_PORT", false],
      ["e2", "floating", undefined, true],
    ]);
  });
});

describe("mergeFlowNodes", () => {
  const base = () => deriveFlowNodes(input({ nodes: [node("a", "note"), node("b", "note")] }));

  it("returns the previous array when nothing changed, keeping identity", () => {
    const prev = base();
    expect(mergeFlowNodes(prev, base())).toBe(prev);
  });

  it("replaces only the changed node and carries measured size and selection", () => {
    const prev = base().map((n) => ({ ...n, measured: { width: 220, height: 220 }, selected: n.id === "b" }));
    const next = deriveFlowNodes(input({ nodes: [node("a", "note"), node("b", "note", { label: "changed" })] }));
    const out = mergeFlowNodes(prev, next);
    expect(out[0]).toBe(prev[0]);
    expect(out[1]).not.toBe(prev[1]);
    expect(out[1]?.measured).toEqual({ width: 220, height: 220 });
    expect(out[1]?.selected).toBe(true);
  });

  it("keeps the local position of a node being dragged", () => {
    const prev = base().map((n) => (n.id === "a" ? { ...n, dragging: true, position: { x: 500, y: 600 } } : n));
    const next = deriveFlowNodes(input({ nodes: [node("a", "note", { label: "x" }), node("b", "note")] }));
    expect(mergeFlowNodes(prev, next)[0]?.position).toEqual({ x: 500, y: 600 });
  });

  it("edges keep identity when unchanged", () => {
    const e = deriveFlowEdges(
      [{ id: "e", project_id: "p", source_id: "a", target_id: "b", data: "{}", created_at: "", updated_at: "" }],
      new Set(["a", "b"]),
    );
    const again = deriveFlowEdges(
      [{ id: "e", project_id: "p", source_id: "a", target_id: "b", data: "{}", created_at: "", updated_at: "" }],
      new Set(["a", "b"]),
    );
    expect(mergeFlowEdges(e, again)).toBe(e);
  });
});
