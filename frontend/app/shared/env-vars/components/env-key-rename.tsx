import { Check, X } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";
import type { MaskedEnvVar } from "../../../../../src/envvar.ts";
import { Button } from "../../../components/ui/button.tsx";
import { Input } from "../../../components/ui/input.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { type EnvOwner, useRenameEnvVar } from "../api/env-vars.ts";
import { renameKeyError } from "../lib/rename.ts";

/**
 * The key of an applied variable, edited in its row. Enter stages the rename (references to the old
 * key are rewritten on Deploy); Escape, or keeping the key, stages nothing.
 */
export function EnvKeyRename({
  projectID,
  owner,
  envVar,
  taken,
  onDone,
}: {
  projectID: string;
  owner: EnvOwner;
  envVar: MaskedEnvVar;
  /** The owner's other keys. */
  taken: ReadonlySet<string>;
  onDone: () => void;
}) {
  const [key, setKey] = useState(envVar.key);
  const rename = useRenameEnvVar(projectID, owner);
  const err = renameKeyError(key, envVar.key, taken) ?? fieldError(rename.error, "key");
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (err) return;
    if (key !== envVar.key) {
      const from = envVar.key;
      rename.mutate(
        { envVar, key },
        { onSuccess: () => toast.success(`Staged rename of ${from} to ${key}`), onError: (e) => toast.error(errorText(e)) },
      );
    }
    onDone();
  };
  return (
    <form onSubmit={submit} aria-label={`Rename ${envVar.key}`} className="grid min-w-0 flex-1 gap-0.5">
      <span className="flex items-center gap-1">
        <Input
          aria-label={`New key for ${envVar.key}`}
          value={key}
          onChange={(e) => setKey(e.target.value)}
          onKeyDown={(e) => {
            if (e.key !== "Escape") return;
            // Only the edit ends: the panel around it stays open.
            e.stopPropagation();
            onDone();
          }}
          autoFocus
          aria-invalid={!!err}
          className="h-8 font-mono text-xs"
        />
        <Button type="submit" variant="ghost" size="icon" disabled={!!err} aria-label="Stage rename">
          <Check />
        </Button>
        <Button type="button" variant="ghost" size="icon" onClick={onDone} aria-label="Cancel rename">
          <X />
        </Button>
      </span>
      {err ? (
        <span role="alert" className="text-[11px] text-destructive">
          {err}
        </span>
      ) : null}
    </form>
  );
}
