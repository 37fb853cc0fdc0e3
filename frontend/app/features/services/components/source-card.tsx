import { GitBranch } from "lucide-react";
import { toast } from "sonner";
import type { ServiceUpdate } from "../../../../../src/service.ts";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { useSeededState } from "../../../lib/seeded-state.ts";
import { useUpdateService } from "../../../shared/services/api/services.ts";
import { type SourceKey, sourceErrors, sourceUpdate } from "../lib/builds.ts";
import { PrivateRepoPanel } from "./private-repo-panel.tsx";

const FIELDS: { key: SourceKey; label: string; placeholder: string; hint: string }[] = [
  {
    key: "repo_url",
    label: "Repository",
    placeholder: "https://github.com/acme/web.git",
    hint: "https, http or ssh (git@host:owner/repo). Empty: the service runs its image.",
  },
  { key: "branch", label: "Branch", placeholder: "main", hint: "Deploy builds its head; pushes to it deploy when the webhook is set up." },
  { key: "root_dir", label: "Root directory", placeholder: "(repository root)", hint: "For monorepos: the app's folder, e.g. apps/web." },
  {
    key: "dockerfile_path",
    label: "Dockerfile",
    placeholder: "Dockerfile",
    hint: "Relative to the root directory. Without one, DeployKit detects the app and writes it.",
  },
];

/**
 * Issue 13: where the service's code comes from. Staged like the image: the change shows in the
 * pending diff and applies on Deploy, which clones, builds and rolls out. Admins also get the
 * private repository's credentials, which apply at once (they are secrets, not staged settings).
 */
export function SourceCard({
  projectID,
  serviceID,
  current,
  admin = false,
}: {
  projectID: string;
  serviceID: string;
  current: Record<SourceKey, string>;
  /** Shows the Private repository section (its routes are admin-only). */
  admin?: boolean;
}) {
  const update = useUpdateService(projectID, serviceID);
  const saved = current;
  const [f, setF] = useSeededState(current, update.isPending);
  const errors = sourceErrors(f);
  const upd = sourceUpdate(saved, f);
  const dirty = Object.keys(upd).length > 0;
  const invalid = Object.keys(errors).length > 0;
  return (
    <Card data-testid="source-card">
      <CardHeader>
        <CardTitle className="flex items-center gap-2">
          <GitBranch className="size-4" /> Source
        </CardTitle>
        <CardDescription>
          Build this service from a git repository instead of an image, or drop a .tar.gz / .zip of a directory on its Deployments tab.
          Changes are staged and apply on Deploy.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <form
          className="grid grid-cols-1 gap-4 sm:grid-cols-2"
          onSubmit={(e) => {
            e.preventDefault();
            // The source fields join ServiceUpdate with the backend of issue 13.
            update.mutate(upd as ServiceUpdate, {
              onSuccess: () => toast.success("Source staged"),
              onError: (er) => toast.error(errorText(er)),
            });
          }}
        >
          {FIELDS.map((x) => (
            <Field
              key={x.key}
              label={x.label}
              htmlFor={`svc-${x.key}`}
              hint={x.hint}
              error={errors[x.key] ?? fieldError(update.error, x.key)}
              className={x.key === "repo_url" ? "sm:col-span-2" : undefined}
            >
              <Input
                id={`svc-${x.key}`}
                className="font-mono"
                placeholder={x.placeholder}
                value={f[x.key]}
                aria-invalid={!!errors[x.key]}
                onChange={(e) => setF((s) => ({ ...s, [x.key]: e.target.value }))}
              />
            </Field>
          ))}
          <div className="flex justify-end sm:col-span-2">
            <Button type="submit" disabled={!dirty || invalid || update.isPending}>
              Stage source
            </Button>
          </div>
        </form>
        {admin ? <PrivateRepoPanel projectID={projectID} serviceID={serviceID} /> : null}
      </CardContent>
    </Card>
  );
}
