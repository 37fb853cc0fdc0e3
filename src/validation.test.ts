import { describe, expect, it } from "vitest";
import { validateAPIKeyCreate, validateLogin } from "./auth.ts";
import { validateEdgeUpsert, validateNodeUpsert, validatePositions } from "./canvas.ts";
import { truncateLogTail } from "./deployment.ts";
import { validateDeploymentCreate } from "./deployment-validate.ts";
import { EINVALID } from "./errors.ts";
import { normalizePage } from "./pagination.ts";
import { effectiveServiceNames, type PendingChange } from "./pending-change.ts";
import { DATABASE_PRESETS, generateValue, materializePreset } from "./preset.ts";
import { validateProjectCreate, validateProjectUpdate } from "./project.ts";
import { volumeName } from "./provisioner.ts";
import { validateServiceCreate, validateServiceUpdate } from "./service.ts";
import { validateProfileUpdate, validateUserCreate, validateUserUpdate } from "./user.ts";

/** Runs a validator and returns its field errors (or message), null when it passes. */
function problems(fn: () => void): Record<string, string[]> | string | null {
  try {
    fn();
    return null;
  } catch (err) {
    const e = err as { code: string; fields?: Record<string, string[]>; message: string };
    expect(e.code).toBe(EINVALID);
    return e.fields ?? e.message;
  }
}

const DNS =
  "Name must be a DNS label: lowercase letters, digits and hyphens, at most 63 characters, starting and ending with a letter or digit.";

describe("projects", () => {
  it.each([
    [{ name: "Shop" }, null],
    [{ name: "" }, "Name is required."],
    [{ name: "   " }, "Name is required."],
    [{ name: "x".repeat(201) }, "Name is too long (max 200 characters)."],
    [{ name: "a\u0000b" }, "Name cannot contain control characters."],
  ])("create %j", (input, want) => expect(problems(() => validateProjectCreate(input))).toEqual(want));
  it.each([
    [{}, null],
    [{ name: "New" }, null],
    [{ name: "" }, "Name cannot be empty."],
  ])("update %j", (input, want) => expect(problems(() => validateProjectUpdate(input))).toEqual(want));
});

describe("users", () => {
  it.each([
    [{ email: "a@b.c", name: "A", password: "12345678" }, null],
    [{ email: "a@b.c", name: "A", password: "12345678", role: "admin" }, null],
    [{ email: "a@b.c", name: "A", password: "12345678", role: "" }, null],
    [
      { email: "", name: "", password: "" },
      { email: ["Email is required."], name: ["Name is required."], password: ["Password is required."] },
    ],
    [{ email: "nope", name: "A", password: "12345678" }, { email: ["Email is not valid."] }],
    [{ email: "a@b.c", name: "A", password: "short" }, { password: ["Password must be at least 8 characters."] }],
    [{ email: "a@b.c", name: "A", password: "é".repeat(37) }, { password: ["Password must be at most 72 bytes."] }],
    [{ email: "a@b.c", name: "A", password: "12345678", role: "root" }, { role: ["Role must be 'admin' or 'member'."] }],
  ])("create %j", (input, want) => expect(problems(() => validateUserCreate(input))).toEqual(want));
  it.each([
    [{}, null],
    [{ role: "member" }, null],
    [{ role: "superuser" }, { role: ["Role must be 'admin' or 'member'."] }],
    [{ name: "" }, { name: ["Name cannot be empty."] }],
    [{ password: "" }, { password: ["Password cannot be empty."] }],
  ])("update %j", (input, want) => expect(problems(() => validateUserUpdate(input))).toEqual(want));
  it.each([
    [{ name: "B" }, null],
    [{ new_password: "12345678", current_password: "old-password" }, null],
    [{ new_password: "12345678" }, { current_password: ["Current password is required."] }],
    [{ new_password: "1", current_password: "x" }, { new_password: ["Password must be at least 8 characters."] }],
  ])("profile %j", (input, want) => expect(problems(() => validateProfileUpdate(input))).toEqual(want));
});

describe("auth inputs", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  it.each([
    [{ email: "a@b.c", password: "x" }, null],
    [
      { email: "", password: "" },
      { email: ["Email is required."], password: ["Password is required."] },
    ],
  ])("login %j", (input, want) => expect(problems(() => validateLogin(input))).toEqual(want));
  it.each([
    [{ description: "ci" }, null],
    [{ description: "ci", expires_at: "2026-02-01T00:00:00Z" }, null],
    [{ description: "" }, { description: ["Description is required."] }],
    [{ description: "ci", expires_at: "tomorrow" }, { expires_at: ["Expiry must be an RFC 3339 timestamp."] }],
    [{ description: "ci", expires_at: "2025-01-01T00:00:00Z" }, { expires_at: ["Expiry must be in the future."] }],
  ])("api key %j", (input, want) => expect(problems(() => validateAPIKeyCreate(input, now))).toEqual(want));
});

describe("services", () => {
  it.each([
    [{ name: "web" }, null],
    [{ name: "web-2", image: "nginx:1.27", ports: [{ container_port: 80, host_port: 8080 }], replicas: 2 }, null],
    [{ name: "Web" }, { name: [DNS] }],
    [{ name: "my service" }, { name: [DNS] }],
    [{ name: "-web" }, { name: [DNS] }],
    [{ name: "a".repeat(64) }, { name: [DNS] }],
    [{ name: "" }, { name: ["Name is required."] }],
    [
      { name: "web", image: "nginx; rm -rf /" },
      { image: ["Image must be a Docker image reference such as nginx:1.27 or ghcr.io/org/app:tag."] },
    ],
    [{ name: "web", replicas: -1 }, { replicas: ["Replicas must be a whole number of zero or more."] }],
    [{ name: "web", replicas: 1.5 }, { replicas: ["Replicas must be a whole number of zero or more."] }],
    [{ name: "web", ports: [{ container_port: 0 }] }, { "ports[0].container_port": ["Container port must be between 1 and 65535."] }],
    [
      {
        name: "web",
        ports: [
          { container_port: 80, host_port: 8080 },
          { container_port: 81, host_port: 8080 },
        ],
      },
      { "ports[1].host_port": ["Host port 8080 is used twice."] },
    ],
    [
      { name: "web", volumes: [{ name: "data", mount_path: "relative" }] },
      { "volumes[0].mount_path": ["Mount path must be an absolute path inside the container."] },
    ],
    [
      { name: "web", volumes: [{ name: "data", mount_path: "/a/../etc" }] },
      { "volumes[0].mount_path": ["Mount path cannot be / or contain '..'."] },
    ],
    [
      { name: "web", volumes: [{ name: "../x", mount_path: "/data" }] },
      { "volumes[0].name": ["Volume name must be lowercase letters, digits and hyphens (max 32)."] },
    ],
    [{ name: "web", resources: { memory_mb: 2 } }, { "resources.memory_mb": ["Memory must be 0 (no limit) or at least 6 MiB."] }],
    [{ name: "web", icon_url: "javascript:alert(1)" }, { icon_url: ["Icon URL must use http or https."] }],
    [{ name: "web", icon_url: "not a url" }, { icon_url: ["Icon URL is not a valid URL."] }],
    [{ name: "web", icon_url: `https://x.io/${"a".repeat(2100)}` }, { icon_url: ["Icon URL is too long (max 2048 characters)."] }],
  ])("create %j", (input, want) => expect(problems(() => validateServiceCreate(input as never))).toEqual(want));
  it.each([
    [{}, null],
    [{ icon_url: "" }, null],
    [{ name: "" }, { name: ["Name cannot be empty."] }],
    [{ image: "" }, { image: ["Image cannot be empty."] }],
  ])("update %j", (input, want) => expect(problems(() => validateServiceUpdate(input))).toEqual(want));
});

describe("deployments", () => {
  it.each([
    [{ image: "busybox" }, null],
    [{ image: "" }, { image: ["Image is required."] }],
    [{ image: "busybox", replicas: -2 }, { replicas: ["Replicas must be a whole number of zero or more."] }],
    [
      { image: "busybox", env_vars: { "BAD-KEY": "x" } },
      { "env_vars.BAD-KEY": ["Key must contain only letters, digits and underscores, and cannot start with a digit."] },
    ],
  ])("create %j", (input, want) => expect(problems(() => validateDeploymentCreate(input))).toEqual(want));
  it("keeps the end of a long log tail", () => {
    const tail = `${"a".repeat(20_000)}END`;
    const out = truncateLogTail(tail);
    expect(out).toHaveLength(10 * 1024);
    expect(out.endsWith("END")).toBe(true);
  });
});

describe("canvas", () => {
  const base = { id: "n1", type: "note", position_x: 0, position_y: 0 };
  it.each([
    [base, null],
    [{ ...base, type: "rocket" }, "Node type is invalid."],
    [{ ...base, id: "../../etc" }, "Node id is invalid."],
    [{ ...base, position_x: Number.NaN }, "Node position is invalid."],
    [{ ...base, position_x: 1e12 }, "Node position is invalid."],
    [{ ...base, data: "[1]" }, "Node data must be a JSON object."],
    [{ ...base, parent_id: "n1" }, "A node cannot be its own parent."],
    [{ ...base, type: "group", parent_id: "g2" }, "Group nodes cannot be nested inside another group."],
  ])("node %j", (input, want) => expect(problems(() => validateNodeUpsert(input))).toEqual(want));
  it.each([
    [{ id: "e1", source_id: "a", target_id: "b" }, null],
    [
      { id: "e1", source_id: "a", target_id: "b", data: '{"managed":"env-ref"}' },
      "This edge is managed by the system and cannot be edited.",
    ],
  ])("edge %j", (input, want) => expect(problems(() => validateEdgeUpsert(input))).toEqual(want));
  it("positions", () => {
    expect(problems(() => validatePositions([{ id: "a", position_x: 1, position_y: 2 }]))).toBeNull();
    expect(problems(() => validatePositions("x" as never))).toBe("Positions must be a list of at most 1000.");
  });
});

describe("normalizePage", () => {
  it.each([
    [{}, { offset: 0, limit: 20 }],
    [{ limit: 0 }, { offset: 0, limit: 20 }],
    [{ limit: 500 }, { offset: 0, limit: 100 }],
    [
      { offset: -5, limit: 10 },
      { offset: 0, limit: 10 },
    ],
    [{ offset: Number.NaN }, { offset: 0, limit: 20 }],
  ])("%j → %j", (input, want) => expect(normalizePage(input)).toEqual(want));
});

describe("effectiveServiceNames", () => {
  const change = (op: string, extra: Partial<PendingChange>): PendingChange =>
    ({ id: "c", project_id: "p", seq: 1, op, target_type: "service", payload: {}, created_at: "", ...extra }) as PendingChange;
  it("applies creates, renames and deletes in order, lowercased", () => {
    const names = effectiveServiceNames(
      [
        { id: "s1", name: "web" },
        { id: "s2", name: "db" },
      ],
      [
        change("service.create", { target_temp_id: "t1", payload: { name: "Worker" } }),
        change("service.update", { target_id: "s1", payload: { name: "frontend" } }),
        change("service.delete", { target_id: "s2" }),
        change("service.update", { target_id: "gone", payload: { name: "ghost" } }),
      ],
    );
    expect(names).toEqual(
      new Map([
        ["frontend", "s1"],
        ["worker", "t1"],
      ]),
    );
  });
});

describe("presets", () => {
  it("every preset declares a port, a data volume and valid env", () => {
    for (const p of DATABASE_PRESETS) {
      expect(p.ports?.length).toBeGreaterThan(0);
      expect(p.volumes?.length).toBeGreaterThan(0);
      for (const e of p.env_vars) expect(Number(e.value !== undefined) + Number(e.generate !== undefined)).toBe(1);
    }
    expect(DATABASE_PRESETS.map((p) => p.name)).toEqual([...DATABASE_PRESETS.map((p) => p.name)].sort());
  });
  it.each([
    ["random_hex_32", 32, /^[0-9a-f]{64}$/],
    ["random_base64_24", 24, /^[A-Za-z0-9_-]{32}$/],
    ["password_24", 24, /^[A-Za-z0-9]{24}$/],
  ] as const)("%s", (gen, n, pattern) => {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
    expect(generateValue(gen, bytes)).toMatch(pattern);
  });
  it("materializePreset fills every generator", () => {
    let calls = 0;
    const p = materializePreset(DATABASE_PRESETS.find((x) => x.id === "mysql")!, (n) => {
      calls++;
      return new Uint8Array(n).fill(calls);
    });
    expect(calls).toBe(2);
    for (const e of p.env_vars) {
      expect(e.generate).toBeUndefined();
      expect(typeof e.value).toBe("string");
    }
  });
});

describe("volume names", () => {
  it("names a volume by its service's id, so joined names cannot collide (issue 10 item 11)", () => {
    const a = volumeName("shop", "7f0c2a52-0000-4000-8000-000000000001", "x");
    const b = volumeName("shop", "7f0c2a52-0000-4000-8000-000000000002", "x");
    expect(a).toBe("dk-shop-7f0c2a52-0000-4000-8000-000000000001-x");
    expect(a).not.toBe(b);
  });
});
