import { Play } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";
import type { ServiceRun } from "../../../../../src/ops.ts";
import type { Service } from "../../../../../src/service.ts";
import { Button } from "../../../components/ui/button.tsx";
import { errorText } from "../../../lib/api-client.ts";
import { cn } from "../../../lib/utils.ts";
import { useRunNow, useRuns } from "../../../shared/services/api/runs.ts";

const STATUS_STYLE: Record<string, string> = {
  running: "bg-amber-500/15 text-amber-300",
  succeeded: "bg-emerald-500/15 text-emerald-300",
  failed: "bg-red-500/15 text-red-300",
  skipped: "bg-zinc-500/15 text-zinc-400",
};

/** "1.2 s", "3 min 4 s": how long a run took (or has been going). */
export function runDuration(r: Pick<ServiceRun, "started_at" | "finished_at">, now = Date.now()): string {
  const ms = Math.max(0, (r.finished_at ? Date.parse(r.finished_at) : now) - Date.parse(r.started_at));
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** A cron service's runs: status, duration, exit code and log, plus "Run now". */
export function RunsTab({ projectID, service }: { projectID: string; service: Service }) {
  const runs = useRuns(projectID, service.id);
  const runNow = useRunNow(projectID, service.id);
  const [open, setOpen] = useState<string | null>(null);
  const isCron = !!service.cron_schedule;
  return (
    <div className="grid gap-3" data-testid="runs-tab">
      <div className="flex items-center justify-between gap-2">
        <p className="text-xs text-muted-foreground">
          {isCron ? (
            <>
              Runs on <span className="font-mono">{service.cron_schedule}</span> (UTC); a tick while a run is going is skipped.
            </>
          ) : (
            "Not a cron service: set a schedule in Settings and Deploy."
          )}
        </p>
        <Button
          size="sm"
          disabled={!isCron || !service.active_deployment_id || runNow.isPending}
          onClick={() =>
            runNow.mutate(undefined, {
              onSuccess: (r) => toast.success(r.status === "skipped" ? "Skipped: a run is still going" : "Run started"),
              onError: (e) => toast.error(errorText(e)),
            })
          }
        >
          <Play /> Run now
        </Button>
      </div>
      {runs.data?.length === 0 ? <p className="text-sm text-muted-foreground">No runs yet.</p> : null}
      {(runs.data ?? []).map((r) => (
        <div key={r.id} className="grid gap-1.5 rounded-md border border-border p-2" data-testid="run-row" data-status={r.status}>
          <button type="button" className="flex items-center gap-2 text-left text-xs" onClick={() => setOpen(open === r.id ? null : r.id)}>
            <span className={cn("rounded px-1.5 py-0.5 font-medium", STATUS_STYLE[r.status])}>{r.status}</span>
            <span className="text-muted-foreground">{new Date(r.started_at).toLocaleString()}</span>
            <span className="text-muted-foreground">{r.status === "skipped" ? "" : runDuration(r)}</span>
            {r.exit_code !== undefined && r.exit_code !== null ? <span className="font-mono">exit {r.exit_code}</span> : null}
            {r.trigger === "manual" ? <span className="text-muted-foreground">manual</span> : null}
          </button>
          {r.reason ? <p className="text-xs text-muted-foreground">{r.reason}</p> : null}
          {open === r.id ? (
            <pre className="max-h-60 overflow-auto whitespace-pre-wrap rounded bg-black/40 p-2 font-mono text-[11px]">
              {r.log_tail || (r.status === "running" ? "(running — the log is kept when it ends)" : "(no output)")}
            </pre>
          ) : null}
        </div>
      ))}
    </div>
  );
}
