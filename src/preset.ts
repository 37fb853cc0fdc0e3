import type { PortMapping, VolumeMount } from "./deployment.ts";

export const GENERATORS = ["random_hex_32", "random_base64_24", "password_24"] as const;
export type Generator = (typeof GENERATORS)[number];

export interface PresetEnvVar {
  key: string;
  value?: string;
  generate?: Generator;
  /** Generated secrets are sealed: this response is the one time their value is shown. */
  sealed?: boolean;
}

/** A service template (the database presets). `generate` values are filled when a preset is fetched by id. */
export interface Preset {
  id: string;
  name: string;
  image: string;
  icon_url: string;
  ports?: PortMapping[];
  volumes?: VolumeMount[];
  /** Command the server is started with, when the image's default does not enforce the preset's secret. */
  start_command?: string[];
  env_vars: PresetEnvVar[];
}

/**
 * The database presets, sorted by name. Each declares its data volume so redeploys keep the data.
 */
export const DATABASE_PRESETS: readonly Preset[] = [
  {
    id: "mariadb",
    name: "MariaDB",
    image: "mariadb:11",
    icon_url: "https://cdn.jsdelivr.net/gh/devicons/devicon/icons/mariadb/mariadb-original.svg",
    ports: [{ container_port: 3306, protocol: "tcp" }],
    volumes: [{ name: "data", mount_path: "/var/lib/mysql" }],
    env_vars: [
      { key: "MARIADB_DATABASE", value: "app" },
      { key: "MARIADB_USER", value: "app" },
      { key: "MARIADB_PASSWORD", generate: "password_24" },
      { key: "MARIADB_ROOT_PASSWORD", generate: "password_24" },
    ],
  },
  {
    id: "meilisearch",
    name: "Meilisearch",
    image: "getmeili/meilisearch:v1.11",
    icon_url: "https://www.meilisearch.com/favicon.svg",
    ports: [{ container_port: 7700, protocol: "tcp" }],
    volumes: [{ name: "data", mount_path: "/meili_data" }],
    env_vars: [
      { key: "MEILI_ENV", value: "production" },
      { key: "MEILI_MASTER_KEY", generate: "password_24" },
    ],
  },
  {
    id: "mysql",
    name: "MySQL",
    image: "mysql:8",
    icon_url: "https://cdn.jsdelivr.net/gh/devicons/devicon/icons/mysql/mysql-original.svg",
    ports: [{ container_port: 3306, protocol: "tcp" }],
    volumes: [{ name: "data", mount_path: "/var/lib/mysql" }],
    env_vars: [
      { key: "MYSQL_DATABASE", value: "app" },
      { key: "MYSQL_USER", value: "app" },
      { key: "MYSQL_PASSWORD", generate: "password_24" },
      { key: "MYSQL_ROOT_PASSWORD", generate: "password_24" },
    ],
  },
  {
    id: "postgres",
    name: "PostgreSQL",
    image: "postgres:16",
    icon_url: "https://cdn.jsdelivr.net/gh/devicons/devicon/icons/postgresql/postgresql-original.svg",
    ports: [{ container_port: 5432, protocol: "tcp" }],
    volumes: [{ name: "data", mount_path: "/var/lib/postgresql/data" }],
    env_vars: [
      { key: "POSTGRES_DB", value: "app" },
      { key: "POSTGRES_USER", value: "postgres" },
      { key: "POSTGRES_PASSWORD", generate: "password_24" },
      { key: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
    ],
  },
  {
    id: "redis",
    name: "Redis",
    image: "redis:7",
    icon_url: "https://cdn.jsdelivr.net/gh/devicons/devicon/icons/redis/redis-original.svg",
    ports: [{ container_port: 6379, protocol: "tcp" }],
    volumes: [{ name: "data", mount_path: "/data" }],
    // The official image ignores REDIS_PASSWORD: the server enforces it only when started with it,
    // and appendonly makes every acknowledged write survive a restart.
    start_command: ["redis-server", "--requirepass", "${{REDIS_PASSWORD}}", "--appendonly", "yes"],
    env_vars: [{ key: "REDIS_PASSWORD", generate: "password_24" }],
  },
  {
    id: "typesense",
    name: "Typesense",
    image: "typesense/typesense:27.1",
    icon_url: "https://typesense.org/favicon.ico",
    ports: [{ container_port: 8108, protocol: "tcp" }],
    volumes: [{ name: "data", mount_path: "/data" }],
    env_vars: [
      { key: "TYPESENSE_DATA_DIR", value: "/data" },
      { key: "TYPESENSE_API_KEY", generate: "password_24" },
    ],
  },
];

const ALPHANUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Produces a generator's value from random bytes supplied by the caller (so the domain needs no
 * crypto import): random_hex_32 needs 32 bytes, random_base64_24 24, password_24 24.
 */
export function generateValue(gen: Generator, bytes: Uint8Array): string {
  switch (gen) {
    case "random_hex_32":
      return Array.from(bytes.subarray(0, 32), (b) => b.toString(16).padStart(2, "0")).join("");
    case "random_base64_24": {
      let out = "";
      const b = bytes.subarray(0, 24);
      for (let i = 0; i < b.length; i += 3) {
        const n = ((b[i] ?? 0) << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
        out += B64URL.charAt((n >> 18) & 63) + B64URL.charAt((n >> 12) & 63) + B64URL.charAt((n >> 6) & 63) + B64URL.charAt(n & 63);
      }
      return out;
    }
    case "password_24":
      return Array.from(bytes.subarray(0, 24), (b) => ALPHANUM.charAt(b % 62)).join("");
  }
}

/** Bytes each generator consumes. */
export const GENERATOR_BYTES: Record<Generator, number> = { random_hex_32: 32, random_base64_24: 24, password_24: 24 };

/** A preset with every `generate` replaced by a fresh value; `random(n)` returns n random bytes. */
export function materializePreset(preset: Preset, random: (n: number) => Uint8Array): Preset {
  return {
    ...preset,
    env_vars: preset.env_vars.map((e) =>
      e.generate ? { key: e.key, value: generateValue(e.generate, random(GENERATOR_BYTES[e.generate])), sealed: true } : { ...e },
    ),
  };
}

export function findPreset(id: string): Preset | undefined {
  return DATABASE_PRESETS.find((p) => p.id === id);
}
