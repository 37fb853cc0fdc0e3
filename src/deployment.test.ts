import { describe, expect, it } from "vitest";
import {
  DEFAULT_STOP_GRACE_SECONDS,
  type DeploymentStatus,
  defaultRollbackTarget,
  deploymentReplicas,
  FieldErrorCollector,
  ROLLOUT_START_FIRST,
  ROLLOUT_STOP_FIRST,
  rolloutStrategy,
  VOLUME_REPLICAS_MESSAGE,
  validateDeploymentCreate,
  validateStopGrace,
  validateVolumeReplicas,
} from "./index.ts";

const vol = [{ name: "data", mount_path: "/var/lib/postgresql/data" }];

describe("rollout strategy", () => {
  it("is stop-first exactly when a volume is mounted", () => {
    expect(rolloutStrategy({ volumes: vol })).toBe(ROLLOUT_STOP_FIRST);
    expect(rolloutStrategy({ volumes: [] })).toBe(ROLLOUT_START_FIRST);
    expect(rolloutStrategy({})).toBe(ROLLOUT_START_FIRST);
  });

  it("runs one container for a volume deployment whatever older data says", () => {
    expect(deploymentReplicas({ replicas: 3, volumes: vol })).toBe(1);
    expect(deploymentReplicas({ replicas: 0, volumes: vol })).toBe(1);
    expect(deploymentReplicas({ replicas: 3, volumes: [] })).toBe(3);
    expect(deploymentReplicas({ replicas: 0 })).toBe(1);
  });
});

describe("volume and replicas", () => {
  it("names both fields when replicas > 1 meets a volume", () => {
    const v = new FieldErrorCollector();
    validateVolumeReplicas(vol, 2, v);
    expect(v.fields).toEqual({ replicas: [VOLUME_REPLICAS_MESSAGE], volumes: [VOLUME_REPLICAS_MESSAGE] });
    for (const [volumes, replicas] of [
      [vol, 1],
      [vol, 0],
      [[], 5],
      [undefined, 5],
      [vol, undefined],
    ] as const) {
      const ok = new FieldErrorCollector();
      validateVolumeReplicas(volumes as never, replicas, ok);
      expect(ok.any).toBe(false);
    }
  });

  it("refuses it on an explicit deployment too", () => {
    expect(() => validateDeploymentCreate({ image: "postgres:16", volumes: vol, replicas: 2 })).toThrow(/Validation failed/);
    expect(() => validateDeploymentCreate({ image: "postgres:16", volumes: vol, replicas: 1 })).not.toThrow();
  });
});

describe("stop grace", () => {
  it("takes whole seconds from 0 to 300", () => {
    expect(DEFAULT_STOP_GRACE_SECONDS).toBe(30);
    for (const ok of [undefined, 0, 30, 300]) {
      const v = new FieldErrorCollector();
      validateStopGrace(ok, v);
      expect(v.any).toBe(false);
    }
    for (const bad of [-1, 301, 1.5, Number.NaN, "30" as unknown as number]) {
      const v = new FieldErrorCollector();
      validateStopGrace(bad, v);
      expect(Object.keys(v.fields)).toEqual(["stop_grace_seconds"]);
    }
  });
});

describe("start command", () => {
  it("resolves the service's own variables and leaves unknown references as written", async () => {
    const { resolveStartCommand, findPreset } = await import("./index.ts");
    expect(resolveStartCommand(["redis-server", "--requirepass", "${{REDIS_PASSWORD}}"], { REDIS_PASSWORD: "pw" })).toEqual([
      "redis-server",
      "--requirepass",
      "pw",
    ]);
    expect(resolveStartCommand(["echo", "a${{X}}b${{Y}}"], { X: "1" })).toEqual(["echo", "a1b${{Y}}"]);
    expect(resolveStartCommand(null, {})).toBeNull();
    expect(resolveStartCommand([], {})).toBeNull();
    // Redis enforces the preset's generated password only when started with it.
    const redis = findPreset("redis");
    expect(redis?.start_command).toEqual(["redis-server", "--requirepass", "${{REDIS_PASSWORD}}", "--appendonly", "yes"]);
    expect(redis?.env_vars.map((e) => e.key)).toContain("REDIS_PASSWORD");
  });
});

describe("defaultRollbackTarget", () => {
  const served = "2026-01-01T00:00:00Z";
  const dep = (id: string, status: DeploymentStatus, healthy = true) => ({ id, status, ...(healthy ? { healthy_at: served } : {}) });
  it.each([
    {
      name: "the one before the active one",
      deps: [dep("c", "healthy"), dep("b", "superseded"), dep("a", "superseded")],
      active: "c",
      want: "b",
    },
    {
      name: "the active one while a rollout is starting",
      deps: [dep("d", "starting", false), dep("c", "healthy")],
      active: "c",
      want: "c",
    },
    {
      name: "the active one while a rollout is pending",
      deps: [dep("d", "pending", false), dep("c", "healthy"), dep("b", "superseded")],
      active: "c",
      want: "c",
    },
    {
      name: "the last served one in a stop-first rollout (nothing active)",
      deps: [dep("d", "starting", false), dep("c", "superseded")],
      active: null,
      want: "c",
    },
    {
      name: "past a failed and a cancelled rollout",
      deps: [dep("e", "failed", false), dep("d", "cancelled", false), dep("c", "healthy"), dep("b", "superseded")],
      active: "c",
      want: "b",
    },
    {
      name: "never one that failed after serving",
      deps: [dep("c", "healthy"), dep("b", "failed"), dep("a", "superseded")],
      active: "c",
      want: "a",
    },
    { name: "nothing with a single deployment", deps: [dep("c", "healthy")], active: "c", want: null },
    { name: "nothing while the first rollout is starting", deps: [dep("c", "starting", false)], active: null, want: null },
  ])("$name", ({ deps, active, want }) => {
    expect(defaultRollbackTarget(deps, active)?.id ?? null).toBe(want);
  });
});
