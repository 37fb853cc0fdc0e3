import { queryOptions, useQuery } from "@tanstack/react-query";
import type { Preset } from "../../../../../src/preset.ts";
import { api } from "../../../lib/api-client.ts";

export function getPresets(): Promise<Preset[]> {
  return api<Preset[]>("/api/presets/databases");
}

export function presetsQueryOptions() {
  return queryOptions({ queryKey: ["presets", "databases"], queryFn: getPresets, staleTime: Number.POSITIVE_INFINITY });
}

export function usePresets(enabled: boolean) {
  return useQuery({ ...presetsQueryOptions(), enabled });
}

/** The preset with fresh generated secrets (never cached: each call must generate new values). */
export function getMaterializedPreset(id: string): Promise<Preset> {
  return api<Preset>(`/api/presets/databases/${encodeURIComponent(id)}`);
}
