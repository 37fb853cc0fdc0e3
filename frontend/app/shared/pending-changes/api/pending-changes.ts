import { type QueryClient, queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ApplyResult, PendingChange } from "../../../../../src/pending-change.ts";
import { api } from "../../../lib/api-client.ts";

const base = (pid: string) => `/api/projects/${encodeURIComponent(pid)}`;

/** The largest page the API serves (src/pagination.ts MAX_LIMIT). */
const PAGE = 100;

/**
 * The whole log, a page at a time: the compacted diff and the staged values need every entry. Fetched
 * once per project visit; the canvas WebSocket keeps it current after that.
 */
export async function getPendingChanges(pid: string): Promise<PendingChange[]> {
  const all: PendingChange[] = [];
  for (;;) {
    const page = await api<{ data: PendingChange[]; total_count: number }>(
      `${base(pid)}/pending-changes?offset=${all.length}&limit=${PAGE}`,
    );
    all.push(...page.data);
    if (page.data.length === 0 || all.length >= page.total_count) return all;
  }
}

export function pendingChangesQueryOptions(pid: string) {
  return queryOptions({ queryKey: ["projects", pid, "pending-changes"], queryFn: () => getPendingChanges(pid), staleTime: 60_000 });
}

export function usePendingChanges(pid: string) {
  return useQuery(pendingChangesQueryOptions(pid));
}

// Cache writers shared by the WebSocket handler and the staging mutations: sorted by seq, one per id.

function sortBySeq(list: PendingChange[]): PendingChange[] {
  return [...list].sort((a, b) => a.seq - b.seq);
}

export function setPendingChanges(qc: QueryClient, pid: string, changes: PendingChange[]): void {
  qc.setQueryData(pendingChangesQueryOptions(pid).queryKey, sortBySeq(changes));
}

/** True when `opt` is the provisional stand-in for the server entry `real` (same op, target and key). */
export function isStandIn(opt: PendingChange, real: PendingChange): boolean {
  return (
    opt.id.startsWith("optimistic-") &&
    opt.op === real.op &&
    (opt.target_id ?? "") === (real.target_id ?? "") &&
    (opt.parent_temp_id ?? "") === (real.parent_temp_id ?? "") &&
    (opt.payload.key ?? null) === (real.payload.key ?? null)
  );
}

/**
 * Adds a server entry, replacing its optimistic stand-in: the WebSocket broadcast often arrives
 * before the HTTP response, and the row must not show twice in between.
 */
export function addPendingChange(qc: QueryClient, pid: string, change: PendingChange, replacesID?: string): void {
  qc.setQueryData(pendingChangesQueryOptions(pid).queryKey, (old: PendingChange[] | undefined) => {
    const list = old ?? [];
    const standIn = replacesID ?? list.find((c) => isStandIn(c, change))?.id;
    return sortBySeq([...list.filter((c) => c.id !== change.id && c.id !== standIn), change]);
  });
}

export function removePendingChanges(qc: QueryClient, pid: string, ids: readonly string[]): void {
  const drop = new Set(ids);
  qc.setQueryData(pendingChangesQueryOptions(pid).queryKey, (old: PendingChange[] | undefined) => old?.filter((c) => !drop.has(c.id)));
}

let optimisticSeq = 0;
/** A provisional entry shown until the server answers (ids prefixed `optimistic-`). */
export function optimisticChange(
  pid: string,
  partial: Pick<PendingChange, "op" | "target_type" | "payload"> & Partial<PendingChange>,
): PendingChange {
  optimisticSeq++;
  return {
    id: `optimistic-${optimisticSeq}`,
    project_id: pid,
    seq: Number.MAX_SAFE_INTEGER - 1000 + optimisticSeq,
    created_at: new Date().toISOString(),
    ...partial,
  };
}

/**
 * A staging mutation with an optimistic entry: the provisional change appears at once, is replaced
 * by the server's entry on success and removed (rolled back) on error.
 */
export function useStageMutation<V>(
  pid: string,
  fn: (v: V) => Promise<PendingChange>,
  optimistic: (v: V) => Pick<PendingChange, "op" | "target_type" | "payload"> & Partial<PendingChange>,
) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onMutate: (v) => {
      const change = optimisticChange(pid, optimistic(v));
      addPendingChange(qc, pid, change);
      return { optimisticID: change.id };
    },
    onError: (_e, _v, ctx) => {
      if (ctx) removePendingChanges(qc, pid, [ctx.optimisticID]);
    },
    onSuccess: (change, _v, ctx) => addPendingChange(qc, pid, change, ctx?.optimisticID),
  });
}

export function discardPendingChanges(pid: string): Promise<void> {
  return api<void>(`${base(pid)}/pending-changes`, { method: "DELETE" });
}

export function useDiscardPendingChanges(pid: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => discardPendingChanges(pid),
    onMutate: () => {
      const prev = qc.getQueryData(pendingChangesQueryOptions(pid).queryKey);
      setPendingChanges(qc, pid, []);
      return { prev };
    },
    onError: (_e, _v, ctx) => {
      if (ctx?.prev) setPendingChanges(qc, pid, ctx.prev);
    },
  });
}

export function removePendingChange(pid: string, id: string): Promise<void> {
  return api<void>(`${base(pid)}/pending-changes/${encodeURIComponent(id)}`, { method: "DELETE" });
}

/** Undo: removes several entries (an env row may be made of a delete and a create). */
export function useRemovePendingChanges(pid: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (ids: string[]) => {
      for (const id of ids) await removePendingChange(pid, id);
    },
    onMutate: (ids) => {
      const prev = qc.getQueryData(pendingChangesQueryOptions(pid).queryKey);
      removePendingChanges(qc, pid, ids);
      return { prev };
    },
    onError: (_e, _v, ctx) => {
      if (ctx?.prev) setPendingChanges(qc, pid, ctx.prev);
      void qc.invalidateQueries({ queryKey: pendingChangesQueryOptions(pid).queryKey });
    },
  });
}

export function deploy(pid: string): Promise<ApplyResult> {
  return api<ApplyResult>(`${base(pid)}/deploy`, { method: "POST" });
}

export function useDeploy(pid: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => deploy(pid),
    onSuccess: () => {
      setPendingChanges(qc, pid, []);
      void qc.invalidateQueries({ queryKey: ["projects", pid] });
    },
  });
}
