import { randomBytes } from "node:crypto";
import * as deploykit from "../index.ts";
import { type DB, fromJSON, type Tx } from "./db.ts";

const KEY_INSTANCE_NAME = "instance_name";
const KEY_INSTANCE_ID = "instance_id";
const KEY_REGISTRY_ALLOWLIST = "registry_allowlist";
const KEY_PORT_MIN = "published_port_min";
const KEY_PORT_MAX = "published_port_max";
const KEY_DEFAULT_MEMORY = "default_memory_mb";
const KEY_DEFAULT_CPUS = "default_cpus";
const KEY_DEFAULT_PIDS = "default_pids_limit";
/** 1 TiB: a typo guard, not a capacity check. */
const MAX_DEFAULT_MEMORY_MB = 1024 * 1024;
const KEY_SHELL_MEMBERS = "shell_members_allowed";
const KEY_BASE_DOMAIN = "base_domain";
const KEY_ACME_EMAIL = "acme_email";
const KEY_ACME_DIRECTORY = "acme_directory";
const KEY_INTERNAL_HOSTNAMES = "internal_hostnames";
const KEY_BACKUP_ENABLED = "backup_enabled";
const KEY_BACKUP_INTERVAL = "backup_interval_hours";
const KEY_BACKUP_RETENTION = "backup_retention";
const KEY_BACKUP_DIR = "backup_dir";
export const INSTANCE_NAME_MAX = 100;
/** Issue 13's build limits: key, smallest and largest value, whole number or not, and the message. */
const BUILD_KEYS = [
  ["build_concurrency", 1, 64, true, "Builds at once must be a whole number from 1 to 64."],
  ["build_cpus", 0, 1024, false, "Build CPUs must be 0 (no limit) or a number of cores up to 1024."],
  ["build_memory_mb", 0, MAX_DEFAULT_MEMORY_MB, true, "Build memory must be 0 (no limit) or a whole number of MiB, at least 6."],
  ["build_timeout_minutes", 1, 24 * 60, true, "Build timeout must be a whole number of minutes from 1 to 1440."],
  ["images_kept", 1, 100, true, "Images kept must be a whole number from 1 to 100."],
  ["build_cache_max_mb", 0, 1024 * 1024 * 1024, true, "Build cache size must be 0 (never pruned) or a whole number of MiB."],
] as const;
/** Stored under their own names (`build_base_node`, …). */
const BUILD_BASES = Object.keys(deploykit.BUILD_BASE_SETTINGS) as deploykit.BuildBaseSetting[];

export class SettingsService implements deploykit.SettingsService {
  readonly #db: DB;

  constructor(db: DB) {
    this.#db = db;
  }

  async getSettings(): Promise<deploykit.Settings> {
    return this.#db.read((tx) => getSettings(tx));
  }

  async updateSettings(upd: deploykit.SettingsUpdate): Promise<deploykit.Settings> {
    const v = new deploykit.FieldErrorCollector();
    if (upd.instance_name !== undefined) {
      if (typeof upd.instance_name !== "string" || deploykit.isBlank(upd.instance_name))
        v.add("instance_name", "Instance name cannot be empty.");
      else if (upd.instance_name.trim().length > INSTANCE_NAME_MAX)
        v.add("instance_name", `Instance name is too long (max ${INSTANCE_NAME_MAX} characters).`);
      else if (deploykit.hasControlChars(upd.instance_name)) v.add("instance_name", "Instance name cannot contain control characters.");
    }
    if (upd.registry_allowlist !== undefined) deploykit.validateRegistryAllowlist(upd.registry_allowlist, v);
    const isPort = (n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
    if (upd.published_port_min !== undefined && !isPort(upd.published_port_min))
      v.add("published_port_min", "Lowest published port must be between 1 and 65535.");
    if (upd.published_port_max !== undefined && !isPort(upd.published_port_max))
      v.add("published_port_max", "Highest published port must be between 1 and 65535.");
    if (
      upd.default_memory_mb !== undefined &&
      (!Number.isInteger(upd.default_memory_mb) ||
        upd.default_memory_mb < 0 ||
        (upd.default_memory_mb > 0 && upd.default_memory_mb < 6) ||
        upd.default_memory_mb > MAX_DEFAULT_MEMORY_MB)
    )
      v.add("default_memory_mb", "Default memory must be 0 (no limit) or a whole number of MiB, at least 6.");
    if (upd.default_cpus !== undefined && (typeof upd.default_cpus !== "number" || !(upd.default_cpus >= 0) || upd.default_cpus > 1024))
      v.add("default_cpus", "Default CPUs must be 0 (no limit) or a number of cores up to 1024.");
    if (
      upd.default_pids_limit !== undefined &&
      (!Number.isInteger(upd.default_pids_limit) ||
        upd.default_pids_limit < deploykit.MIN_PIDS_LIMIT ||
        upd.default_pids_limit > deploykit.MAX_PIDS_LIMIT)
    )
      v.add(
        "default_pids_limit",
        `Process limit must be a whole number between ${deploykit.MIN_PIDS_LIMIT} and ${deploykit.MAX_PIDS_LIMIT}.`,
      );
    if (upd.shell_members_allowed !== undefined && typeof upd.shell_members_allowed !== "boolean")
      v.add("shell_members_allowed", "Must be true or false.");
    deploykit.validateProxySettings(upd, v);
    validateBackupSettings(upd, v);
    for (const [key, min, max, whole, message] of BUILD_KEYS) {
      const n = upd[key];
      // The engine refuses a memory limit under 6 MB: every limited build would fail.
      const tooSmall = key === "build_memory_mb" && typeof n === "number" && n > 0 && n < 6;
      if (
        n !== undefined &&
        (typeof n !== "number" || !Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n)) || tooSmall)
      )
        v.add(key, message);
    }
    for (const key of BUILD_BASES) {
      const image = upd[key];
      if (image !== undefined) deploykit.validateImage(typeof image === "string" ? image.trim() : image, v, true, key);
    }
    v.throwIfAny();
    return this.#db.write((tx) => {
      const current = getSettings(tx);
      const min = upd.published_port_min ?? current.published_port_min;
      const max = upd.published_port_max ?? current.published_port_max;
      if (min > max) throw deploykit.fieldError({ published_port_max: ["Highest published port must not be below the lowest."] });
      if (upd.instance_name !== undefined) setValue(tx, KEY_INSTANCE_NAME, upd.instance_name.trim());
      if (upd.registry_allowlist !== undefined)
        setValue(tx, KEY_REGISTRY_ALLOWLIST, JSON.stringify(deploykit.normalizeRegistryAllowlist(upd.registry_allowlist)));
      if (upd.published_port_min !== undefined) setValue(tx, KEY_PORT_MIN, String(min));
      if (upd.published_port_max !== undefined) setValue(tx, KEY_PORT_MAX, String(max));
      if (upd.default_memory_mb !== undefined) setValue(tx, KEY_DEFAULT_MEMORY, String(upd.default_memory_mb));
      if (upd.default_cpus !== undefined) setValue(tx, KEY_DEFAULT_CPUS, String(upd.default_cpus));
      if (upd.default_pids_limit !== undefined) setValue(tx, KEY_DEFAULT_PIDS, String(upd.default_pids_limit));
      for (const [key] of BUILD_KEYS) if (upd[key] !== undefined) setValue(tx, key, String(upd[key]));
      if (upd.shell_members_allowed !== undefined) setValue(tx, KEY_SHELL_MEMBERS, upd.shell_members_allowed ? "1" : "0");
      if (upd.base_domain !== undefined)
        setValue(tx, KEY_BASE_DOMAIN, upd.base_domain.trim() === "" ? "" : deploykit.normalizeHostname(upd.base_domain));
      if (upd.acme_email !== undefined) setValue(tx, KEY_ACME_EMAIL, upd.acme_email.trim());
      if (upd.acme_directory !== undefined) setValue(tx, KEY_ACME_DIRECTORY, upd.acme_directory.trim());
      if (upd.internal_hostnames !== undefined)
        setValue(tx, KEY_INTERNAL_HOSTNAMES, JSON.stringify([...new Set(upd.internal_hostnames.map(deploykit.normalizeHostname))].sort()));
      if (upd.backup_enabled !== undefined) setValue(tx, KEY_BACKUP_ENABLED, upd.backup_enabled ? "1" : "0");
      if (upd.backup_interval_hours !== undefined) setValue(tx, KEY_BACKUP_INTERVAL, String(upd.backup_interval_hours));
      if (upd.backup_retention !== undefined) setValue(tx, KEY_BACKUP_RETENTION, String(upd.backup_retention));
      if (upd.backup_dir !== undefined) setValue(tx, KEY_BACKUP_DIR, upd.backup_dir.trim());
      for (const key of BUILD_BASES) {
        const image = upd[key];
        if (image !== undefined) setValue(tx, key, image.trim());
      }
      return getSettings(tx);
    });
  }

  async instanceID(): Promise<string> {
    const existing = this.#db.read((tx) => getValue(tx, KEY_INSTANCE_ID));
    if (existing) return existing;
    return this.#db.write((tx) => {
      // Another process may have won the race between the read and this write; keep its id.
      tx.run(
        "INSERT OR IGNORE INTO settings (key, value, updated_at) VALUES (?, ?, ?)",
        KEY_INSTANCE_ID,
        randomBytes(8).toString("hex"),
        tx.now,
      );
      return getValue(tx, KEY_INSTANCE_ID) as string;
    });
  }
}

function getValue(tx: Tx, key: string): string | undefined {
  return tx.get<{ value: string }>("SELECT value FROM settings WHERE key = ?", key)?.value;
}

function setValue(tx: Tx, key: string, value: string): void {
  tx.run(
    "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    key,
    value,
    tx.now,
  );
}

export function getSettings(tx: Tx): deploykit.Settings {
  const d = deploykit.DEFAULT_SETTINGS;
  const num = (key: string, fallback: number) => {
    const v = Number(getValue(tx, key));
    return Number.isInteger(v) && v > 0 ? v : fallback;
  };
  // 0 is a value here ("no limit"), not "unset".
  const nonNegative = (key: string, fallback: number) => {
    const raw = getValue(tx, key);
    const v = raw === undefined ? Number.NaN : Number(raw);
    return Number.isFinite(v) && v >= 0 ? v : fallback;
  };
  return {
    instance_name: getValue(tx, KEY_INSTANCE_NAME) ?? d.instance_name,
    registry_allowlist: registryAllowlist(tx),
    published_port_min: num(KEY_PORT_MIN, d.published_port_min),
    published_port_max: num(KEY_PORT_MAX, d.published_port_max),
    default_memory_mb: nonNegative(KEY_DEFAULT_MEMORY, d.default_memory_mb),
    default_cpus: nonNegative(KEY_DEFAULT_CPUS, d.default_cpus),
    default_pids_limit: num(KEY_DEFAULT_PIDS, d.default_pids_limit),
    shell_members_allowed: (getValue(tx, KEY_SHELL_MEMBERS) ?? (d.shell_members_allowed ? "1" : "0")) === "1",
    base_domain: getValue(tx, KEY_BASE_DOMAIN) ?? d.base_domain,
    acme_email: getValue(tx, KEY_ACME_EMAIL) ?? d.acme_email,
    acme_directory: getValue(tx, KEY_ACME_DIRECTORY) || d.acme_directory,
    internal_hostnames: stringList(tx, KEY_INTERNAL_HOSTNAMES),
    backup_enabled: (getValue(tx, KEY_BACKUP_ENABLED) ?? (d.backup_enabled ? "1" : "0")) === "1",
    backup_interval_hours: num(KEY_BACKUP_INTERVAL, d.backup_interval_hours),
    backup_retention: num(KEY_BACKUP_RETENTION, d.backup_retention),
    backup_dir: getValue(tx, KEY_BACKUP_DIR) ?? d.backup_dir,
    build_concurrency: num("build_concurrency", d.build_concurrency),
    build_cpus: nonNegative("build_cpus", d.build_cpus),
    build_memory_mb: nonNegative("build_memory_mb", d.build_memory_mb),
    build_timeout_minutes: num("build_timeout_minutes", d.build_timeout_minutes),
    images_kept: num("images_kept", d.images_kept),
    build_cache_max_mb: nonNegative("build_cache_max_mb", d.build_cache_max_mb),
    build_base_node: getValue(tx, "build_base_node") || d.build_base_node,
    build_base_python: getValue(tx, "build_base_python") || d.build_base_python,
    build_base_go: getValue(tx, "build_base_go") || d.build_base_go,
    build_base_static: getValue(tx, "build_base_static") || d.build_base_static,
  };
}

function validateBackupSettings(upd: deploykit.SettingsUpdate, v: deploykit.FieldErrorCollector): void {
  if (upd.backup_enabled !== undefined && typeof upd.backup_enabled !== "boolean") v.add("backup_enabled", "Must be true or false.");
  const whole = (n: unknown, max: number) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= max;
  if (upd.backup_interval_hours !== undefined && !whole(upd.backup_interval_hours, deploykit.MAX_BACKUP_INTERVAL_HOURS))
    v.add("backup_interval_hours", `Backup interval must be a whole number of hours from 1 to ${deploykit.MAX_BACKUP_INTERVAL_HOURS}.`);
  if (upd.backup_retention !== undefined && !whole(upd.backup_retention, deploykit.MAX_BACKUP_RETENTION))
    v.add("backup_retention", `Backups kept must be a whole number from 1 to ${deploykit.MAX_BACKUP_RETENTION}.`);
  if (upd.backup_dir !== undefined) {
    if (typeof upd.backup_dir !== "string") v.add("backup_dir", "Must be a path.");
    else if (upd.backup_dir.length > 4096 || deploykit.hasControlChars(upd.backup_dir))
      v.add("backup_dir", "Backup directory must be a path without control characters.");
  }
}

function registryAllowlist(tx: Tx): string[] {
  return stringList(tx, KEY_REGISTRY_ALLOWLIST);
}

function stringList(tx: Tx, key: string): string[] {
  const list = fromJSON<unknown>(getValue(tx, key) ?? "[]", []);
  return Array.isArray(list) ? list.filter((e): e is string => typeof e === "string") : [];
}

/**
 * Throws EINVALID on `field` when `image` names a registry the C08 rule refuses (registry.ts), read
 * with the allow-list of this transaction: every staging path (pending changes, explicit deployments,
 * rollbacks) calls it where it writes.
 */
export function assertRegistryAllowed(tx: Tx, image: unknown, hostAddresses: deploykit.HostAddresses, field = "image"): void {
  if (typeof image !== "string" || deploykit.imageRegistry(image) === null) return;
  deploykit.assertRegistryAllowed(image, { allowlist: registryAllowlist(tx), hostAddresses: hostAddresses() }, field);
}

/** No host addresses known: only the fixed ranges apply (tests; src/cmd wires the OS's). */
export const NO_HOST_ADDRESSES: deploykit.HostAddresses = () => [];
