import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type * as os from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type * as deploykit from "../index.ts";
import * as mock from "../mock/index.ts";
import { databaseSize, type HostProbe, parseMeminfo, SystemService, type SystemServiceOptions } from "./system.ts";

const dir = mkdtempSync(join(tmpdir(), "dk-sysinfo-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MEMINFO = `MemTotal:        8000000 kB
MemFree:          500000 kB
MemAvailable:    6000000 kB
Buffers:          100000 kB
SwapTotal:       2000000 kB
SwapFree:        1500000 kB
Hugepagesize:       2048 kB
`;

const dockerAbout: deploykit.DockerAbout = {
  reachable: true,
  server_version: "27.0.1",
  api_version: "1.46",
  docker_root_dir: "/var/lib/docker",
};
const dockerStatus: deploykit.DockerStatus = {
  reachable: true,
  containers: 5,
  containers_running: 3,
  containers_stopped: 2,
  images: 4,
  images_size_bytes: 1000,
  volumes: 2,
  volumes_size_bytes: 200,
  build_cache_bytes: 30,
};

function cpu(user: number, idle: number): os.CpuInfo {
  return { model: "x", speed: 1, times: { user, nice: 0, sys: 0, idle, irq: 0 } };
}

/** Host probes with fixed answers; override per test. */
function fakeHost(over: Partial<HostProbe> = {}): HostProbe {
  return {
    hostname: () => "box",
    uptime: () => 1234.7,
    cpus: () => [cpu(100, 900), cpu(100, 900)],
    loadavg: () => [0.5, 0.25, 0.125],
    totalmem: () => 1000,
    freemem: () => 400,
    meminfo: async () => MEMINFO,
    statfs: async (p) =>
      p === "/" ? { blocks: 1000, bsize: 4096, bavail: 300, bfree: 400 } : { blocks: 2000, bsize: 4096, bavail: 1000, bfree: 1000 },
    device: async (p) => (p === "/" ? 1 : 2),
    ...over,
  };
}

function mustOpenService(over: Partial<SystemServiceOptions> = {}): SystemService {
  return new SystemService({
    docker: mock.DockerIntrospector({ about: async () => dockerAbout, status: async () => dockerStatus }),
    dbPath: ":memory:",
    version: "1.2.3",
    instanceID: "inst-1",
    startedAt: new Date("2026-01-02T03:04:05.000Z"),
    projects: mock.ProjectService({ findProjects: async () => ({ items: [], total: 3 }) }),
    services: mock.ServiceService({
      findServices: async (f) => ({
        items: [],
        total: f.status === undefined ? 10 : f.status === "running" ? 7 : f.status === "failed" ? 1 : 0,
      }),
    }),
    containers: mock.ContainerService({ findContainers: async () => ({ items: [], total: 12 }) }),
    host: fakeHost(),
    ...over,
  });
}

describe("SystemService.about", () => {
  it("reports DeployKit, Docker and the database", async () => {
    const db = join(dir, "a.db");
    writeFileSync(db, Buffer.alloc(4096));
    writeFileSync(`${db}-wal`, Buffer.alloc(100));
    const about = await mustOpenService({ dbPath: db }).about();
    expect(about).toEqual({
      deploykit: { version: "1.2.3", node_version: process.version, started_at: "2026-01-02T03:04:05.000Z", instance_id: "inst-1" },
      docker: dockerAbout,
      database: { path: db, size_bytes: 4196 },
    });
  });

  it("reports the reconcile interval it was given", async () => {
    const about = await mustOpenService({ reconcileIntervalMs: 45_000 }).about();
    expect(about.deploykit.reconcile_interval_seconds).toBe(45);
  });

  it("reports an unreachable Docker as a value", async () => {
    const docker = mock.DockerIntrospector({ about: async () => ({ reachable: false, error: "Docker is unreachable: ENOENT" }) });
    expect((await mustOpenService({ docker }).about()).docker).toEqual({ reachable: false, error: "Docker is unreachable: ENOENT" });
    const throwing = mock.DockerIntrospector({
      about: async () => {
        throw new Error("boom");
      },
    });
    expect((await mustOpenService({ docker: throwing }).about()).docker).toEqual({ reachable: false, error: "boom" });
  });

  it.each([
    [":memory:", 0],
    ["/nonexistent/dir/x.db", 0],
    ["", 0],
  ])("database size of %j is %d", (p, want) => {
    expect(databaseSize(p)).toBe(want);
  });
});

describe("SystemService.status", () => {
  it("counts DeployKit objects with one-row queries, per service status", async () => {
    const calls: deploykit.ServiceFilter[] = [];
    const services = mock.ServiceService({
      findServices: async (f) => {
        calls.push(f);
        return { items: [], total: f.status === "running" ? 7 : f.status === undefined ? 10 : 0 };
      },
    });
    const st = await mustOpenService({ services }).status();
    expect(st.deploykit).toEqual({
      projects: 3,
      services: 10,
      containers: 12,
      services_by_status: { created: 0, deploying: 0, running: 7, degraded: 0, failed: 0, stopped: 0 },
    });
    expect(calls.every((f) => f.limit === 1)).toBe(true);
    expect(st.docker).toEqual({ ...dockerStatus, checked_at: expect.any(String), age_seconds: 0 });
  });

  it("a failing count gives 0, not an error", async () => {
    const projects = mock.ProjectService({
      findProjects: async () => {
        throw new Error("db locked");
      },
    });
    const st = await mustOpenService({ projects }).status();
    expect(st.deploykit.projects).toBe(0);
    expect(st.deploykit.services).toBe(10);
  });

  it("reports the host: memory from MemAvailable, swap, load, uptime", async () => {
    const st = await mustOpenService().status();
    expect(st.host.hostname).toBe("box");
    expect(st.host.uptime).toBe(1234);
    expect(st.host.memory).toEqual({ total_bytes: 8_000_000 * 1024, used_bytes: 2_000_000 * 1024, usage_pct: 25 });
    expect(st.host.swap).toEqual({ total_bytes: 2_000_000 * 1024, used_bytes: 500_000 * 1024, usage_pct: 25 });
    expect(st.host.cpu).toMatchObject({ cores: 2, load1: 0.5, load5: 0.25, load15: 0.13 });
  });

  it("falls back to os memory figures without /proc/meminfo, with zero swap", async () => {
    const host = fakeHost({
      meminfo: async () => {
        throw new Error("ENOENT");
      },
    });
    const st = await mustOpenService({ host }).status();
    expect(st.host.memory).toEqual({ total_bytes: 1000, used_bytes: 600, usage_pct: 60 });
    expect(st.host.swap).toEqual({ total_bytes: 0, used_bytes: 0, usage_pct: 0 });
  });

  it("measures CPU usage since the previous call", async () => {
    let times = [cpu(100, 900), cpu(100, 900)];
    const svc = mustOpenService({ host: fakeHost({ cpus: () => times }) });
    // 2 cores: +300 busy and +100 idle on each since construction → 75 %.
    times = [cpu(400, 1000), cpu(400, 1000)];
    expect((await svc.status()).host.cpu.usage_pct).toBe(75);
    // Nothing happened since: 0, not the since-boot average.
    expect((await svc.status()).host.cpu.usage_pct).toBe(0);
    times = [cpu(410, 1090), cpu(410, 1090)];
    expect((await svc.status()).host.cpu.usage_pct).toBe(10);
  });

  it("lists /, the database's and Docker's filesystems once each", async () => {
    const seen: string[] = [];
    const host = fakeHost({
      statfs: async (p) => {
        seen.push(p);
        return { blocks: 1000, bsize: 4096, bavail: 300, bfree: 400 };
      },
      // The database shares "/"; Docker's root is its own filesystem.
      device: async (p) => (p === "/var/lib/docker" ? 2 : 1),
    });
    const st = await mustOpenService({ host, dbPath: "/srv/deploykit/db.sqlite" }).status();
    expect(seen).toEqual(["/", "/srv/deploykit", "/var/lib/docker"]);
    expect(st.host.disks).toEqual([
      { mountpoint: "/", total_bytes: 4_096_000, used_bytes: 2_457_600, usage_pct: 60 },
      { mountpoint: "/var/lib/docker", total_bytes: 4_096_000, used_bytes: 2_457_600, usage_pct: 60 },
    ]);
  });

  it("never throws: every probe failing gives zeros, Docker down gives reachable:false", async () => {
    const fail = () => {
      throw new Error("probe failed");
    };
    const afail = async () => fail();
    const host: HostProbe = {
      hostname: fail,
      uptime: fail,
      cpus: fail,
      loadavg: fail,
      totalmem: fail,
      freemem: fail,
      meminfo: afail,
      statfs: afail,
      device: afail,
    };
    const docker = mock.DockerIntrospector({ about: afail, status: afail });
    const projects = mock.ProjectService({ findProjects: afail });
    const services = mock.ServiceService({ findServices: afail });
    const containers = mock.ContainerService({ findContainers: afail });
    const st = await mustOpenService({ host, docker, projects, services, containers }).status();
    expect(st.host).toEqual({
      hostname: "",
      uptime: 0,
      cpu: { cores: 0, usage_pct: 0, load1: 0, load5: 0, load15: 0 },
      memory: { total_bytes: 0, used_bytes: 0, usage_pct: 0 },
      swap: { total_bytes: 0, used_bytes: 0, usage_pct: 0 },
      disks: [],
    });
    expect(st.docker).toMatchObject({ reachable: false, error: "probe failed", containers: 0, images_size_bytes: 0 });
    expect(st.deploykit).toEqual({
      projects: 0,
      services: 0,
      containers: 0,
      services_by_status: { created: 0, deploying: 0, running: 0, degraded: 0, failed: 0, stopped: 0 },
    });
  });

  it("reads the real host with the default probes", async () => {
    const svc = new SystemService({ ...baseOpts(), dbPath: join(dir, "real.db") });
    const st = await svc.status();
    expect(st.host.hostname).not.toBe("");
    expect(st.host.cpu.cores).toBeGreaterThan(0);
    expect(st.host.memory.total_bytes).toBeGreaterThan(0);
    expect(st.host.disks[0]?.mountpoint).toBe("/");
    expect(st.host.disks[0]!.total_bytes).toBeGreaterThan(0);
  });
});

describe("SystemService.status while dockerd hangs", () => {
  /** A Docker fake whose status() answers, fails or hangs (until released) as the test says. */
  function controllableDocker() {
    let mode: "ok" | "hang" | "down" = "ok";
    const hung: (() => void)[] = [];
    let calls = 0;
    const docker = mock.DockerIntrospector({
      about: async () => dockerAbout,
      status: async () => {
        calls++;
        if (mode === "hang") await new Promise<void>((r) => hung.push(r));
        if (mode !== "ok") throw new Error("Docker is unreachable: timeout");
        return dockerStatus;
      },
    });
    return {
      docker,
      set: (m: typeof mode) => {
        mode = m;
      },
      release: () => {
        for (const r of hung.splice(0)) r();
      },
      calls: () => calls,
    };
  }

  function recordingLogger() {
    const lines: [string, string][] = [];
    const rec =
      (level: string) =>
      (o: object | string, m?: string): void => {
        lines.push([level, typeof o === "string" ? o : (m ?? "")]);
      };
    const logger: deploykit.Logger = {
      trace: rec("trace"),
      debug: rec("debug"),
      info: rec("info"),
      warn: rec("warn"),
      error: rec("error"),
      child: () => logger,
    };
    return { logger, lines };
  }

  it("serves the last known state with its age at once, refreshing once in the background", async () => {
    const d = controllableDocker();
    let clock = new Date("2026-01-02T03:00:00.000Z");
    const svc = mustOpenService({ docker: d.docker, dockerWaitMs: 50, now: () => clock });
    expect((await svc.status()).docker).toEqual({ ...dockerStatus, checked_at: "2026-01-02T03:00:00.000Z", age_seconds: 0 });

    d.set("hang");
    clock = new Date("2026-01-02T03:00:42.000Z");
    const t0 = Date.now();
    const answers = await Promise.all([svc.status(), svc.status(), svc.status()]);
    expect(Date.now() - t0).toBeLessThan(1000);
    for (const st of answers) expect(st.docker).toEqual({ ...dockerStatus, checked_at: "2026-01-02T03:00:00.000Z", age_seconds: 42 });
    expect(d.calls()).toBe(2);

    // The hung call finally times out: answers say so from then on (the next call hangs again).
    clock = new Date("2026-01-02T03:00:50.000Z");
    d.release();
    for (let i = 0; (await svc.status()).docker.reachable; i++) expect(i).toBeLessThan(100);
    clock = new Date("2026-01-02T03:00:53.000Z");
    const st = await svc.status();
    expect(st.docker).toMatchObject({ reachable: false, checked_at: "2026-01-02T03:00:50.000Z", age_seconds: 3 });
    expect(st.host.hostname).toBe("box");
    expect(st.deploykit.services).toBe(10);
    d.release();
  });

  it("answers promptly even when Docker has never answered", async () => {
    const d = controllableDocker();
    d.set("hang");
    const svc = mustOpenService({ docker: d.docker, dockerWaitMs: 50 });
    const t0 = Date.now();
    const st = await svc.status();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(st.docker).toMatchObject({ reachable: false, containers: 0 });
    expect(st.docker.error).toMatch(/^Docker has not answered \(waited 0\.\d s\); still asking in the background\.$/);
    d.release();
  });

  it('logs "Docker is unreachable" once per outage, and its end once', async () => {
    const d = controllableDocker();
    const { logger, lines } = recordingLogger();
    const svc = mustOpenService({ docker: d.docker, logger, dockerWaitMs: 50 });
    const docker = () => lines.filter(([, m]) => m.startsWith("Docker"));
    await svc.status();
    d.set("down");
    for (let i = 0; i < 5; i++) await svc.status();
    d.set("ok");
    for (let i = 0; i < 3; i++) await svc.status();
    d.set("down");
    await svc.status();
    await svc.status();
    expect(docker()).toEqual([
      ["warn", "Docker is unreachable"],
      ["info", "Docker is reachable again"],
      ["warn", "Docker is unreachable"],
    ]);
  });
});

function baseOpts(): SystemServiceOptions {
  return {
    docker: mock.DockerIntrospector({
      about: async () => ({ reachable: false, error: "x" }),
      status: async () => ({ ...dockerStatus, reachable: false }),
    }),
    dbPath: ":memory:",
    version: "dev",
    instanceID: "i",
    startedAt: new Date(),
    projects: mock.ProjectService({ findProjects: async () => ({ items: [], total: 0 }) }),
    services: mock.ServiceService({ findServices: async () => ({ items: [], total: 0 }) }),
    containers: mock.ContainerService({ findContainers: async () => ({ items: [], total: 0 }) }),
  };
}

describe("parseMeminfo", () => {
  it("reads kB fields as bytes", () => {
    const m = parseMeminfo(MEMINFO);
    expect(m.MemAvailable).toBe(6_000_000 * 1024);
    expect(m.SwapFree).toBe(1_500_000 * 1024);
  });
});
