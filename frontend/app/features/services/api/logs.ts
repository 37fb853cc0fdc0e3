import { queryOptions, useQuery } from "@tanstack/react-query";
import type { LogLine } from "../../../../../src/logs.ts";
import { api, rawRequest, responseError } from "../../../lib/api-client.ts";
import { SSEParser } from "../../../lib/sse.ts";

export type LogEvent =
  | { kind: "line"; line: LogLine }
  | { kind: "replicas"; replicas: Record<string, number> }
  | { kind: "exited"; container_id: string }
  | { kind: "dropped"; count: number }
  | { kind: "end" };

/**
 * Follows a service's logs over SSE (fetch with a streaming reader, since EventSource cannot send
 * the Authorization header). Resolves when the stream ends; rejects on HTTP errors.
 */
export async function streamLogs(
  pid: string,
  sid: string,
  tail: number,
  onEvent: (e: LogEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const res = await rawRequest(`/api/projects/${encodeURIComponent(pid)}/services/${encodeURIComponent(sid)}/logs`, {
    query: { tail },
    signal,
  });
  if (!res.ok) throw await responseError(res);
  if (!res.body) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SSEParser();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    for (const ev of parser.feed(value)) {
      if (ev.event === "end") {
        onEvent({ kind: "end" });
        continue;
      }
      let data: {
        container_id?: string;
        stream?: "stdout" | "stderr";
        line?: string;
        ts?: string;
        event?: string;
        count?: number;
        replicas?: Record<string, number>;
      };
      try {
        data = JSON.parse(ev.data);
      } catch {
        continue;
      }
      if (data.event === "dropped") onEvent({ kind: "dropped", count: Number(data.count ?? 0) });
      else if (data.event === "replicas") onEvent({ kind: "replicas", replicas: data.replicas ?? {} });
      else if (data.event === "container_exited") onEvent({ kind: "exited", container_id: data.container_id ?? "" });
      else if (typeof data.line === "string")
        onEvent({
          kind: "line",
          line: {
            container_id: data.container_id ?? "",
            stream: data.stream === "stderr" ? "stderr" : "stdout",
            line: data.line,
            ...(typeof data.ts === "string" ? { ts: data.ts } : {}),
          },
        });
    }
  }
}

/** The search and download filters of the Logs tab, as the routes take them (empty: any). */
export interface LogFilter {
  q: string;
  regex: boolean;
  stream: "" | "stdout" | "stderr";
  replica: string;
  since: string;
  until: string;
}

export interface LogSearchResult {
  data: LogLine[];
  scanned: number;
  truncated: boolean;
}

function filterQuery(f: LogFilter): Record<string, string> {
  return { q: f.q, regex: f.regex ? "true" : "", stream: f.stream, replica: f.replica, since: f.since, until: f.until };
}

const base = (pid: string, sid: string) => `/api/projects/${encodeURIComponent(pid)}/services/${encodeURIComponent(sid)}`;

export function searchLogs(pid: string, sid: string, f: LogFilter): Promise<LogSearchResult> {
  return api<LogSearchResult>(`${base(pid, sid)}/logs/search`, { query: { ...filterQuery(f), limit: 5000 } });
}

/**
 * A server-side search of the service's recent logs; runs when `filter` is set (the Search button).
 * `run` counts the clicks: searching again with the same filter reads the logs again.
 */
export function logSearchOptions(pid: string, sid: string, filter: LogFilter | null, run: number) {
  return queryOptions({
    queryKey: ["projects", pid, "services", sid, "logs", "search", filter, run],
    queryFn: () => searchLogs(pid, sid, filter as LogFilter),
    enabled: filter !== null,
    staleTime: Number.POSITIVE_INFINITY,
    retry: false,
  });
}

export function useLogSearch(pid: string, sid: string, filter: LogFilter | null, run: number) {
  return useQuery(logSearchOptions(pid, sid, filter, run));
}

/** Downloads the filtered window as the file the server names (Content-Disposition). */
export async function downloadLogs(pid: string, sid: string, f: LogFilter): Promise<void> {
  const res = await rawRequest(`${base(pid, sid)}/logs/download`, { query: filterQuery(f) });
  if (!res.ok) throw await responseError(res);
  const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? "logs.log";
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export interface DeploymentLogs {
  /** containers: read from the deployment's containers; kept: the lines kept when they were removed. */
  source: "containers" | "kept";
  data: LogLine[];
}

export function deploymentLogsOptions(pid: string, sid: string, did: string) {
  return queryOptions({
    queryKey: ["projects", pid, "services", sid, "deployments", did, "logs"],
    queryFn: () => api<DeploymentLogs>(`${base(pid, sid)}/deployments/${encodeURIComponent(did)}/logs`, { query: { tail: 500 } }),
    retry: false,
  });
}

export function useDeploymentLogs(pid: string, sid: string, did: string, enabled: boolean) {
  return useQuery({ ...deploymentLogsOptions(pid, sid, did), enabled });
}
