import { statSync } from "node:fs";
import { readFile, stat, statfs } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import * as deploykit from "../index.ts";

export interface SystemServiceOptions {
  docker: deploykit.DockerIntrospector;
  dbPath: string;
  version: string;
  instanceID: string;
  startedAt: Date;
  /** The reconciler's periodic resync interval, reported by about(). */
  reconcileIntervalMs?: number;
  projects: Pick<deploykit.ProjectService, "findProjects">;
  services: Pick<deploykit.ServiceService, "findServices">;
  containers: Pick<deploykit.ContainerService, "findContainers">;
  logger?: deploykit.Logger;
  /** Host probes, replaceable in tests. */
  host?: Partial<HostProbe>;
  /** How long status() waits for a fresh Docker answer before serving the last known one. */
  dockerWaitMs?: number;
  now?: () => Date;
}

/** A healthy daemon answers info (and the cached disk usage) well within this. */
export const DOCKER_WAIT_MS = 1000;

/** Where host figures come from; every probe may fail, and a failing one yields zeros. */
export interface HostProbe {
  hostname(): string;
  uptime(): number;
  cpus(): os.CpuInfo[];
  loadavg(): number[];
  totalmem(): number;
  freemem(): number;
  /** Contents of /proc/meminfo, or throws. */
  meminfo(): Promise<string>;
  statfs(p: string): Promise<{ blocks: number; bsize: number; bavail: number; bfree: number }>;
  /** Device id of the filesystem holding `p`. */
  device(p: string): Promise<number>;
}

const defaultProbe: HostProbe = {
  hostname: () => os.hostname(),
  uptime: () => os.uptime(),
  cpus: () => os.cpus(),
  loadavg: () => os.loadavg(),
  totalmem: () => os.totalmem(),
  freemem: () => os.freemem(),
  meminfo: () => readFile("/proc/meminfo", "utf8"),
  statfs: (p) => statfs(p),
  device: async (p) => (await stat(p)).dev,
};

interface CPUSample {
  idle: number;
  total: number;
}

/**
 * SystemService gathers the admin About/System figures. Each part is independent and best effort:
 * a failing probe gives zeros for its part and never fails the answer.
 */
export class SystemService implements deploykit.SystemService {
  private readonly opts: SystemServiceOptions;
  private readonly probe: HostProbe;
  private readonly logger: deploykit.Logger;
  /** CPU times at the previous status call, so usage is "since last asked" rather than since boot. */
  private lastCPU: CPUSample | undefined;
  /** Docker's root dir, learnt from the first successful about(); it only changes with a daemon reconfigure. */
  private dockerRoot: string | undefined;
  private readonly now: () => Date;
  /** The last Docker observation; a hung daemon must not hold up the System page. */
  private lastDocker: { value: deploykit.DockerStatus; at: Date } | undefined;
  /** At most one Docker refresh in flight, however many callers poll. */
  private refreshing: Promise<void> | undefined;
  /** Inside an outage already logged: logged once when it starts and once when it ends. */
  private dockerDown = false;

  constructor(opts: SystemServiceOptions) {
    this.opts = opts;
    this.probe = { ...defaultProbe, ...opts.host };
    this.logger = opts.logger ?? deploykit.nopLogger;
    this.now = opts.now ?? (() => new Date());
    this.lastCPU = this.sampleCPU();
  }

  async about(): Promise<deploykit.SystemAbout> {
    const docker: deploykit.DockerAbout = await this.opts.docker
      .about()
      .catch((err: unknown) => ({ reachable: false, error: errText(err) }));
    if (docker.reachable && docker.docker_root_dir) this.dockerRoot = docker.docker_root_dir;
    return {
      deploykit: {
        version: this.opts.version,
        node_version: process.version,
        started_at: this.opts.startedAt.toISOString(),
        instance_id: this.opts.instanceID,
        ...(this.opts.reconcileIntervalMs !== undefined ? { reconcile_interval_seconds: this.opts.reconcileIntervalMs / 1000 } : {}),
      },
      docker,
      database: { path: this.opts.dbPath, size_bytes: databaseSize(this.opts.dbPath) },
    };
  }

  async status(): Promise<deploykit.SystemStatus> {
    const [docker, counts] = await Promise.all([this.dockerStatus(), this.counts()]);
    const host = await this.host(this.dockerRoot);
    return { host, docker, deploykit: counts };
  }

  /** A fresh answer when Docker gives one within dockerWaitMs, else the last known state and its age. */
  private async dockerStatus(): Promise<deploykit.DockerStatus> {
    const waitMs = this.opts.dockerWaitMs ?? DOCKER_WAIT_MS;
    const asked = this.now();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.refreshDocker(), new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
    const now = this.now();
    const last = this.lastDocker;
    if (!last) {
      const secs = ((now.getTime() - asked.getTime()) / 1000).toFixed(1);
      return deploykit.emptyDockerStatus(`Docker has not answered (waited ${secs} s); still asking in the background.`);
    }
    const age_seconds = Math.max(0, Math.floor((now.getTime() - last.at.getTime()) / 1000));
    return { ...last.value, checked_at: last.at.toISOString(), age_seconds };
  }

  private refreshDocker(): Promise<void> {
    this.refreshing ??= (async () => {
      const value = await this.opts.docker.status().catch((err: unknown) => deploykit.emptyDockerStatus(errText(err)));
      if (value.reachable) await this.dockerRootDir();
      this.lastDocker = { value, at: this.now() };
      if (!value.reachable && !this.dockerDown) this.logger.warn({ error: value.error }, "Docker is unreachable");
      if (value.reachable && this.dockerDown) this.logger.info("Docker is reachable again");
      this.dockerDown = !value.reachable;
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async dockerRootDir(): Promise<string | undefined> {
    if (this.dockerRoot) return this.dockerRoot;
    try {
      const about = await this.opts.docker.about();
      if (about.reachable && about.docker_root_dir) this.dockerRoot = about.docker_root_dir;
    } catch {
      // Unknown root dir: its disk is simply not listed.
    }
    return this.dockerRoot;
  }

  private async host(dockerRoot: string | undefined): Promise<deploykit.HostStatus> {
    const p = this.probe;
    const cpu = { cores: 0, usage_pct: 0, load1: 0, load5: 0, load15: 0 };
    try {
      cpu.cores = p.cpus().length;
      cpu.usage_pct = this.cpuUsage();
    } catch (err) {
      this.logger.debug({ err: errText(err) }, "system: cpu probe failed");
    }
    try {
      const [l1 = 0, l5 = 0, l15 = 0] = p.loadavg();
      cpu.load1 = round2(l1);
      cpu.load5 = round2(l5);
      cpu.load15 = round2(l15);
    } catch {
      // zeros
    }
    const { memory, swap } = await this.memory();
    return {
      hostname: safe(() => p.hostname(), ""),
      uptime: Math.floor(safe(() => p.uptime(), 0)),
      cpu,
      memory,
      swap,
      disks: await this.disks(dockerRoot),
    };
  }

  private sampleCPU(): CPUSample | undefined {
    try {
      let idle = 0;
      let total = 0;
      for (const c of this.probe.cpus()) {
        const t = c.times;
        idle += t.idle;
        total += t.user + t.nice + t.sys + t.idle + t.irq;
      }
      return { idle, total };
    } catch {
      return undefined;
    }
  }

  private cpuUsage(): number {
    const now = this.sampleCPU();
    const prev = this.lastCPU;
    this.lastCPU = now;
    if (!now || !prev) return 0;
    const total = now.total - prev.total;
    const busy = total - (now.idle - prev.idle);
    return total > 0 ? Math.max(0, Math.min(100, deploykit.percent(busy, total))) : 0;
  }

  private async memory(): Promise<{ memory: deploykit.UsageBytes; swap: deploykit.UsageBytes }> {
    const zero = usage(0, 0);
    let memory = zero;
    let swap = zero;
    let info: Record<string, number> | undefined;
    try {
      info = parseMeminfo(await this.probe.meminfo());
    } catch {
      // Not Linux, or /proc not mounted: fall back to what Node knows.
    }
    try {
      const total = info?.MemTotal ?? this.probe.totalmem();
      // MemAvailable counts reclaimable cache as available; os.freemem() would call a warm cache "used".
      const available = info?.MemAvailable ?? this.probe.freemem();
      memory = usage(total, total - available);
    } catch (err) {
      this.logger.debug({ err: errText(err) }, "system: memory probe failed");
    }
    if (info?.SwapTotal !== undefined) swap = usage(info.SwapTotal, info.SwapTotal - (info.SwapFree ?? info.SwapTotal));
    return { memory, swap };
  }

  /** "/", the database's filesystem and Docker's, each once. */
  private async disks(dockerRoot: string | undefined): Promise<deploykit.DiskUsage[]> {
    const candidates = ["/"];
    if (this.opts.dbPath && this.opts.dbPath !== ":memory:") candidates.push(path.dirname(path.resolve(this.opts.dbPath)));
    if (dockerRoot) candidates.push(dockerRoot);
    const seen = new Set<string>();
    const out: deploykit.DiskUsage[] = [];
    for (const mount of candidates) {
      try {
        const fs = await this.probe.statfs(mount);
        let key = `${fs.blocks}:${fs.bsize}:${fs.bfree}`;
        try {
          key = `dev:${await this.probe.device(mount)}`;
        } catch {
          // Fall back to the filesystem's shape as its identity.
        }
        if (seen.has(key)) continue;
        seen.add(key);
        const total = fs.blocks * fs.bsize;
        // Used as `df` shows it: blocks not free; the root-reserved share counts as neither.
        const used = (fs.blocks - fs.bfree) * fs.bsize;
        out.push({ mountpoint: mount, ...usage(total, used) });
      } catch (err) {
        this.logger.debug({ err: errText(err), mount }, "system: statfs failed");
      }
    }
    return out;
  }

  private async counts(): Promise<deploykit.DeployKitCounts> {
    const total = async (f: () => Promise<{ total: number }>) => {
      try {
        return (await f()).total;
      } catch (err) {
        this.logger.debug({ err: errText(err) }, "system: count failed");
        return 0;
      }
    };
    const [projects, services, containers, ...byStatus] = await Promise.all([
      total(() => this.opts.projects.findProjects({ limit: 1 })),
      total(() => this.opts.services.findServices({ limit: 1 })),
      total(() => this.opts.containers.findContainers({ limit: 1 })),
      ...deploykit.SERVICE_STATUSES.map((status) => total(() => this.opts.services.findServices({ status, limit: 1 }))),
    ]);
    const services_by_status: Record<string, number> = {};
    deploykit.SERVICE_STATUSES.forEach((s, i) => {
      services_by_status[s] = byStatus[i] ?? 0;
    });
    return { projects, services, containers, services_by_status };
  }
}

/** Size of the SQLite file plus its WAL; 0 for an in-memory or missing database. */
export function databaseSize(dbPath: string): number {
  if (!dbPath || dbPath === ":memory:" || dbPath.startsWith("file::memory:")) return 0;
  let size = 0;
  for (const f of [dbPath, `${dbPath}-wal`]) {
    try {
      size += statSync(f).size;
    } catch {
      // Missing file: counts as 0.
    }
  }
  return size;
}

/** /proc/meminfo values in bytes, keyed by field name. */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * (line.includes("kB") ? 1024 : 1);
  }
  return out;
}

function usage(total: number, used: number): deploykit.UsageBytes {
  const t = Math.max(0, total);
  const u = Math.max(0, Math.min(used, t));
  return { total_bytes: t, used_bytes: u, usage_pct: deploykit.percent(u, t) };
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
