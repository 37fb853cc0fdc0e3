import { queryOptions, useQuery } from "@tanstack/react-query";
import type { Deployment } from "../../../../../src/deployment.ts";
import { api } from "../../../lib/api-client.ts";

export async function getDeployments(pid: string, sid: string): Promise<Deployment[]> {
  const r = await api<{ data: Deployment[] }>(`/api/projects/${encodeURIComponent(pid)}/services/${encodeURIComponent(sid)}/deployments`, {
    query: { limit: 50 },
  });
  return r.data;
}

export function deploymentsQueryOptions(pid: string, sid: string) {
  return queryOptions({ queryKey: ["projects", pid, "services", sid, "deployments"], queryFn: () => getDeployments(pid, sid) });
}

export function useDeployments(pid: string, sid: string) {
  return useQuery(deploymentsQueryOptions(pid, sid));
}
