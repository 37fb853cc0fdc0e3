import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { SettingsService } from "./settings.ts";
import { expectError, mustOpenDB } from "./testing.ts";

describe("SettingsService", () => {
  it("returns defaults, then the stored name", async () => {
    const s = new SettingsService(mustOpenDB());
    expect(await s.getSettings()).toEqual(deploykit.DEFAULT_SETTINGS);
    const lab = { ...deploykit.DEFAULT_SETTINGS, instance_name: "Lab" };
    expect(await s.updateSettings({ instance_name: "  Lab  " })).toEqual(lab);
    expect(await s.getSettings()).toEqual(lab);
    expect(await s.updateSettings({})).toEqual(lab);
  });

  it("stores the registry allow-list trimmed, lower case and without duplicates, and refuses bad entries", async () => {
    const s = new SettingsService(mustOpenDB());
    const upd = await s.updateSettings({ registry_allowlist: [" Registry.LAN:5000", "registry.lan:5000", "10.0.0.5"] });
    expect(upd.registry_allowlist).toEqual(["registry.lan:5000", "10.0.0.5"]);
    expect((await s.getSettings()).registry_allowlist).toEqual(["registry.lan:5000", "10.0.0.5"]);
    const err = await expectError(s.updateSettings({ registry_allowlist: ["ok", "https://x"] }), deploykit.EINVALID);
    expect(Object.keys(err.fields ?? {})).toEqual(["registry_allowlist[1]"]);
  });

  it.each([
    ["", "Instance name cannot be empty."],
    ["x".repeat(101), "Instance name is too long (max 100 characters)."],
    ["a\u0007", "Instance name cannot contain control characters."],
  ])("refuses instance_name %j", async (name, message) => {
    const err = await expectError(new SettingsService(mustOpenDB()).updateSettings({ instance_name: name }), deploykit.EINVALID);
    expect(err.fields).toEqual({ instance_name: [message] });
  });

  it("stores the published-port range and refuses a bad one", async () => {
    const s = new SettingsService(mustOpenDB());
    expect(await s.getSettings()).toMatchObject({ published_port_min: 1024, published_port_max: 65535 });
    expect(await s.updateSettings({ published_port_min: 20000, published_port_max: 20100 })).toMatchObject({
      published_port_min: 20000,
      published_port_max: 20100,
    });
    const inverted = await expectError(s.updateSettings({ published_port_max: 10000 }), deploykit.EINVALID);
    expect(inverted.fields).toEqual({ published_port_max: ["Highest published port must not be below the lowest."] });
    const zero = await expectError(s.updateSettings({ published_port_min: 0 }), deploykit.EINVALID);
    expect(zero.fields).toEqual({ published_port_min: ["Lowest published port must be between 1 and 65535."] });
  });

  it("stores the default container limits, 0 meaning no limit, and refuses bad ones", async () => {
    const s = new SettingsService(mustOpenDB());
    expect(await s.getSettings()).toMatchObject({ default_memory_mb: 2048, default_cpus: 0, default_pids_limit: 4096 });
    expect(await s.updateSettings({ default_memory_mb: 0, default_cpus: 1.5, default_pids_limit: 512 })).toMatchObject({
      default_memory_mb: 0,
      default_cpus: 1.5,
      default_pids_limit: 512,
    });
    const bad = await expectError(s.updateSettings({ default_memory_mb: 3, default_cpus: -1, default_pids_limit: 2 }), deploykit.EINVALID);
    expect(Object.keys(bad.fields ?? {}).sort()).toEqual(["default_cpus", "default_memory_mb", "default_pids_limit"]);
    expect(await s.getSettings()).toMatchObject({ default_memory_mb: 0, default_cpus: 1.5, default_pids_limit: 512 });
  });

  it("stores the base images of generated Dockerfiles and refuses what is not an image reference", async () => {
    const s = new SettingsService(mustOpenDB());
    expect(await s.getSettings()).toMatchObject({
      build_base_node: "node:22-bookworm-slim",
      build_base_python: "python:3.12-slim",
      build_base_go: "golang:1.23-bookworm",
      build_base_static: "busybox:1.37",
    });
    expect(
      await s.updateSettings({ build_base_node: " deploykit-test/node:1 ", build_base_static: "registry.lan:5000/bb:1" }),
    ).toMatchObject({
      build_base_node: "deploykit-test/node:1",
      build_base_python: "python:3.12-slim",
      build_base_static: "registry.lan:5000/bb:1",
    });
    const bad = await expectError(s.updateSettings({ build_base_go: "", build_base_python: "no spaces allowed" }), deploykit.EINVALID);
    expect(bad.fields).toEqual({
      build_base_go: ["Image is required."],
      build_base_python: ["Image must be a Docker image reference such as nginx:1.27 or ghcr.io/org/app:tag."],
    });
    expect(await s.getSettings()).toMatchObject({ build_base_go: "golang:1.23-bookworm", build_base_python: "python:3.12-slim" });
  });

  it("stores the build CPU and memory limits; a memory limit the engine would refuse is invalid", async () => {
    const s = new SettingsService(mustOpenDB());
    expect(await s.getSettings()).toMatchObject({ build_cpus: 0, build_memory_mb: 0 });
    expect(await s.updateSettings({ build_cpus: 0.5, build_memory_mb: 6 })).toMatchObject({ build_cpus: 0.5, build_memory_mb: 6 });
    const bad = await expectError(s.updateSettings({ build_cpus: -1, build_memory_mb: 5 }), deploykit.EINVALID);
    expect(bad.fields).toEqual({
      build_cpus: ["Build CPUs must be 0 (no limit) or a number of cores up to 1024."],
      build_memory_mb: ["Build memory must be 0 (no limit) or a whole number of MiB, at least 6."],
    });
    expect(await s.updateSettings({ build_cpus: 0, build_memory_mb: 0 })).toMatchObject({ build_cpus: 0, build_memory_mb: 0 });
  });

  it("keeps one instance id across restarts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dk-settings-"));
    try {
      const path = join(dir, "s.db");
      const db = mustOpenDB({ path });
      const id = await new SettingsService(db).instanceID();
      expect(id).toMatch(/^[0-9a-f]{16}$/);
      expect(await new SettingsService(db).instanceID()).toBe(id);
      db.close();
      const again = mustOpenDB({ path });
      expect(await new SettingsService(again).instanceID()).toBe(id);
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
