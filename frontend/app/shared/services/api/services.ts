import { type QueryClient, queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { PendingChange } from "../../../../../src/pending-change.ts";
import type { Service, ServiceUpdate } from "../../../../../src/service.ts";
import { api } from "../../../lib/api-client.ts";
import { useStageMutation } from "../../pending-changes/api/pending-changes.ts";

const base = (pid: string) => `/api/projects/${encodeURIComponent(pid)}/services`;

export async function getServices(pid: string): Promise<Service[]> {
  const all: Service[] = [];
  for (let offset = 0; ; offset += 100) {
    const page = await api<{ data: Service[]; total_count: number }>(base(pid), { query: { offset, limit: 100 } });
    all.push(...page.data);
    if (page.data.length < 100 || all.length >= page.total_count) return all;
  }
}

export function servicesQueryOptions(pid: string) {
  return queryOptions({ queryKey: ["projects", pid, "services"], queryFn: () => getServices(pid) });
}

export function useServices(pid: string) {
  return useQuery(servicesQueryOptions(pid));
}

export function getService(pid: string, sid: string): Promise<Service> {
  return api<Service>(`${base(pid)}/${encodeURIComponent(sid)}`);
}

export function serviceQueryOptions(pid: string, sid: string) {
  return queryOptions({ queryKey: ["projects", pid, "services", sid], queryFn: () => getService(pid, sid) });
}

/** Writes a service into the list and detail caches (WebSocket `service:upserted`). */
export function upsertServiceInCache(qc: QueryClient, pid: string, svc: Service): void {
  qc.setQueryData(servicesQueryOptions(pid).queryKey, (old: Service[] | undefined) => {
    if (!old) return old;
    const i = old.findIndex((s) => s.id === svc.id);
    if (i === -1) return [svc, ...old];
    const next = old.slice();
    next[i] = { ...svc, active_deployment: svc.active_deployment ?? old[i]?.active_deployment };
    return next;
  });
  qc.setQueryData(serviceQueryOptions(pid, svc.id).queryKey, svc);
}

export function patchServiceInCache(qc: QueryClient, pid: string, sid: string, patch: Partial<Service>): void {
  qc.setQueryData(servicesQueryOptions(pid).queryKey, (old: Service[] | undefined) =>
    old?.map((s) => (s.id === sid ? { ...s, ...patch } : s)),
  );
  qc.setQueryData(serviceQueryOptions(pid, sid).queryKey, (old: Service | undefined) => (old ? { ...old, ...patch } : old));
}

export function dropServiceFromCache(qc: QueryClient, pid: string, sid: string): void {
  qc.setQueryData(servicesQueryOptions(pid).queryKey, (old: Service[] | undefined) => old?.filter((s) => s.id !== sid));
  qc.removeQueries({ queryKey: serviceQueryOptions(pid, sid).queryKey });
}

export function updateService(pid: string, sid: string, upd: ServiceUpdate): Promise<PendingChange> {
  return api<PendingChange>(`${base(pid)}/${encodeURIComponent(sid)}`, { method: "PATCH", body: upd });
}

/** Stages a `service.update` (rename, icon, settings). */
export function useUpdateService(pid: string, sid: string) {
  return useStageMutation(
    pid,
    (upd: ServiceUpdate) => updateService(pid, sid, upd),
    (upd) => ({ op: "service.update", target_type: "service", target_id: sid, payload: { ...upd } }),
  );
}

export function stageServiceDelete(pid: string, sid: string): Promise<PendingChange> {
  return api<PendingChange>(`${base(pid)}/${encodeURIComponent(sid)}`, { method: "DELETE" });
}

export function rollbackService(pid: string, sid: string, deploymentID: string): Promise<Service> {
  return api<Service>(`${base(pid)}/${encodeURIComponent(sid)}/rollback`, { method: "POST", body: { deployment_id: deploymentID } });
}

export function useRollback(pid: string, sid: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (deploymentID: string) => rollbackService(pid, sid, deploymentID),
    onSuccess: (svc) => {
      upsertServiceInCache(qc, pid, svc);
      void qc.invalidateQueries({ queryKey: serviceQueryOptions(pid, sid).queryKey });
    },
  });
}

export type ServiceAction = "restart" | "stop" | "start";

/** What the toast says once an action was accepted (panel buttons and the canvas menu). */
export const SERVICE_ACTION_DONE: Record<ServiceAction, string> = {
  restart: "Restarting, one replica at a time",
  stop: "Service stopped",
  start: "Service starting",
};

/** The immediate actions (not staged): Restart one replica at a time, Stop and keep down, Start again. */
export function serviceAction(pid: string, sid: string, action: ServiceAction): Promise<Service> {
  return api<Service>(`${base(pid)}/${encodeURIComponent(sid)}/${action}`, { method: "POST" });
}

export function useServiceAction(pid: string, sid: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (action: ServiceAction) => serviceAction(pid, sid, action),
    onSuccess: (svc) => upsertServiceInCache(qc, pid, svc),
  });
}
