import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Settings, SettingsUpdate } from "../../../../../src/settings.ts";
import type { ScheduledBackupResult, SystemAbout, SystemStatus } from "../../../../../src/system.ts";
import { api } from "../../../lib/api-client.ts";

export function getAbout(): Promise<SystemAbout> {
  return api<SystemAbout>("/api/system/about");
}

export function aboutQueryOptions() {
  return queryOptions({ queryKey: ["system", "about"], queryFn: getAbout });
}

export function useAbout() {
  return useQuery(aboutQueryOptions());
}

/** The reconciler's view, added to the status by the daemon when it has one. */
export interface ReconcilerStatus {
  docker_reachable: boolean;
  last_error?: string;
  last_pass_at?: string;
}

export type StatusWithReconciler = SystemStatus & { reconciler?: ReconcilerStatus };

export function getStatus(): Promise<StatusWithReconciler> {
  return api<StatusWithReconciler>("/api/system/status");
}

/** Polled every 3 s while the page is visible (not in the background). */
export function statusQueryOptions() {
  return queryOptions({
    queryKey: ["system", "status"],
    queryFn: getStatus,
    refetchInterval: 3000,
    refetchIntervalInBackground: false,
    staleTime: 0,
  });
}

export function useStatus() {
  return useQuery(statusQueryOptions());
}

export function runBackup(): Promise<ScheduledBackupResult> {
  return api<ScheduledBackupResult>("/api/system/backups", { method: "POST" });
}

/** "Back up now": the status (last result, kept count) is read again afterwards. */
export function useRunBackup() {
  const qc = useQueryClient();
  return useMutation({ mutationFn: runBackup, onSettled: () => qc.invalidateQueries({ queryKey: ["system", "status"] }) });
}

/** The backup schedule lives in the instance settings; saving it refreshes both views. */
export function useSaveBackupSchedule() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (upd: Pick<SettingsUpdate, "backup_enabled" | "backup_interval_hours" | "backup_retention" | "backup_dir">) =>
      api<Settings>("/api/settings", { method: "PATCH", body: upd }),
    onSuccess: (s) => {
      qc.setQueryData(["settings"], s);
      void qc.invalidateQueries({ queryKey: ["system", "status"] });
    },
  });
}
