/** Instance-wide settings: what an admin sets once for the whole installation, and their rules. */

/** Instance-wide settings, persisted in the database. */
export interface Settings {
  /** Shown in the UI title and page header. */
  instance_name: string;
  /**
   * Registries an image may name although they are loopback, link-local, private or this host's own
   * (`host` or `host:port`; see registry.ts). Empty by default.
   */
  registry_allowlist: string[];
  /** Host ports services may publish: min–max inclusive (below 1024 are the host's own services). */
  published_port_min: number;
  published_port_max: number;
  /**
   * Limits every container gets when its service sets none (0 = none for memory and CPUs): one
   * runaway service must not OOM or fork-bomb the host. A service may set its own, higher or lower.
   */
  default_memory_mb: number;
  default_cpus: number;
  default_pids_limit: number;
  /** Whether members (not only admins) may open a shell in a service's container. Off by default. */
  shell_members_allowed: boolean;
  /** Issue 12: generated domains are `<service>-<project-slug>.<base_domain>`; empty: none are generated. */
  base_domain: string;
  /** The ACME account's contact email (expiry notices). */
  acme_email: string;
  /** The RFC 8555 directory certificates come from (default Let's Encrypt production). */
  acme_directory: string;
  /** Names (besides `.localhost` and IP addresses) whose certificates come from the proxy's internal CA. */
  internal_hostnames: string[];
  /** Issue 20: scheduled state backups (a verified copy of the database, taken online). */
  backup_enabled: boolean;
  backup_interval_hours: number;
  /** How many scheduled backups are kept (the newest). */
  backup_retention: number;
  /** Where they go: absolute, or relative to the data directory; empty = `<data-dir>/backups`. */
  backup_dir: string;
  /** Issue 13: builds at once on this host (one per service always). */
  build_concurrency: number;
  /** CPU (cores) and memory (MiB) limits of each build step; 0 = none. Either one set: the classic builder (buildEngineFor). */
  build_cpus: number;
  build_memory_mb: number;
  /** A build running longer is stopped and its deployment fails. */
  build_timeout_minutes: number;
  /** Built images kept per service (the newest deployments'), so Rollback works; older ones are removed. */
  images_kept: number;
  /** dockerd's build cache is pruned to this size after each build; 0 = never pruned. */
  build_cache_max_mb: number;
  /**
   * Issue 13: the base images of the Dockerfiles DeployKit generates for sources without one
   * (docs/builds.md). Go apps compile in `build_base_go` and run in `build_base_static`, whose image
   * must have busybox's `sh` and `httpd` (static sites are served by it).
   */
  build_base_node: string;
  build_base_python: string;
  build_base_go: string;
  build_base_static: string;
}

/** The settings that name a generated Dockerfile's base image, and the detected kind each is for. */
export const BUILD_BASE_SETTINGS = {
  build_base_node: "node",
  build_base_python: "python",
  build_base_go: "go",
  build_base_static: "static",
} as const;
export type BuildBaseSetting = keyof typeof BUILD_BASE_SETTINGS;

export const MAX_BACKUP_INTERVAL_HOURS = 24 * 31;
export const MAX_BACKUP_RETENTION = 1000;

export const LETS_ENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory";
export const LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory";
export const LETSENCRYPT_DIRECTORY = LETS_ENCRYPT_PRODUCTION;

export const DEFAULT_SETTINGS: Settings = {
  instance_name: "DeployKit",
  registry_allowlist: [],
  published_port_min: 1024,
  published_port_max: 65535,
  default_memory_mb: 2048,
  default_cpus: 0,
  default_pids_limit: 4096,
  shell_members_allowed: false,
  base_domain: "",
  acme_email: "",
  acme_directory: LETS_ENCRYPT_PRODUCTION,
  internal_hostnames: [],
  backup_enabled: true,
  backup_interval_hours: 24,
  backup_retention: 7,
  backup_dir: "",
  build_concurrency: 1,
  build_cpus: 0,
  build_memory_mb: 0,
  build_timeout_minutes: 30,
  images_kept: 5,
  build_cache_max_mb: 10 * 1024,
  build_base_node: "node:22-bookworm-slim",
  build_base_python: "python:3.12-slim",
  build_base_go: "golang:1.23-bookworm",
  build_base_static: "busybox:1.37",
};

export const MAX_PIDS_LIMIT = 1_000_000;
/** The fewest processes a container may be limited to: a shell and a few children. */
export const MIN_PIDS_LIMIT = 16;

/** The limits Docker gets for a container: the service's own, else the admin's defaults. 0 / absent = no limit. */
export interface EffectiveLimits {
  memory_mb: number;
  cpus: number;
  cpu_shares: number;
  pids_limit: number;
}

/**
 * A service's limits with the admin's defaults filled in where it sets none. An unset or 0 memory or
 * CPU limit means "none set", so the default applies: a service cannot opt out of the host's guard
 * rails, only choose its own values.
 */
export function effectiveLimits(
  own: { memory_mb?: number; cpus?: number; cpu_shares?: number } | null | undefined,
  defaults: Pick<Settings, "default_memory_mb" | "default_cpus" | "default_pids_limit">,
): EffectiveLimits {
  const pick = (v: number | undefined, d: number) => (typeof v === "number" && v > 0 ? v : Math.max(d, 0));
  return {
    memory_mb: pick(own?.memory_mb, defaults.default_memory_mb),
    cpus: pick(own?.cpus, defaults.default_cpus),
    cpu_shares: pick(own?.cpu_shares, 0),
    pids_limit: defaults.default_pids_limit > 0 ? defaults.default_pids_limit : DEFAULT_SETTINGS.default_pids_limit,
  };
}

export interface SettingsUpdate {
  instance_name?: string;
  /** Replaces the whole list. */
  registry_allowlist?: string[];
  published_port_min?: number;
  published_port_max?: number;
  default_memory_mb?: number;
  default_cpus?: number;
  default_pids_limit?: number;
  shell_members_allowed?: boolean;
  base_domain?: string;
  acme_email?: string;
  acme_directory?: string;
  /** Replaces the whole list. */
  internal_hostnames?: string[];
  backup_enabled?: boolean;
  backup_interval_hours?: number;
  backup_retention?: number;
  backup_dir?: string;
  build_concurrency?: number;
  build_cpus?: number;
  build_memory_mb?: number;
  build_timeout_minutes?: number;
  images_kept?: number;
  build_cache_max_mb?: number;
  build_base_node?: string;
  build_base_python?: string;
  build_base_go?: string;
  build_base_static?: string;
}

/**
 * Host ports a service may not publish: outside the admin's range, or reserved (`reserved` maps a port
 * to what holds it, e.g. the daemon's own listen port). Field errors keyed like `validatePorts`'.
 */
export function checkPublishedPorts(
  ports: readonly { host_port?: number | undefined }[],
  range: Pick<Settings, "published_port_min" | "published_port_max">,
  reserved: ReadonlyMap<number, string>,
): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  ports.forEach((p, i) => {
    const port = p?.host_port;
    if (typeof port !== "number" || port === 0) return;
    const holder = reserved.get(port);
    if (holder) errors[`ports[${i}].host_port`] = [`Host port ${port} is reserved (${holder}).`];
    else if (port < range.published_port_min || port > range.published_port_max)
      errors[`ports[${i}].host_port`] = [
        `Host port ${port} is outside the allowed range ${range.published_port_min}–${range.published_port_max}.`,
      ];
  });
  return errors;
}

/**
 * SettingsService stores instance settings and the instance id (generated at first start; it labels
 * every Docker object of this installation).
 */
export interface SettingsService {
  getSettings(): Promise<Settings>;
  /**
   * Admin only (the caller checks). Throws EINVALID (fields: `instance_name`, `registry_allowlist[i]`,
   * `base_domain`, `acme_email`, `acme_directory`, `internal_hostnames[i]`).
   */
  updateSettings(upd: SettingsUpdate): Promise<Settings>;
  /** Stable across restarts; created on first call. */
  instanceID(): Promise<string>;
}
