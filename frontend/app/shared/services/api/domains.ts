import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { DomainCreate, ServiceDomain } from "../../../../../src/domains.ts";
import type { PendingChange } from "../../../../../src/pending-change.ts";
import { ApiError, api } from "../../../lib/api-client.ts";
import { addPendingChange } from "../../pending-changes/api/pending-changes.ts";

const base = (pid: string, sid: string) => `/api/projects/${encodeURIComponent(pid)}/services/${encodeURIComponent(sid)}/domains`;

/**
 * A service's applied domains (issue 12), staged ones left out. A 404 is an empty list: a server without the domains API,
 * or a service that is gone, has no domains to show.
 */
export async function getDomains(pid: string, sid: string): Promise<ServiceDomain[]> {
  try {
    const res = await api<ServiceDomain[] | { data: ServiceDomain[] }>(base(pid, sid));
    const list = Array.isArray(res) ? res : (res?.data ?? []);
    // The server lists staged creates too (`staged: true`); the card shows those from the pending
    // changes, next to the applied ones.
    return list.filter((d) => !(d as { staged?: boolean }).staged);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return [];
    throw err;
  }
}

export function domainsQueryOptions(pid: string, sid: string) {
  return queryOptions({
    queryKey: ["projects", pid, "services", sid, "domains"],
    queryFn: () => getDomains(pid, sid),
    // Every service node on the canvas asks for its own: do not ask again on each mount.
    staleTime: 30_000,
    // Certificates are issued in the background: look again while one is pending.
    refetchInterval: (q) => (q.state.data?.some((d) => d.status === "pending") ? 10_000 : false),
  });
}

export function useDomains(pid: string, sid: string, enabled = true) {
  return useQuery({ ...domainsQueryOptions(pid, sid), enabled });
}

/** Stages `domain.create`; the server answers 201 with the staged change. */
export function createDomain(pid: string, sid: string, body: DomainCreate): Promise<PendingChange> {
  return api<PendingChange>(base(pid, sid), { method: "POST", body });
}

/** Stages `domain.delete`. */
export function deleteDomain(pid: string, sid: string, id: string): Promise<PendingChange> {
  return api<PendingChange>(`${base(pid, sid)}/${encodeURIComponent(id)}`, { method: "DELETE" });
}

/** Both stage a change: it joins the pending-change log (and the diff above Deploy) like any other edit. */
export function useCreateDomain(pid: string, sid: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: DomainCreate) => createDomain(pid, sid, body),
    onSuccess: (change) => addPendingChange(qc, pid, change),
  });
}

export function useDeleteDomain(pid: string, sid: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => deleteDomain(pid, sid, id),
    onSuccess: (change) => addPendingChange(qc, pid, change),
  });
}
