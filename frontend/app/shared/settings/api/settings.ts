import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Settings, SettingsUpdate } from "../../../../../src/settings.ts";
import { api } from "../../../lib/api-client.ts";

export function getSettings(): Promise<Settings> {
  return api<Settings>("/api/settings");
}

export function settingsQueryOptions() {
  return queryOptions({ queryKey: ["settings"], queryFn: getSettings, staleTime: 5 * 60_000 });
}

export function useSettings(enabled = true) {
  return useQuery({ ...settingsQueryOptions(), enabled });
}

export function updateSettings(upd: SettingsUpdate): Promise<Settings> {
  return api<Settings>("/api/settings", { method: "PATCH", body: upd });
}

export function useUpdateSettings() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: updateSettings,
    onSuccess: (s) => qc.setQueryData(settingsQueryOptions().queryKey, s),
  });
}
