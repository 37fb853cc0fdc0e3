import { FolderPlus, Plus } from "lucide-react";
import { useEffect, useState } from "react";
import { Link } from "react-router";
import { Button } from "../../../components/ui/button.tsx";
import { Card } from "../../../components/ui/card.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { errorText } from "../../../lib/api-client.ts";
import { relativeTime } from "../../../lib/format.ts";
import { useProjects } from "../api/projects.ts";
import { CreateProjectDialog } from "./create-project-dialog.tsx";

export function ProjectsPage() {
  const projects = useProjects();
  const [open, setOpen] = useState(false);
  useEffect(() => {
    // "n" opens the create dialog (when not typing in a field).
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.key === "n" && !e.metaKey && !e.ctrlKey && !/INPUT|TEXTAREA|SELECT/.test(t.tagName) && !t.isContentEditable) {
        e.preventDefault();
        setOpen(true);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  return (
    <div className="mx-auto w-full max-w-6xl px-6 py-8">
      <div className="mb-6 flex items-center justify-between">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Projects</h1>
          <p className="text-sm text-muted-foreground">Each project is a canvas of services on its own network.</p>
        </div>
        <Button onClick={() => setOpen(true)} title="New project (N)">
          <Plus /> New Project
        </Button>
      </div>
      {projects.isPending ? (
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} className="h-40 rounded-xl" />
          ))}
        </div>
      ) : projects.isError ? (
        <p className="text-sm text-destructive">{errorText(projects.error)}</p>
      ) : projects.data.length === 0 ? (
        <button
          type="button"
          onClick={() => setOpen(true)}
          className="flex h-64 w-full flex-col items-center justify-center gap-3 rounded-xl border-2 border-dashed border-border text-muted-foreground transition-colors hover:border-primary hover:text-foreground"
        >
          <FolderPlus className="size-10" />
          <span className="text-lg font-medium">Create your first project</span>
          <span className="text-sm">Projects hold services, databases and their variables.</span>
        </button>
      ) : (
        <ul className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3" aria-label="Projects">
          {projects.data.map((p) => (
            <li key={p.id}>
              <Link to={`/projects/${p.id}`} className="group block focus-visible:outline-none">
                <Card className="overflow-hidden transition-colors group-hover:border-primary/60 group-focus-visible:ring-2 group-focus-visible:ring-ring">
                  <div
                    className="h-20 border-b border-border"
                    style={{
                      backgroundImage: "radial-gradient(circle, rgba(138,146,166,0.25) 1px, transparent 1px)",
                      backgroundSize: "14px 14px",
                    }}
                  />
                  <div className="flex items-start justify-between gap-3 p-4">
                    <div className="min-w-0">
                      <h2 className="truncate font-medium">{p.name}</h2>
                      <p className="truncate font-mono text-xs text-muted-foreground">{p.slug}</p>
                    </div>
                    <span className="shrink-0 text-xs text-muted-foreground">{relativeTime(p.created_at)}</span>
                  </div>
                </Card>
              </Link>
            </li>
          ))}
        </ul>
      )}
      <CreateProjectDialog open={open} onOpenChange={setOpen} />
    </div>
  );
}
