import { Eye, EyeOff, FileText, Lock, MoreHorizontal, Pencil, Plus, TextCursorInput, Trash2, Undo2 } from "lucide-react";
import { useMemo, useState } from "react";
import { toast } from "sonner";
import type { MaskedEnvVar } from "../../../../../src/envvar.ts";
import { Badge } from "../../../components/ui/badge.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { ConfirmDialog, Dialog } from "../../../components/ui/dialog.tsx";
import { Dropdown, MenuItem } from "../../../components/ui/dropdown.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { maskValue } from "../../../lib/format.ts";
import { cn } from "../../../lib/utils.ts";
import { envKeyError } from "../../../lib/validation.ts";
import { usePendingChanges, useRemovePendingChanges } from "../../pending-changes/api/pending-changes.ts";
import { type EnvRow, mergeEnvRows } from "../../pending-changes/lib/env-rows.ts";
import { useReferenceCatalog } from "../api/env-raw.ts";
import { type EnvOwner, revealEnvVar, useCreateEnvVar, useDeleteEnvVar, useEnvVars, useUpdateEnvVar } from "../api/env-vars.ts";
import { referencedBy } from "../lib/autocomplete.ts";
import { EnvKeyRename } from "./env-key-rename.tsx";
import { RawEditor } from "./raw-editor.tsx";
import { ReferenceTextarea } from "./reference-textarea.tsx";

const STATE_BADGE = { add: "pending add", edit: "pending edit", remove: "pending delete" } as const;

/**
 * Applied variables of one owner merged with its staged edits; every edit is staged for Deploy.
 * `refName` (a service's name, or "shared") is how references name this owner: rows then show who
 * references each variable.
 */
export function EnvVarsSection({
  projectID,
  owner,
  serviceNames,
  refName,
}: {
  projectID: string;
  owner: EnvOwner;
  serviceNames?: ReadonlySet<string>;
  refName?: string;
}) {
  const envVars = useEnvVars(projectID, owner);
  const catalog = useReferenceCatalog(projectID);
  const [raw, setRaw] = useState(false);
  const pending = usePendingChanges(projectID);
  const rows = useMemo(
    () => mergeEnvRows(envVars.data ?? [], pending.data ?? [], owner.scope, owner.id),
    [envVars.data, pending.data, owner.scope, owner.id],
  );
  // Values fetched with the audited reveal call, by key; hidden again on toggle (and never cached by react-query).
  const [revealed, setRevealed] = useState<ReadonlyMap<string, string>>(new Map());
  const [editing, setEditing] = useState<{ row?: EnvRow } | null>(null);
  // The key of the row whose name is being edited in place.
  const [renaming, setRenaming] = useState<string | null>(null);
  const live = rows.filter((r) => r.state !== "remove").map((r) => r.key);
  const [deleting, setDeleting] = useState<MaskedEnvVar | null>(null);
  const del = useDeleteEnvVar(projectID, owner);
  const undo = useRemovePendingChanges(projectID);
  const fetchValue = async (r: EnvRow): Promise<string | undefined> => {
    if (r.value !== undefined) return r.value;
    if (!r.envVar || r.sealed) return undefined;
    return revealEnvVar(projectID, owner, r.envVar.id);
  };
  const toggle = async (r: EnvRow) => {
    if (revealed.has(r.key)) {
      setRevealed((s) => new Map([...s].filter(([k]) => k !== r.key)));
      return;
    }
    try {
      const v = await fetchValue(r);
      if (v !== undefined) setRevealed((s) => new Map(s).set(r.key, v));
    } catch (e) {
      toast.error(errorText(e));
    }
  };
  const edit = async (r: EnvRow) => {
    try {
      // A sealed value is replaced, never shown: the dialog starts empty.
      setEditing({ row: { ...r, value: r.sealed ? "" : (revealed.get(r.key) ?? (await fetchValue(r))) } });
    } catch (e) {
      toast.error(errorText(e));
    }
  };
  return (
    <div className="grid grid-cols-1 gap-3">
      <div className="flex items-center justify-between">
        <p className="text-sm text-muted-foreground">
          {rows.length} variable{rows.length === 1 ? "" : "s"}
        </p>
        <div className="flex gap-2">
          <Button size="sm" variant={raw ? "secondary" : "ghost"} onClick={() => setRaw((r) => !r)} aria-pressed={raw}>
            <FileText /> RAW
          </Button>
          <Button size="sm" variant="outline" onClick={() => setEditing({})} disabled={raw}>
            <Plus /> Add variable
          </Button>
        </div>
      </div>
      {raw ? (
        <RawEditor projectID={projectID} owner={owner} onDone={() => setRaw(false)} />
      ) : envVars.isPending ? (
        <div className="grid grid-cols-1 gap-2">
          <Skeleton className="h-9" />
          <Skeleton className="h-9" />
        </div>
      ) : envVars.isError ? (
        <p className="text-sm text-destructive">{errorText(envVars.error)}</p>
      ) : rows.length === 0 ? (
        <p className="rounded-lg border border-dashed border-border p-4 text-center text-sm text-muted-foreground">No variables yet.</p>
      ) : (
        <ul className="divide-y divide-border rounded-lg border border-border" aria-label="Variables">
          {rows.map((r) => (
            <li key={r.key} className="flex min-h-11 items-center gap-3 px-3 py-1.5 text-sm" data-testid={`env-row-${r.key}`}>
              {renaming === r.key && r.envVar ? (
                <EnvKeyRename
                  projectID={projectID}
                  owner={owner}
                  envVar={r.envVar}
                  taken={new Set(live.filter((k) => k !== r.key))}
                  onDone={() => setRenaming(null)}
                />
              ) : (
                <>
                  <span className="grid w-40 shrink-0">
                    <span className={cn("truncate font-mono text-xs", r.state === "remove" && "line-through opacity-60")} title={r.key}>
                      {r.key}
                    </span>
                    {r.renamedFrom ? (
                      <span className="truncate text-[11px] text-muted-foreground" data-testid={`env-renamed-${r.key}`}>
                        was {r.renamedFrom}
                      </span>
                    ) : null}
                    {refName && referencedBy(catalog.data, refName, r.key).length > 0 ? (
                      <span className="truncate text-[11px] text-muted-foreground" data-testid={`env-refs-${r.key}`}>
                        used by {referencedBy(catalog.data, refName, r.key).join(", ")}
                      </span>
                    ) : null}
                  </span>
                  <span
                    className={cn(
                      "min-w-0 flex-1 truncate font-mono text-xs text-muted-foreground",
                      r.state === "remove" && "line-through",
                    )}
                  >
                    {r.sealed ? (
                      <span className="inline-flex items-center gap-1" title="Sealed: write-only, never shown after saving">
                        <Lock className="size-3" /> sealed
                      </span>
                    ) : revealed.has(r.key) ? (
                      revealed.get(r.key) || "—"
                    ) : (
                      maskValue(r.value ?? "********")
                    )}
                  </span>
                </>
              )}
              {r.state !== "unchanged" ? (
                <Badge variant={r.state === "remove" ? "destructive" : "warning"}>{STATE_BADGE[r.state]}</Badge>
              ) : null}
              {r.sealed ? null : (
                <Button
                  variant="ghost"
                  size="icon"
                  onClick={() => void toggle(r)}
                  aria-label={revealed.has(r.key) ? `Hide ${r.key}` : `Reveal ${r.key}`}
                >
                  {revealed.has(r.key) ? <EyeOff /> : <Eye />}
                </Button>
              )}
              {r.state === "unchanged" && r.envVar ? (
                <Dropdown
                  label={`Actions for ${r.key}`}
                  trigger={(p) => (
                    <Button variant="ghost" size="icon" {...p} aria-label={`Actions for ${r.key}`}>
                      <MoreHorizontal />
                    </Button>
                  )}
                >
                  {(close) => (
                    <>
                      <MenuItem
                        onSelect={() => {
                          close();
                          void edit(r);
                        }}
                      >
                        <Pencil /> {r.sealed ? "Replace value" : "Edit"}
                      </MenuItem>
                      <MenuItem
                        onSelect={() => {
                          close();
                          setRenaming(r.key);
                        }}
                      >
                        <TextCursorInput /> Rename
                      </MenuItem>
                      <MenuItem
                        destructive
                        onSelect={() => {
                          close();
                          setDeleting(r.envVar ?? null);
                        }}
                      >
                        <Trash2 /> Delete
                      </MenuItem>
                    </>
                  )}
                </Dropdown>
              ) : (
                <Button
                  variant="ghost"
                  size="sm"
                  disabled={r.changeIds.some((id) => id.startsWith("optimistic-")) || undo.isPending}
                  onClick={() =>
                    undo.mutate(r.changeIds, {
                      onSuccess: () => toast.success("Change discarded"),
                      onError: (e) => toast.error(errorText(e)),
                    })
                  }
                >
                  <Undo2 /> Undo
                </Button>
              )}
            </li>
          ))}
        </ul>
      )}
      <p className="text-xs text-muted-foreground">
        Type <code className="font-mono">{"${{"}</code> to reference another service's variable (
        <code className="font-mono">{"${{name.KEY}}"}</code>, <code className="font-mono">{"${{name.HOST}}"}</code>,{" "}
        <code className="font-mono">{"${{name.PORT}}"}</code>), a shared one (<code className="font-mono">{"${{shared.KEY}}"}</code>) or one
        of this service (<code className="font-mono">{"${{KEY}}"}</code>). Changes apply on Deploy.
      </p>
      {editing ? (
        <EnvVarDialog
          projectID={projectID}
          owner={owner}
          row={editing.row}
          serviceNames={serviceNames}
          taken={new Set(live)}
          onClose={() => setEditing(null)}
        />
      ) : null}
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(o) => !o && setDeleting(null)}
        title={`Delete ${deleting?.key ?? ""}?`}
        description="The deletion is staged and takes effect on Deploy."
        confirmLabel="Stage deletion"
        pending={del.isPending}
        onConfirm={() => {
          if (!deleting) return;
          const key = deleting.key;
          del.mutate(deleting, { onSuccess: () => toast.success(`Staged deletion of ${key}`), onError: (e) => toast.error(errorText(e)) });
          setDeleting(null);
        }}
      />
    </div>
  );
}

const REF = /\$\{\{\s*([A-Za-z0-9][A-Za-z0-9_-]*)\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}/g;

function EnvVarDialog({
  projectID,
  owner,
  row,
  taken,
  serviceNames,
  onClose,
}: {
  projectID: string;
  owner: EnvOwner;
  row: EnvRow | undefined;
  taken: ReadonlySet<string>;
  serviceNames: ReadonlySet<string> | undefined;
  onClose: () => void;
}) {
  const [key, setKey] = useState(row?.key ?? "");
  const [value, setValue] = useState(row?.value ?? "");
  const [sealed, setSealed] = useState(false);
  const create = useCreateEnvVar(projectID, owner);
  const update = useUpdateEnvVar(projectID, owner);
  const m = row ? update : create;
  const keyErr = row ? null : key !== "" ? (envKeyError(key) ?? (taken.has(key) ? `Env var "${key}" already exists.` : null)) : null;
  const unknownRefs = serviceNames
    ? [...value.matchAll(REF)].map((x) => x[1] as string).filter((n) => n !== "shared" && !serviceNames.has(n.toLowerCase()))
    : [];
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (row?.envVar) {
      update.mutate(
        { envVar: row.envVar, value },
        {
          onSuccess: () => {
            toast.success(`Staged change to ${row.key}`);
          },
          onError: (err) => toast.error(errorText(err)),
        },
      );
      onClose();
    } else {
      create.mutate(
        { key, value, ...(sealed ? { sealed: true } : {}) },
        {
          onSuccess: () => {
            toast.success(`Staged ${key}`);
            onClose();
          },
        },
      );
    }
  };
  return (
    <Dialog
      open
      onOpenChange={(o) => !o && onClose()}
      title={row ? (row.sealed ? `Replace ${row.key}` : `Edit ${row.key}`) : "Add variable"}
      description="Staged until you Deploy."
    >
      <form onSubmit={submit} className="grid grid-cols-1 gap-4">
        <Field label="Key" htmlFor="env-key" error={keyErr ?? fieldError(m.error, "key")}>
          <Input
            id="env-key"
            value={key}
            disabled={!!row}
            onChange={(e) => setKey(e.target.value)}
            placeholder="DATABASE_URL"
            className="font-mono"
            autoFocus={!row}
            aria-invalid={!!keyErr}
          />
        </Field>
        <Field
          label="Value"
          htmlFor="env-value"
          error={fieldError(m.error, "value") ?? (m.error && !fieldError(m.error, "key") ? errorText(m.error) : null)}
          hint={unknownRefs.length ? `No service named ${unknownRefs.join(", ")} in this project.` : undefined}
        >
          <ReferenceTextarea projectID={projectID} id="env-value" value={value} onChange={setValue} autoFocus={!!row} />
        </Field>
        {row ? (
          row.sealed ? (
            <p className="text-xs text-muted-foreground">Sealed: the current value cannot be shown; what you enter replaces it.</p>
          ) : null
        ) : (
          <label className="flex items-start gap-2 text-sm">
            <input type="checkbox" checked={sealed} onChange={(e) => setSealed(e.target.checked)} className="mt-0.5" />
            <span>
              Sealed
              <span className="block text-xs text-muted-foreground">
                Write-only: injected into containers, never shown again after saving. Cannot be unsealed.
              </span>
            </span>
          </label>
        )}
        <div className="flex justify-end gap-2">
          <Button variant="outline" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" disabled={m.isPending || (!row && (key === "" || !!keyErr))}>
            {row ? "Stage change" : "Stage variable"}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
