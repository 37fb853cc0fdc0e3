import { useState } from "react";
import { toast } from "sonner";
import type { Preset } from "../../../../../src/preset.ts";
import { ServiceIcon } from "../../../components/service-icon.tsx";
import { Dialog } from "../../../components/ui/dialog.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { errorText } from "../../../lib/api-client.ts";
import { getMaterializedPreset, usePresets } from "../api/presets.ts";

export function AddDatabaseDialog({
  open,
  onOpenChange,
  onPick,
}: {
  open: boolean;
  onOpenChange: (o: boolean) => void;
  onPick: (p: Preset) => void;
}) {
  const presets = usePresets(open);
  const [loading, setLoading] = useState<string | null>(null);
  const pick = async (id: string) => {
    setLoading(id);
    try {
      onPick(await getMaterializedPreset(id));
      onOpenChange(false);
    } catch (e) {
      toast.error(errorText(e));
    } finally {
      setLoading(null);
    }
  };
  return (
    <Dialog
      open={open}
      onOpenChange={onOpenChange}
      title="Add a database"
      description="Pre-filled with a data volume and generated passwords."
      className="max-w-xl"
    >
      {presets.isPending ? (
        <div className="grid grid-cols-2 gap-3 sm:grid-cols-3">
          {[0, 1, 2, 3, 4, 5].map((i) => (
            <Skeleton key={i} className="h-24" />
          ))}
        </div>
      ) : presets.isError ? (
        <p className="text-sm text-destructive">{errorText(presets.error)}</p>
      ) : (
        <div className="grid grid-cols-2 gap-3 sm:grid-cols-3">
          {presets.data.map((p) => (
            <button
              key={p.id}
              type="button"
              disabled={loading !== null}
              onClick={() => void pick(p.id)}
              className="flex flex-col items-start gap-2 rounded-lg border border-border p-3 text-left transition-colors hover:border-primary disabled:opacity-60"
            >
              <ServiceIcon url={p.icon_url} className="size-8" />
              <span className="text-sm font-medium">{loading === p.id ? "Loading…" : p.name}</span>
              <span className="truncate font-mono text-xs text-muted-foreground">{p.image}</span>
            </button>
          ))}
        </div>
      )}
    </Dialog>
  );
}
