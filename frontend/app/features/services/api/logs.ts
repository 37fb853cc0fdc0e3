import type { LogLine } from "../../../../../src/logs.ts";
import { rawRequest, responseError } from "../../../lib/api-client.ts";
import { SSEParser } from "../../../lib/sse.ts";

export type LogEvent =
  | { kind: "line"; line: LogLine }
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
      let data: { container_id?: string; stream?: "stdout" | "stderr"; line?: string; event?: string; count?: number };
      try {
        data = JSON.parse(ev.data);
      } catch {
        continue;
      }
      if (data.event === "dropped") onEvent({ kind: "dropped", count: Number(data.count ?? 0) });
      else if (data.event === "container_exited") onEvent({ kind: "exited", container_id: data.container_id ?? "" });
      else if (typeof data.line === "string")
        onEvent({
          kind: "line",
          line: { container_id: data.container_id ?? "", stream: data.stream === "stderr" ? "stderr" : "stdout", line: data.line },
        });
    }
  }
}
