/** Reads a Server-Sent Events response of the API (runtime logs, build logs) frame by frame. */
import { type Client, errorFromResponse, readSSEFrames, type SSEFrame } from "../http/client.ts";

export type { SSEFrame };

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
  try {
    // A frame with neither an event name nor data (a comment, a keep-alive) is not passed on.
    await readSSEFrames(res, (f) => (f.data === "" && f.event === "message" ? undefined : onFrame(f)));
  } catch (err) {
    if (signal?.aborted) return;
    throw err;
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
