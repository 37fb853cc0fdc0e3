import { useState } from "react";
import { toast } from "sonner";
import type { Settings } from "../../../../../src/settings.ts";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { useUpdateSettings } from "../../../shared/settings/api/settings.ts";

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
  const saved = buildLimitValues(settings);
  const [edited, setEdited] = useState(saved);
  const update = useUpdateSettings();
  const { changes, notNumbers } = buildLimitChanges(saved, edited);
  const fieldErr = BUILD_LIMIT_FIELDS.some((f) => fieldError(update.error, f.key));
  return (
    <Card data-testid="build-limits">
      <CardHeader>
        <CardTitle>Build limits</CardTitle>
        <CardDescription>
          Builds must not take the host down. Docker's BuildKit cannot limit a build's CPU or memory, so with either limit set, builds run
          on Docker's classic builder, each RUN step under the limits; generated Dockerfiles then go without cache mounts, and a Dockerfile
          that needs BuildKit fails. See docs/builds.md.
        </CardDescription>
      </CardHeader>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate(changes, { onSuccess: () => toast.success("Settings saved") });
        }}
      >
        <CardContent className="grid gap-4 sm:grid-cols-2">
          {BUILD_LIMIT_FIELDS.map((f) => (
            <Field
              key={f.key}
              label={f.label}
              htmlFor={f.key}
              hint={f.hint}
              error={notNumbers.includes(f.key) ? "A number is required." : fieldError(update.error, f.key)}
            >
              <Input
                id={f.key}
                inputMode="decimal"
                value={edited[f.key]}
                onChange={(e) => setEdited((s) => ({ ...s, [f.key]: e.target.value }))}
              />
            </Field>
          ))}
          {update.error && !fieldErr ? <p className="text-xs text-destructive sm:col-span-2">{errorText(update.error)}</p> : null}
        </CardContent>
        <CardFooter className="justify-end">
          <Button type="submit" disabled={notNumbers.length > 0 || Object.keys(changes).length === 0 || update.isPending}>
            Save
          </Button>
        </CardFooter>
      </form>
    </Card>
  );
}
