import type { Settings } from "../../../../../src/settings.ts";
import { SettingsFieldsCard } from "./settings-fields-card.tsx";

export type BuildLimitSetting =
  | "build_concurrency"
  | "build_cpus"
  | "build_memory_mb"
  | "build_timeout_minutes"
  | "images_kept"
  | "build_cache_max_mb";

/** Issue 13's build limits, in the order the card shows them. The server checks the ranges. */
export const BUILD_LIMIT_FIELDS: readonly { key: BuildLimitSetting; label: string; hint: string }[] = [
  { key: "build_concurrency", label: "Builds at once", hint: "On this host; more wait in the queued phase. One per service always." },
  { key: "build_timeout_minutes", label: "Timeout (minutes)", hint: "A longer build is stopped and fails its deployment." },
  {
    key: "build_cpus",
    label: "CPUs per build step",
    hint: "0: no limit. Set, with memory or alone: builds use the classic builder (no cache mounts).",
  },
  {
    key: "build_memory_mb",
    label: "Memory per build step (MiB)",
    hint: "0: no limit. A step going over it is killed and fails the build.",
  },
  { key: "images_kept", label: "Images kept per service", hint: "Built images of the newest deployments, for Rollback." },
  { key: "build_cache_max_mb", label: "Build cache cap (MiB)", hint: "BuildKit's cache is pruned to it after each build; 0: never." },
];

/** The card's fields as text, from the values the server has ("" where it has none). */
export function buildLimitValues(settings: Partial<Settings>): Record<BuildLimitSetting, string> {
  const out = {} as Record<BuildLimitSetting, string>;
  for (const f of BUILD_LIMIT_FIELDS) out[f.key] = settings[f.key] === undefined ? "" : String(settings[f.key]);
  return out;
}

/** The update to send (changed fields only), or the fields that are not numbers. */
export function buildLimitChanges(
  saved: Record<BuildLimitSetting, string>,
  edited: Record<BuildLimitSetting, string>,
): { changes: Partial<Record<BuildLimitSetting, number>>; notNumbers: BuildLimitSetting[] } {
  const changes: Partial<Record<BuildLimitSetting, number>> = {};
  const notNumbers: BuildLimitSetting[] = [];
  for (const f of BUILD_LIMIT_FIELDS) {
    const text = edited[f.key].trim();
    const n = Number(text);
    if (text === "" || !Number.isFinite(n)) notNumbers.push(f.key);
    else if (text !== saved[f.key]) changes[f.key] = n;
  }
  return { changes, notNumbers };
}

/** Issue 13: how many builds run at once, for how long, under which CPU and memory limits. */
export function BuildLimitsCard({ settings }: { settings: Partial<Settings> }) {
  return (
    <SettingsFieldsCard
      testID="build-limits"
      title="Build limits"
      description="Builds must not take the host down. Docker's BuildKit cannot limit a build's CPU or memory, so with either limit set, builds run on Docker's classic builder, each RUN step under the limits; generated Dockerfiles then go without cache mounts, and a Dockerfile that needs BuildKit fails. See docs/builds.md."
      fields={BUILD_LIMIT_FIELDS}
      saved={buildLimitValues(settings)}
      input={{ inputMode: "decimal" }}
      check={(saved, edited) => {
        const { changes, notNumbers } = buildLimitChanges(saved, edited);
        return { changes, invalid: Object.fromEntries(notNumbers.map((k) => [k, "A number is required."])) };
      }}
    />
  );
}
