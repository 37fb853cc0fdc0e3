import { ChevronDown, ChevronUp, Minus, Pencil, Plus, Rocket, Trash2, Undo2 } from "lucide-react";
import { memo, useEffect, useMemo, useRef, useState } from "react";
import { toast } from "sonner";
import type { CanvasNode } from "../../../../../src/canvas.ts";
import type { Project } from "../../../../../src/project.ts";
import type { Service } from "../../../../../src/service.ts";
import { Badge } from "../../../components/ui/badge.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { ConfirmDialog } from "../../../components/ui/dialog.tsx";
import { errorText } from "../../../lib/api-client.ts";
import { cn } from "../../../lib/utils.ts";
import {
  useDeploy,
  useDiscardPendingChanges,
  usePendingChanges,
  useRemovePendingChanges,
} from "../../../shared/pending-changes/api/pending-changes.ts";
import { compactDiff } from "../../../shared/pending-changes/lib/diff.ts";
import { canUndo } from "../../../shared/pending-changes/lib/staged.ts";

/** Bottom bar: staged change count, the compacted diff, Discard all and Deploy (Ctrl/⌘+Enter). */
function PendingChangesBarView({
  project,
  services,
  nodes,
}: {
  project: Project;
  services: ReadonlyMap<string, Service>;
  nodes: readonly CanvasNode[];
}) {
  const pending = usePendingChanges(project.id);
  const changes = pending.data ?? [];
  const [open, setOpen] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const deploy = useDeploy(project.id);
  const discard = useDiscardPendingChanges(project.id);
  const undo = useRemovePendingChanges(project.id);
  const nodeMap = useMemo(() => new Map(nodes.map((n) => [n.id, n])), [nodes]);
  const diff = useMemo(
    () => (open ? compactDiff(changes, { project, services, nodes: nodeMap }) : []),
    [open, changes, project, services, nodeMap],
  );
  const count = changes.length;
  const doDeploy = () => {
    if (deploy.isPending || count === 0) return;
    deploy.mutate(undefined, {
      onSuccess: (r) => {
        toast.success(`Deployed ${r.applied_count} change${r.applied_count === 1 ? "" : "s"}`, {
          description: r.created_deployments.length
            ? `${r.created_deployments.length} deployment${r.created_deployments.length === 1 ? "" : "s"} started.`
            : undefined,
        });
        setOpen(false);
      },
      onError: (e) => toast.error("Deploy failed", { description: errorText(e) }),
    });
  };
  const deployRef = useRef(doDeploy);
  deployRef.current = doDeploy;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        deployRef.current();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  if (count === 0) return null;
  return (
    <div
      className="w-[560px] max-w-[calc(100vw-2rem)] overflow-hidden rounded-xl border border-border bg-popover shadow-2xl"
      data-testid="pending-bar"
    >
      {open ? (
        <div className="max-h-[45vh] overflow-y-auto border-b border-border p-3" data-testid="pending-diff">
          {diff.length === 0 ? <p className="text-sm text-muted-foreground">Only layout moves that cancel out.</p> : null}
          <div className="grid gap-3">
            {diff.map((g) => (
              <section key={g.id} className="rounded-lg border border-border p-2.5">
                <h3 className="mb-1.5 flex items-center gap-2 text-sm font-medium">
                  {g.title}
                  {g.badge === "creating" ? <Badge variant="success">creating</Badge> : null}
                  {g.badge === "deleting" ? <Badge variant="destructive">deleting</Badge> : null}
                </h3>
                {g.warning ? (
                  <p className="mb-1.5 rounded-md bg-amber-500/10 px-2 py-1 text-xs text-amber-200" data-testid="diff-warning">
                    {g.warning}
                  </p>
                ) : null}
                <ul className="grid gap-1 text-xs">
                  {g.fields.map((f) => (
                    <li key={f.label} className="flex items-center gap-2">
                      <span className="w-16 shrink-0 text-muted-foreground">{f.label}</span>
                      <span className="min-w-0 flex-1 truncate font-mono">
                        {f.before ? (
                          <>
                            <span className="text-red-300 line-through">{f.before}</span> <span className="text-muted-foreground">
                              →
                            </span>{" "}
                          </>
                        ) : null}
                        <span className="text-emerald-300">{f.after}</span>
                      </span>
                      {!g.badge && canUndo(changes, f.changeIds) ? (
                        <UndoButton onClick={() => undo.mutate(f.changeIds, { onError: (e) => toast.error(errorText(e)) })} />
                      ) : null}
                    </li>
                  ))}
                  {g.env.map((e) => (
                    <li key={e.key} className="flex items-center gap-2">
                      {e.kind === "add" ? (
                        <Plus className="size-3.5 text-emerald-400" />
                      ) : e.kind === "remove" ? (
                        <Minus className="size-3.5 text-red-400" />
                      ) : (
                        <Pencil className="size-3.5 text-amber-400" />
                      )}
                      <span className={cn("font-mono", e.kind === "remove" && "line-through")}>
                        {e.renamedTo ? `${e.key} → ${e.renamedTo}` : e.key}
                      </span>
                      <span className="min-w-0 flex-1 truncate font-mono text-muted-foreground">
                        {e.sealed && e.kind !== "remove"
                          ? e.renamedTo
                            ? "renamed (sealed)"
                            : "new value (sealed)"
                          : e.kind === "edit"
                            ? e.renamedTo && e.before === e.after
                              ? "renamed"
                              : `${e.before ?? ""} → ${e.after ?? ""}`
                            : e.kind === "add"
                              ? `= ${e.after ?? ""}`
                              : ""}
                      </span>
                      {canUndo(changes, e.changeIds) ? (
                        <UndoButton onClick={() => undo.mutate(e.changeIds, { onError: (err) => toast.error(errorText(err)) })} />
                      ) : null}
                    </li>
                  ))}
                </ul>
              </section>
            ))}
          </div>
        </div>
      ) : null}
      <div className="flex items-center gap-2 p-2 pl-3">
        <button
          type="button"
          className="flex flex-1 items-center gap-2 text-left text-sm font-medium"
          onClick={() => setOpen((o) => !o)}
          aria-expanded={open}
        >
          <span className="flex size-5 items-center justify-center rounded-full bg-amber-500 text-[11px] font-bold text-black">
            {count}
          </span>
          <span data-testid="pending-count">
            {count} pending change{count === 1 ? "" : "s"}
          </span>
          {open ? <ChevronDown className="size-4 text-muted-foreground" /> : <ChevronUp className="size-4 text-muted-foreground" />}
        </button>
        <Button variant="ghost" size="sm" onClick={() => setConfirm(true)} disabled={discard.isPending || deploy.isPending}>
          <Trash2 /> Discard all
        </Button>
        <Button size="sm" onClick={doDeploy} disabled={deploy.isPending} title="Deploy (Ctrl+Enter)">
          <Rocket /> {deploy.isPending ? "Deploying…" : "Deploy"}
        </Button>
      </div>
      <ConfirmDialog
        open={confirm}
        onOpenChange={setConfirm}
        title="Discard all pending changes?"
        description="Staged services, renames, deletions and variable edits are dropped. Nothing running changes."
        confirmLabel="Discard all"
        onConfirm={() => {
          setConfirm(false);
          discard.mutate(undefined, {
            onSuccess: () => toast.success("Pending changes discarded"),
            onError: (e) => toast.error(errorText(e)),
          });
        }}
      />
    </div>
  );
}

/** Memoized: the canvas re-renders on every drag frame, the bar only when its inputs change. */
export const PendingChangesBar = memo(PendingChangesBarView);

function UndoButton({ onClick }: { onClick: () => void }) {
  return (
    <button
      type="button"
      onClick={onClick}
      className="flex items-center gap-1 rounded px-1 text-muted-foreground hover:text-foreground"
      title="Undo this change"
    >
      <Undo2 className="size-3.5" /> Undo
    </button>
  );
}
