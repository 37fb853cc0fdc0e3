import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ServiceRun } from "../../../../../src/ops.ts";
import { api } from "../../../lib/api-client.ts";

const path = (pid: string, sid: string) => `/api/projects/${encodeURIComponent(pid)}/services/${encodeURIComponent(sid)}/runs`;

export async function getRuns(pid: string, sid: string): Promise<ServiceRun[]> {
  const r = await api<{ data: ServiceRun[] }>(path(pid, sid), { query: { limit: 50 } });
  return r.data;
}

export function runsQueryOptions(pid: string, sid: string) {
  return queryOptions({ queryKey: ["projects", pid, "services", sid, "runs"], queryFn: () => getRuns(pid, sid) });
}

/** A cron service's runs, newest first; kept fresh by the canvas socket's run:* messages. */
export function useRuns(pid: string, sid: string, enabled = true) {
  return useQuery({ ...runsQueryOptions(pid, sid), enabled });
}

/** "Run now" (immediate, not staged). */
export function useRunNow(pid: string, sid: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => api<ServiceRun>(path(pid, sid), { method: "POST" }),
    onSettled: () => void qc.invalidateQueries({ queryKey: runsQueryOptions(pid, sid).queryKey }),
  });
}

/** Merges a run from a run:* message into the cached list (newest first). */
export function upsertRunInCache(qc: ReturnType<typeof useQueryClient>, pid: string, run: ServiceRun): void {
  qc.setQueryData(runsQueryOptions(pid, run.service_id).queryKey, (old: ServiceRun[] | undefined) => {
    if (!old) return old;
    const i = old.findIndex((r) => r.id === run.id);
    if (i >= 0) return old.map((r) => (r.id === run.id ? run : r));
    return [run, ...old];
  });
}
