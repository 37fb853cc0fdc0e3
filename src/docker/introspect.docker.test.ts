import { describe, expect, it } from "vitest";
import { EUNAVAILABLE, errorCode } from "../index.ts";
import { Client } from "./client.ts";
import { randomID } from "./testutil.ts";

describe("Introspector", () => {
  it("describes the real daemon", async () => {
    const client = new Client({ instanceID: randomID("inst-") });
    const about = await client.introspector.about();
    expect(about.reachable).toBe(true);
    expect(about.error).toBeUndefined();
    expect(about.server_version).toMatch(/^\d+\.\d+/);
    expect(about.api_version).toMatch(/^1\.\d+$/);
    expect(about.docker_root_dir).toMatch(/^\//);
    expect(about.os).toBeTruthy();
    expect(about.kernel_version).toBeTruthy();
    expect(about.architecture).toBeTruthy();
    expect(about.storage_driver).toBeTruthy();
    expect(about.logging_driver).toBe("json-file");
    expect(Array.isArray(about.warnings)).toBe(true);

    const status = await client.introspector.status();
    expect(status.reachable).toBe(true);
    expect(status.images).toBeGreaterThanOrEqual(1);
    expect(status.images_size_bytes).toBeGreaterThan(0);
    expect(status.containers_running + status.containers_stopped).toBeLessThanOrEqual(status.containers);
    expect(status.volumes).toBeGreaterThanOrEqual(0);
    expect(status.build_cache_bytes).toBeGreaterThanOrEqual(0);
  });

  it("reports an unreachable daemon as a value, with zeros", async () => {
    const client = new Client({ instanceID: randomID("inst-"), socketPath: "/nonexistent/docker.sock" });
    const about = await client.introspector.about();
    expect(about).toEqual({ reachable: false, error: expect.stringMatching(/^Docker is unreachable: ENOENT/) });
    const status = await client.introspector.status();
    expect(status).toEqual({
      reachable: false,
      error: expect.stringMatching(/^Docker is unreachable: /),
      containers: 0,
      containers_running: 0,
      containers_stopped: 0,
      images: 0,
      images_size_bytes: 0,
      volumes: 0,
      volumes_size_bytes: 0,
      build_cache_bytes: 0,
    });
  });

  it("constructing a client does not connect", () => {
    expect(() => new Client({ instanceID: "x", socketPath: "/nonexistent/docker.sock" })).not.toThrow();
  });
});

describe("hung daemon", () => {
  it("fails calls with EUNAVAILABLE after the API timeout instead of hanging", async () => {
    const { createServer } = await import("node:net");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const path = join(tmpdir(), `${randomID("hung-")}.sock`);
    const sockets: import("node:net").Socket[] = [];
    const server = createServer((s) => sockets.push(s)); // accepts, never answers
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const client = new Client({ instanceID: "x", socketPath: path, apiTimeoutMs: 300 });
      const start = Date.now();
      const err = await client.runtime.listContainers().catch((e: unknown) => e as Error);
      expect(Date.now() - start).toBeLessThan(5000);
      expect(errorCode(err)).toBe(EUNAVAILABLE);
      expect((await client.introspector.about()).reachable).toBe(false);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});
