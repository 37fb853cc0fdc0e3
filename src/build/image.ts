import type * as nodeHTTP from "node:http";
import { createRequire } from "node:module";

// node:http through require: an ESM import reads every export of it, and its WebSocket getter then
// loads fetch's undici with TLS and HTTP/2 (5.4 MB of an idle daemon, docs/benchmarks.md "Memory").
const { request } = createRequire(import.meta.url)("node:http") as typeof nodeHTTP;

const API = "/v1.41";

function get(socketPath: string, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: `${API}${path}`, method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** The local image id of a reference, or null when it is not there. */
export async function imageID(socketPath: string, ref: string): Promise<string | null> {
  const r = await get(socketPath, "GET", `/images/${encodeURIComponent(ref)}/json`);
  if (r.status !== 200) return null;
  return (JSON.parse(r.body) as { Id?: string }).Id ?? null;
}

/**
 * Pulls `ref` again (Redeploy of an image service: a moved tag such as :latest is fetched) and returns
 * the local id after it. When the registry cannot be reached, the local image stays what it was.
 */
export async function pullImage(socketPath: string, ref: string): Promise<string | null> {
  const at = ref.lastIndexOf(":");
  const slash = ref.lastIndexOf("/");
  const [name, tag] = at > slash ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, "latest"];
  const q = new URLSearchParams({ fromImage: name, tag });
  await get(socketPath, "POST", `/images/create?${q}`);
  return imageID(socketPath, ref);
}
