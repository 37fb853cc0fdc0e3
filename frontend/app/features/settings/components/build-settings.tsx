import { useState } from "react";
import { toast } from "sonner";
import type { BuildBaseSetting, Settings } from "../../../../../src/settings.ts";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { useUpdateSettings } from "../../../shared/settings/api/settings.ts";

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
  const saved = buildBaseValues(settings);
  const [edited, setEdited] = useState(saved);
  const update = useUpdateSettings();
  const changes = buildBaseChanges(saved, edited);
  const blank = BUILD_BASE_FIELDS.some((f) => edited[f.key].trim() === "");
  const fieldErr = BUILD_BASE_FIELDS.some((f) => fieldError(update.error, f.key));
  return (
    <Card data-testid="build-bases">
      <CardHeader>
        <CardTitle>Build base images</CardTitle>
        <CardDescription>
          A source without a Dockerfile gets a generated one, shown in its build log. These are the images it starts FROM. Pin versions: a
          moving tag changes every app's next build.
        </CardDescription>
      </CardHeader>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate(changes, { onSuccess: () => toast.success("Settings saved") });
        }}
      >
        <CardContent className="grid gap-4 sm:grid-cols-2">
          {BUILD_BASE_FIELDS.map((f) => (
            <Field
              key={f.key}
              label={f.label}
              htmlFor={f.key}
              hint={f.hint}
              error={edited[f.key].trim() === "" ? "An image is required." : fieldError(update.error, f.key)}
            >
              <Input
                id={f.key}
                className="font-mono"
                placeholder={f.placeholder}
                value={edited[f.key]}
                onChange={(e) => setEdited((s) => ({ ...s, [f.key]: e.target.value }))}
              />
            </Field>
          ))}
          {update.error && !fieldErr ? <p className="text-xs text-destructive sm:col-span-2">{errorText(update.error)}</p> : null}
        </CardContent>
        <CardFooter className="justify-end">
          <Button type="submit" disabled={blank || Object.keys(changes).length === 0 || update.isPending}>
            Save
          </Button>
        </CardFooter>
      </form>
    </Card>
  );
}
