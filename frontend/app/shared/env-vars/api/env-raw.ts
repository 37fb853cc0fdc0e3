import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ReferenceCatalog } from "../../../../../src/envvar.ts";
import type { PendingChange } from "../../../../../src/pending-change.ts";
import { api } from "../../../lib/api-client.ts";
import { pendingChangesQueryOptions } from "../../pending-changes/api/pending-changes.ts";
import { type EnvOwner, ownerPath } from "./env-vars.ts";

/** The scope's applied variables as `.env` text (comments of the last RAW edit kept). */
export function envRawQueryOptions(pid: string, owner: EnvOwner) {
  return queryOptions({
    queryKey: ["projects", pid, "env-raw", owner.scope, owner.id] as const,
    queryFn: async () => (await api<{ text: string }>(`${ownerPath(pid, owner)}/raw`)).text,
  });
}

export function useEnvRaw(pid: string, owner: EnvOwner, enabled: boolean) {
  return useQuery({ ...envRawQueryOptions(pid, owner), enabled });
}

/** Stages the difference between the text and the applied variables as one change. */
export function useStageEnvRaw(pid: string, owner: EnvOwner) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (text: string) =>
      (await api<{ data: PendingChange[] }>(`${ownerPath(pid, owner)}/raw`, { method: "PUT", body: { text } })).data,
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: pendingChangesQueryOptions(pid).queryKey });
      void qc.invalidateQueries({ queryKey: envRawQueryOptions(pid, owner).queryKey });
    },
  });
}

/** Every variable a reference can name (resolved) and every reference: autocomplete and "referenced by". */
export function referenceCatalogQueryOptions(pid: string) {
  return queryOptions({
    queryKey: ["projects", pid, "env-references"] as const,
    queryFn: () => api<ReferenceCatalog>(`/api/projects/${encodeURIComponent(pid)}/env-references`),
  });
}

export function useReferenceCatalog(pid: string) {
  return useQuery(referenceCatalogQueryOptions(pid));
}
