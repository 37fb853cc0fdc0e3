import { AlertTriangle, DatabaseBackup } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";
import type { ScheduledBackupStatus } from "../../../../../src/system.ts";
import { Badge } from "../../../components/ui/badge.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { formatBytes, relativeTime } from "../../../lib/format.ts";
import { useRunBackup, useSaveBackupSchedule } from "../../../shared/system/api/system.ts";

const wholeIn = (v: string, max: number) => /^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= max;

/**
 * Scheduled state backups (issue 20): the last result, a failure as a warning, "Back up now", and
 * the schedule (on/off, interval, retention, directory).
 */
export function BackupsCard({ backups }: { backups: ScheduledBackupStatus }) {
  const run = useRunBackup();
  const save = useSaveBackupSchedule();
  const [enabled, setEnabled] = useState(backups.enabled);
  const [hours, setHours] = useState(String(backups.interval_hours));
  const [keep, setKeep] = useState(String(backups.retention));
  const [dir, setDir] = useState(backups.directory);
  const hoursErr = wholeIn(hours, 744) ? null : "A whole number of hours from 1 to 744.";
  const keepErr = wholeIn(keep, 1000) ? null : "A whole number from 1 to 1000.";
  const unchanged =
    enabled === backups.enabled &&
    Number(hours) === backups.interval_hours &&
    Number(keep) === backups.retention &&
    dir === backups.directory;
  const last = backups.last;
  return (
    <Card className="lg:col-span-2" data-testid="backups">
      <CardHeader>
        <CardTitle className="flex items-center gap-2">
          <DatabaseBackup className="size-4" /> Backups
          {backups.enabled ? <Badge variant="success">scheduled</Badge> : <Badge variant="secondary">off</Badge>}
        </CardTitle>
        <CardDescription>
          A verified copy of DeployKit's database (projects, services, settings — not the contents of Docker volumes), taken while it
          serves.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {backups.warning ? (
          <p
            role="alert"
            className="flex items-start gap-2 rounded-md border border-amber-500/40 bg-amber-500/10 p-3 text-sm text-amber-200"
          >
            <AlertTriangle className="mt-0.5 size-4 shrink-0" /> {backups.warning}
          </p>
        ) : null}
        <p className="text-sm text-muted-foreground" data-testid="backups-last">
          {last
            ? last.ok
              ? `Last backup ${relativeTime(last.at)}: ${last.path} (${formatBytes(last.bytes ?? 0)}, ${last.duration_ms} ms).`
              : `Last attempt ${relativeTime(last.at)} failed.`
            : backups.last_success_at
              ? `Last backup ${relativeTime(backups.last_success_at)}.`
              : "No backup yet."}{" "}
          {backups.kept} kept in {backups.directory}.{backups.enabled && backups.next_at ? ` Next ${relativeTime(backups.next_at)}.` : ""}
        </p>
        <form
          className="grid gap-4 sm:grid-cols-4"
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate(
              { backup_enabled: enabled, backup_interval_hours: Number(hours), backup_retention: Number(keep), backup_dir: dir },
              { onSuccess: () => toast.success("Backup schedule saved") },
            );
          }}
        >
          <label className="flex items-center gap-2 self-end pb-2 text-sm">
            <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Scheduled backups
          </label>
          <Field label="Every (hours)" htmlFor="backup-hours" error={hoursErr ?? fieldError(save.error, "backup_interval_hours")}>
            <Input id="backup-hours" inputMode="numeric" value={hours} onChange={(e) => setHours(e.target.value)} />
          </Field>
          <Field label="Keep" htmlFor="backup-keep" error={keepErr ?? fieldError(save.error, "backup_retention")}>
            <Input id="backup-keep" inputMode="numeric" value={keep} onChange={(e) => setKeep(e.target.value)} />
          </Field>
          <Field label="Directory" htmlFor="backup-dir" error={fieldError(save.error, "backup_dir")}>
            <Input id="backup-dir" value={dir} onChange={(e) => setDir(e.target.value)} />
          </Field>
          <div className="flex justify-end gap-2 sm:col-span-4">
            <Button
              type="button"
              variant="outline"
              disabled={run.isPending}
              onClick={() =>
                run.mutate(undefined, {
                  onSuccess: (r) => (r.ok ? toast.success(`Backed up to ${r.path}`) : toast.error(`Backup failed: ${r.error}`)),
                  onError: (err) => toast.error(errorText(err)),
                })
              }
            >
              {run.isPending ? "Backing up…" : "Back up now"}
            </Button>
            <Button type="submit" disabled={Boolean(hoursErr || keepErr) || unchanged || save.isPending}>
              Save schedule
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}
