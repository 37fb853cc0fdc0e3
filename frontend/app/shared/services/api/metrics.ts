import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";
import type { MetricsRange, MetricsSeries, ServiceMetricsSummary } from "../../../../../src/metrics.ts";
import { api } from "../../../lib/api-client.ts";

export type ReplicaChoice = "all" | number;

export async function getServiceMetrics(pid: string, sid: string, range: MetricsRange, replica: ReplicaChoice): Promise<MetricsSeries> {
  return api<MetricsSeries>(`/api/projects/${encodeURIComponent(pid)}/services/${encodeURIComponent(sid)}/metrics`, {
    query: { range, replica: String(replica) },
  });
}

/** Live while the tab is open: short ranges refresh every 10 s, long ones every minute (their tiers change no faster). */
export function refreshMs(range: MetricsRange): number {
  return range === "1h" || range === "6h" ? 10_000 : 60_000;
}

export function metricsQueryOptions(pid: string, sid: string, range: MetricsRange, replica: ReplicaChoice) {
  return queryOptions({
    queryKey: ["projects", pid, "services", sid, "metrics", range, String(replica)],
    queryFn: () => getServiceMetrics(pid, sid, range, replica),
    refetchInterval: refreshMs(range),
    placeholderData: keepPreviousData,
  });
}

export function useServiceMetrics(pid: string, sid: string, range: MetricsRange, replica: ReplicaChoice) {
  return useQuery(metricsQueryOptions(pid, sid, range, replica));
}

export interface ProjectMetricsSummary {
  interval_seconds: number;
  data: ServiceMetricsSummary[];
}

export async function getProjectMetricsSummary(pid: string): Promise<ProjectMetricsSummary> {
  return api<ProjectMetricsSummary>(`/api/projects/${encodeURIComponent(pid)}/metrics/summary`);
}

/** One request per project and interval, whatever the number of nodes: every node reads the same query. */
export function projectMetricsSummaryOptions(pid: string) {
  return queryOptions({
    queryKey: ["projects", pid, "metrics", "summary"],
    queryFn: () => getProjectMetricsSummary(pid),
    refetchInterval: 10_000,
    staleTime: 5_000,
    // A daemon without metrics answers 503: the canvas simply shows no figures.
    retry: false,
  });
}

/** A running service's newest CPU and memory figures for its canvas node (undefined when none). */
export function useServiceFigures(pid: string, sid: string, enabled: boolean) {
  return useQuery({
    ...projectMetricsSummaryOptions(pid),
    enabled: enabled && pid !== "",
    select: (s: ProjectMetricsSummary) => s.data.find((x) => x.service_id === sid),
  });
}
