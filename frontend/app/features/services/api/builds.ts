import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, rawRequest, refreshTokens, responseError } from "../../../lib/api-client.ts";
import { type SSEEvent, SSEParser } from "../../../lib/sse.ts";
import { getAccessToken } from "../../../lib/tokens.ts";
import { deploymentsQueryOptions } from "../../../shared/services/api/deployments.ts";
import { serviceQueryOptions } from "../../../shared/services/api/services.ts";

const svc = (pid: string, sid: string) => `/api/projects/${encodeURIComponent(pid)}/services/${encodeURIComponent(sid)}`;

export type BuildLogEvent =
  | { kind: "line"; text: string; stream: "stdout" | "stderr" }
  | { kind: "dropped"; count: number }
  | { kind: "end" };

/**
 * One SSE event of the build-log stream, framed like the runtime logs: `data: {"line": …}` per
 * line, `data: {"event": "dropped", "count": n}` when the reader fell behind, `event: end` when the
 * build is over. Null for anything else (a phase change, a ping).
 */
export function buildLogEvent(ev: SSEEvent): BuildLogEvent | null {
  if (ev.event === "end") return { kind: "end" };
  let data: { line?: unknown; stream?: unknown; event?: unknown; count?: unknown };
  try {
    data = JSON.parse(ev.data);
  } catch {
    return null;
  }
  if (typeof data !== "object" || data === null) return null;
  if (data.event === "dropped") return { kind: "dropped", count: Number(data.count ?? 0) };
  if (typeof data.line === "string") return { kind: "line", text: data.line, stream: data.stream === "stderr" ? "stderr" : "stdout" };
  return null;
}

/**
 * Follows a deployment's build log: the stored lines first, then live ones while it builds; the
 * server ends the stream when the build is over. fetch with a streaming reader (EventSource cannot
 * send the Authorization header).
 */
export async function streamBuildLogs(
  pid: string,
  sid: string,
  did: string,
  onEvent: (e: BuildLogEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const res = await rawRequest(`${svc(pid, sid)}/deployments/${encodeURIComponent(did)}/build-logs`, { signal });
  if (!res.ok) throw await responseError(res);
  if (!res.body) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SSEParser();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    for (const ev of parser.feed(value)) {
      const e = buildLogEvent(ev);
      if (e) onEvent(e);
    }
  }
}

/**
 * Sends a gzip tarball to the uploads route. XMLHttpRequest, not fetch: only it reports upload
 * progress. A 401 refreshes the token once and sends again, as the API client does.
 */
export function uploadSource(
  pid: string,
  sid: string,
  body: Blob,
  onProgress: (sent: number, total: number) => void,
  signal?: AbortSignal,
): Promise<unknown> {
  const send = (): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `${svc(pid, sid)}/uploads`);
      const token = getAccessToken();
      if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
      xhr.setRequestHeader("Content-Type", "application/gzip");
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : body.size);
      xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
      xhr.onerror = () => reject(new ApiError(0, "ENETWORK", "The upload did not reach the server."));
      xhr.onabort = () => reject(new DOMException("Upload cancelled", "AbortError"));
      signal?.addEventListener("abort", () => xhr.abort(), { once: true });
      xhr.send(body);
    });
  return (async () => {
    let r = await send();
    if (r.status === 401 && (await refreshTokens())) r = await send();
    if (r.status >= 200 && r.status < 300) return r.text ? (JSON.parse(r.text) as unknown) : null;
    // The same envelope mapping as every other call (the SPA and the CLI share it).
    throw await responseError(new Response(r.text, { status: r.status >= 200 && r.status <= 599 ? r.status : 500 }));
  })();
}

export function redeploy(pid: string, sid: string): Promise<unknown> {
  return api<unknown>(`${svc(pid, sid)}/redeploy`, { method: "POST" });
}

/** Redeploy: rebuilds the branch head (git) or re-pulls the tag (image). */
export function useRedeploy(pid: string, sid: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => redeploy(pid, sid),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: deploymentsQueryOptions(pid, sid).queryKey });
      void qc.invalidateQueries({ queryKey: serviceQueryOptions(pid, sid).queryKey });
    },
  });
}

export interface Webhook {
  url: string;
  secret: string;
}

export function webhookQueryOptions(pid: string, sid: string) {
  return queryOptions({
    queryKey: ["projects", pid, "services", sid, "webhook"],
    queryFn: () => api<Webhook>(`${svc(pid, sid)}/webhook`),
    staleTime: 5 * 60_000,
    retry: false,
  });
}

export function useWebhook(pid: string, sid: string, enabled: boolean) {
  return useQuery({ ...webhookQueryOptions(pid, sid), enabled });
}

/**
 * Generates the service's ssh deploy key (admin); the answer carries the public half, the only time
 * it is shown. A key the service had is replaced.
 */
export function generateDeployKey(pid: string, sid: string): Promise<{ public_key: string }> {
  return api<{ public_key: string }>(`${svc(pid, sid)}/deploy-key`, { method: "POST" });
}

export function useGenerateDeployKey(pid: string, sid: string) {
  return useMutation({ mutationFn: () => generateDeployKey(pid, sid) });
}

/** Stores the access token https clones use (admin), or removes it with null. Never read back. */
export function setGitToken(pid: string, sid: string, token: string | null): Promise<void> {
  return api<void>(`${svc(pid, sid)}/git-token`, { method: "PUT", body: { token } });
}

export function useSetGitToken(pid: string, sid: string) {
  return useMutation({ mutationFn: (token: string | null) => setGitToken(pid, sid, token) });
}
