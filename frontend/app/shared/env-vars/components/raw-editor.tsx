import { Upload } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { toast } from "sonner";
import { Button } from "../../../components/ui/button.tsx";
import { Textarea } from "../../../components/ui/input.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { useEnvRaw, useStageEnvRaw } from "../api/env-raw.ts";
import type { EnvOwner } from "../api/env-vars.ts";

/**
 * The scope as `.env` text: edit or paste a file, and Stage turns the difference into one
 * reviewable change (creates, updates, deletes). Comments are kept for next time.
 */
export function RawEditor({ projectID, owner, onDone }: { projectID: string; owner: EnvOwner; onDone: () => void }) {
  const raw = useEnvRaw(projectID, owner, true);
  const stage = useStageEnvRaw(projectID, owner);
  const [text, setText] = useState<string | null>(null);
  const file = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (text === null && raw.data !== undefined) setText(raw.data);
  }, [raw.data, text]);
  if (raw.isPending || text === null) return <Skeleton className="h-40" />;
  if (raw.isError) return <p className="text-sm text-destructive">{errorText(raw.error)}</p>;
  const submit = () =>
    stage.mutate(text, {
      onSuccess: (changes) => {
        toast.success(changes.length === 0 ? "Nothing changed" : `Staged ${changes.length} change${changes.length === 1 ? "" : "s"}`);
        onDone();
      },
    });
  return (
    <div className="grid grid-cols-1 gap-2">
      <Textarea
        aria-label="Variables as .env"
        value={text}
        onChange={(e) => setText(e.target.value)}
        className="min-h-48 font-mono text-xs"
        spellCheck={false}
        placeholder={"# Paste a .env file here\nKEY=value"}
      />
      {stage.error ? (
        <p className="whitespace-pre-line text-sm text-destructive">{fieldError(stage.error, "text") ?? errorText(stage.error)}</p>
      ) : null}
      <div className="flex items-center justify-between gap-2">
        <input
          ref={file}
          type="file"
          accept=".env,text/plain"
          className="hidden"
          onChange={async (e) => {
            const f = e.target.files?.[0];
            if (f) setText(await f.text());
            e.target.value = "";
          }}
        />
        <Button variant="ghost" size="sm" onClick={() => file.current?.click()}>
          <Upload /> Import .env file
        </Button>
        <div className="flex gap-2">
          <Button variant="outline" size="sm" onClick={onDone}>
            Cancel
          </Button>
          <Button size="sm" disabled={stage.isPending} onClick={submit}>
            Stage changes
          </Button>
        </div>
      </div>
    </div>
  );
}
