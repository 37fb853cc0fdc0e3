/** Admin introspection: what runs, on what, and how loaded it is. Every part is best effort. */

export interface DockerAbout {
  reachable: boolean;
  error?: string;
  server_version?: string;
  api_version?: string;
  os?: string;
  kernel_version?: string;
  architecture?: string;
  storage_driver?: string;
  logging_driver?: string;
  cgroup_driver?: string;
  docker_root_dir?: string;
  warnings?: string[];
}

export interface SystemAbout {
  deploykit: {
    version: string;
    node_version: string;
    started_at: string;
    instance_id: string;
    /** The periodic resync interval (-reconcile-interval), when known. */
    reconcile_interval_seconds?: number;
  };
  docker: DockerAbout;
  database: { path: string; size_bytes: number };
}

export interface UsageBytes {
  total_bytes: number;
  used_bytes: number;
  usage_pct: number;
}

export interface DiskUsage extends UsageBytes {
  mountpoint: string;
}

export interface HostStatus {
  hostname: string;
  uptime: number;
  cpu: { cores: number; usage_pct: number; load1: number; load5: number; load15: number };
  memory: UsageBytes;
  swap: UsageBytes;
  disks: DiskUsage[];
}

export interface DockerStatus {
  reachable: boolean;
  error?: string;
  containers: number;
  containers_running: number;
  containers_stopped: number;
  images: number;
  images_size_bytes: number;
  volumes: number;
  volumes_size_bytes: number;
  build_cache_bytes: number;
  /**
   * When this state was observed (SystemService.status). A slow or hung daemon is not waited for: the
   * last observation is served while a fresh one is fetched in the background.
   */
  checked_at?: string;
  /** Seconds between `checked_at` and the answer. */
  age_seconds?: number;
}

export interface DeployKitCounts {
  projects: number;
  services: number;
  containers: number;
  services_by_status: Record<string, number>;
}

export interface SystemStatus {
  host: HostStatus;
  docker: DockerStatus;
  deploykit: DeployKitCounts;
  /** Scheduled state backups (issue 20), when the daemon runs them. */
  backups?: ScheduledBackupStatus;
}

/** One scheduled backup attempt. */
export interface ScheduledBackupResult {
  at: string;
  ok: boolean;
  path?: string;
  bytes?: number;
  rows?: { table: string; count: number }[];
  error?: string;
  duration_ms: number;
}

export interface ScheduledBackupStatus {
  enabled: boolean;
  directory: string;
  interval_hours: number;
  retention: number;
  /** Scheduled backups now in the directory. */
  kept: number;
  /** The last attempt since the daemon started. */
  last?: ScheduledBackupResult;
  last_success_at?: string;
  next_at?: string;
  /** What the admin must look at: the last attempt failed, or no success for two intervals. */
  warning?: string;
}

/** Scheduled backups as the HTTP layer sees them (src/sqlite ScheduledBackups). */
export interface ScheduledBackupRunner {
  status(): Promise<ScheduledBackupStatus>;
  /** Takes one now (admin "Back up now"); never throws, the result says what happened. */
  runNow(): Promise<ScheduledBackupResult>;
}

/** The warning admin System shows for scheduled backups, if any. */
export function scheduledBackupWarning(st: Omit<ScheduledBackupStatus, "warning">, now: Date): string | undefined {
  if (!st.enabled) return undefined;
  if (st.last && !st.last.ok) return `The last scheduled backup failed: ${st.last.error ?? "unknown error"}`;
  if (st.last_success_at) {
    const age = now.getTime() - Date.parse(st.last_success_at);
    if (age > 2 * st.interval_hours * 3_600_000) return `No scheduled backup has succeeded since ${st.last_success_at}.`;
  }
  return undefined;
}

/** A DockerStatus with every count zero: the starting point, and what an unreachable daemon reports. */
export function emptyDockerStatus(error?: string): DockerStatus {
  const st: DockerStatus = {
    reachable: false,
    containers: 0,
    containers_running: 0,
    containers_stopped: 0,
    images: 0,
    images_size_bytes: 0,
    volumes: 0,
    volumes_size_bytes: 0,
    build_cache_bytes: 0,
  };
  if (error !== undefined) st.error = error;
  return st;
}

/** Percentage with one decimal, 0 when the total is 0. */
export function percent(used: number, total: number): number {
  return total > 0 ? Math.round((used / total) * 1000) / 10 : 0;
}

/**
 * SystemService reports on the host, Docker and the database. It never throws because Docker is
 * unreachable: that is reported as `reachable: false` with the error. `status()` never waits long
 * for Docker: a daemon that does not answer promptly is reported by its last known state and its age.
 */
export interface SystemService {
  about(): Promise<SystemAbout>;
  status(): Promise<SystemStatus>;
}

/**
 * Docker introspection for SystemService (implemented by src/docker). Never throws for an
 * unreachable daemon: `reachable: false` with the error instead.
 */
export interface DockerIntrospector {
  about(): Promise<DockerAbout>;
  status(): Promise<DockerStatus>;
}
