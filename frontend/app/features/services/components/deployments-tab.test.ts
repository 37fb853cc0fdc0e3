import { describe, expect, it } from "vitest";
import type { Deployment } from "../../../../../src/deployment.ts";
import { healthNote, rolloutNote } from "./deployments-tab.tsx";

function dep(id: string, created_at: string, extra: Partial<Deployment> = {}): Deployment {
  return {
    id,
    service_id: "s1",
    image: "postgres:16",
    env_vars: {},
    ports: [],
    volumes: [{ name: "data", mount_path: "/var/lib/postgresql/data" }],
    replicas: 1,
    stop_grace_seconds: 30,
    restart_policy: "always",
    restart_max_retries: 10,
    cron_timeout_seconds: 3600,
    healthcheck_timeout_seconds: 60,
    status: "healthy",
    attempt_count: 0,
    baseline_restart_count: 0,
    created_at,
    ...extra,
  };
}

describe("rolloutNote", () => {
  const first = dep("d1", "2026-01-01T00:00:00Z", { status: "superseded" });

  it("says the old container was stopped first on a volume service's redeploys", () => {
    const second = dep("d2", "2026-01-01T00:01:00Z");
    expect(rolloutNote(second, [second, first])).toBe("Stopped the old container first because this service has a volume.");
    const next = dep("d3", "2026-01-01T00:02:00Z", { status: "pending", stop_grace_seconds: 45 });
    expect(rolloutNote(next, [next, second, first])).toMatch(/Will stop the old container first \(up to 45 s/);
  });

  it("says nothing for a first deployment, a cancelled one or a stateless service", () => {
    expect(rolloutNote(first, [first])).toBeNull();
    const cancelled = dep("d2", "2026-01-01T00:01:00Z", { status: "cancelled" });
    expect(rolloutNote(cancelled, [cancelled, first])).toBeNull();
    const web = dep("d3", "2026-01-01T00:02:00Z", { volumes: [] });
    expect(rolloutNote(web, [web, first])).toBeNull();
  });
});

describe("healthNote", () => {
  it("says what a starting health-checked deployment waits for, and nothing otherwise", () => {
    expect(
      healthNote(dep("d1", "2026-01-01T00:00:00Z", { status: "starting", healthcheck_path: "/healthz", healthcheck_timeout_seconds: 30 })),
    ).toBe("Goes live when GET /healthz answers 2xx or 3xx; fails after 30 s without one.");
    expect(healthNote(dep("d1", "2026-01-01T00:00:00Z", { status: "healthy", healthcheck_path: "/healthz" }))).toBeNull();
    expect(healthNote(dep("d1", "2026-01-01T00:00:00Z", { status: "starting" }))).toBeNull();
  });
});
