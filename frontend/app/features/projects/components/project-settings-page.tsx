import { useQueryClient } from "@tanstack/react-query";
import { ArrowLeft } from "lucide-react";
import { useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { toast } from "sonner";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { ConfirmDialog } from "../../../components/ui/dialog.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { errorText } from "../../../lib/api-client.ts";
import { cn } from "../../../lib/utils.ts";
import { EnvVarsSection } from "../../../shared/env-vars/components/env-vars-section.tsx";
import { addPendingChange, usePendingChanges } from "../../../shared/pending-changes/api/pending-changes.ts";
import { useServices } from "../../../shared/services/api/services.ts";
import { renameProject, useDeleteProject, useProject } from "../api/projects.ts";

export function ProjectSettingsPage() {
  const { projectId = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const tab = params.get("tab") === "variables" ? "variables" : "general";
  const project = useProject(projectId);
  const title = project.data?.name;
  return (
    <div className="mx-auto w-full max-w-5xl px-6 py-8">
      <Link
        to={`/projects/${projectId}`}
        className="mb-4 inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-foreground"
      >
        <ArrowLeft className="size-4" /> Back to project
      </Link>
      <h1 className="mb-6 min-h-8 text-2xl font-semibold tracking-tight">
        {title ? `${title} — Settings` : <Skeleton className="h-8 w-64" />}
      </h1>
      <div className="grid gap-6 md:grid-cols-[12rem_1fr]">
        <nav className="flex gap-1 md:flex-col" aria-label="Project settings">
          {(["general", "variables"] as const).map((t) => (
            <button
              key={t}
              type="button"
              onClick={() => setParams(t === "general" ? {} : { tab: t })}
              className={cn(
                "rounded-md px-3 py-1.5 text-left text-sm font-medium capitalize",
                tab === t ? "bg-accent text-foreground" : "text-muted-foreground hover:text-foreground",
              )}
            >
              {t}
            </button>
          ))}
        </nav>
        <div className="grid gap-6">
          {project.isError ? <p className="text-sm text-destructive">{errorText(project.error)}</p> : null}
          {tab === "general" ? (
            project.data ? (
              <>
                <RenameCard projectID={projectId} name={project.data.name} slug={project.data.slug} />
                <DeleteCard projectID={projectId} name={project.data.name} />
              </>
            ) : (
              <Skeleton className="h-48" />
            )
          ) : (
            <>
              <Card>
                <CardHeader>
                  <CardTitle>Project variables</CardTitle>
                  <CardDescription>Every service of the project sees these; group and service variables override them.</CardDescription>
                </CardHeader>
                <CardContent>
                  <EnvVarsSection projectID={projectId} owner={{ scope: "project", id: projectId }} />
                </CardContent>
              </Card>
              <Card>
                <CardHeader>
                  <CardTitle>Shared variables</CardTitle>
                  <CardDescription>
                    No service sees these unless it names one: <code className="font-mono">{"${{shared.KEY}}"}</code>. A secret reaches only
                    the services that reference it.
                  </CardDescription>
                </CardHeader>
                <CardContent>
                  <EnvVarsSection projectID={projectId} owner={{ scope: "shared", id: projectId }} refName="shared" />
                </CardContent>
              </Card>
            </>
          )}
        </div>
      </div>
    </div>
  );
}

function RenameCard({ projectID, name, slug }: { projectID: string; name: string; slug: string }) {
  const pending = usePendingChanges(projectID);
  const staged = [...(pending.data ?? [])].reverse().find((c) => c.op === "project.update" && typeof c.payload.name === "string");
  const current = (staged?.payload.name as string | undefined) ?? name;
  const [value, setValue] = useState(current);
  const [busy, setBusy] = useState(false);
  const qc = useQueryClient();
  const trimmed = value.trim();
  return (
    <Card>
      <CardHeader>
        <CardTitle>General</CardTitle>
        <CardDescription>Renames are staged and apply with the next Deploy.</CardDescription>
      </CardHeader>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          try {
            addPendingChange(qc, projectID, await renameProject(projectID, trimmed));
            toast.success("Project rename staged");
          } catch (err) {
            toast.error(errorText(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <CardContent className="grid gap-4">
          <Field label="Name" htmlFor="project-rename" hint={staged ? `Staged: "${current}" (applied: "${name}")` : undefined}>
            <Input id="project-rename" value={value} onChange={(e) => setValue(e.target.value)} />
          </Field>
          <Field label="Slug" htmlFor="project-slug" hint="Used for Docker names; never changes.">
            <Input id="project-slug" value={slug} readOnly className="font-mono text-muted-foreground" />
          </Field>
        </CardContent>
        <CardFooter className="justify-end">
          <Button type="submit" disabled={busy || trimmed === "" || trimmed === current}>
            Save
          </Button>
        </CardFooter>
      </form>
    </Card>
  );
}

function DeleteCard({ projectID, name }: { projectID: string; name: string }) {
  const services = useServices(projectID);
  const [open, setOpen] = useState(false);
  const del = useDeleteProject();
  const navigate = useNavigate();
  const count = services.data?.length ?? 0;
  return (
    <Card className="border-red-900/60">
      <CardHeader>
        <CardTitle>Delete project</CardTitle>
        <CardDescription>Removes the project, its canvas and variables. Its network is removed by the reconciler.</CardDescription>
      </CardHeader>
      <CardContent className="flex items-center gap-3">
        <Button variant="destructive" disabled={services.isPending || count > 0} onClick={() => setOpen(true)}>
          Delete project
        </Button>
        {count > 0 ? <p className="text-sm text-muted-foreground">Delete all services before deleting this project.</p> : null}
      </CardContent>
      <ConfirmDialog
        open={open}
        onOpenChange={setOpen}
        title={`Delete "${name}"?`}
        description="This cannot be undone."
        confirmLabel="Delete project"
        pending={del.isPending}
        onConfirm={() =>
          del.mutate(projectID, {
            onSuccess: () => {
              toast.success(`Project "${name}" deleted`);
              navigate("/projects");
            },
            onError: (e) => toast.error(errorText(e)),
          })
        }
      />
    </Card>
  );
}
