import type { BuildBaseSetting, Settings } from "../../../../../src/settings.ts";
import { SettingsFieldsCard } from "./settings-fields-card.tsx";

/** The four base-image settings, in the order the card shows them, with what each is for. */
export const BUILD_BASE_FIELDS: readonly { key: BuildBaseSetting; label: string; hint: string; placeholder: string }[] = [
  {
    key: "build_base_node",
    label: "Node",
    hint: "package.json apps: npm, pnpm or yarn must run in it.",
    placeholder: "node:22-bookworm-slim",
  },
  {
    key: "build_base_python",
    label: "Python",
    hint: "requirements.txt / pyproject.toml apps: pip must run in it.",
    placeholder: "python:3.12-slim",
  },
  {
    key: "build_base_go",
    label: "Go (compile)",
    hint: "go.mod apps compile here, then run in the static image.",
    placeholder: "golang:1.23-bookworm",
  },
  {
    key: "build_base_static",
    label: "Static / runtime",
    hint: "Serves index.html sites with busybox httpd, and runs compiled Go binaries: it needs sh and httpd.",
    placeholder: "busybox:1.37",
  },
];

/** What the four fields hold now, trimmed, for the values the server has. */
export function buildBaseValues(settings: Partial<Settings>): Record<BuildBaseSetting, string> {
  const out = {} as Record<BuildBaseSetting, string>;
  for (const f of BUILD_BASE_FIELDS) out[f.key] = settings[f.key] ?? "";
  return out;
}

/** The update to send: only the fields that changed and are not blank. */
export function buildBaseChanges(
  saved: Record<BuildBaseSetting, string>,
  edited: Record<BuildBaseSetting, string>,
): Partial<Record<BuildBaseSetting, string>> {
  const upd: Partial<Record<BuildBaseSetting, string>> = {};
  for (const f of BUILD_BASE_FIELDS) {
    const v = edited[f.key].trim();
    if (v !== "" && v !== saved[f.key]) upd[f.key] = v;
  }
  return upd;
}

/** Issue 13: the base images of the Dockerfiles DeployKit writes for sources that have none. */
export function BuildBasesCard({ settings }: { settings: Partial<Settings> }) {
  return (
    <SettingsFieldsCard
      testID="build-bases"
      title="Build base images"
      description="A source without a Dockerfile gets a generated one, shown in its build log. These are the images it starts FROM. Pin versions: a moving tag changes every app's next build."
      fields={BUILD_BASE_FIELDS}
      saved={buildBaseValues(settings)}
      input={{ className: "font-mono" }}
      check={(saved, edited) => ({
        changes: buildBaseChanges(saved, edited),
        invalid: Object.fromEntries(
          BUILD_BASE_FIELDS.filter((f) => edited[f.key].trim() === "").map((f) => [f.key, "An image is required."]),
        ),
      })}
    />
  );
}
