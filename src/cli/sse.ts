/** Reads a Server-Sent Events response of the API (runtime logs, build logs) frame by frame. */
import { type Client, errorFromResponse } from "../http/client.ts";

export interface SSEFrame {
  event: string;
  data: string;
}

/**
 * GETs `path` and calls `onFrame` for each frame until the stream ends, `signal` aborts, or `onFrame`
 * returns false. Error responses throw a DeployKitError; an aborted read returns quietly.
 */
export async function readSSE(
  c: Client,
  path: string,
  onFrame: (f: SSEFrame) => boolean | undefined,
  signal?: AbortSignal,
  onOpen?: () => void,
): Promise<void> {
  const headers: Record<string, string> = { Accept: "text/event-stream" };
  if (c.token) headers.Authorization = `Bearer ${c.token}`;
  let res: Response;
  try {
    res = await fetch(c.baseURL + path, { headers, ...(signal ? { signal } : {}) });
  } catch (err) {
    if (signal?.aborted) return;
    throw err;
  }
  if (!res.ok) throw await errorFromResponse(res);
  onOpen?.();
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let i = buf.indexOf("\n\n");
      while (i >= 0) {
        const raw = buf.slice(0, i);
        buf = buf.slice(i + 2);
        i = buf.indexOf("\n\n");
        let event = "message";
        const data: string[] = [];
        for (const line of raw.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
        }
        if (data.length === 0 && event === "message") continue;
        if (onFrame({ event, data: data.join("\n") }) === false) return;
      }
    }
  } catch (err) {
    if (signal?.aborted) return;
    throw err;
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** A build-log frame as text: `{"line": …}` JSON, or the data itself. */
export function buildLine(data: string): string | null {
  try {
    const v = JSON.parse(data) as unknown;
    if (typeof v === "string") return v;
    if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      for (const k of ["line", "message", "text", "log"]) if (typeof o[k] === "string") return o[k] as string;
      return null;
    }
  } catch {
    // plain text frame
  }
  return data;
}
