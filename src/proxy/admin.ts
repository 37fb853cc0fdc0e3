import type * as nodeHTTP from "node:http";
import { createRequire } from "node:module";
import * as deploykit from "../index.ts";

// node:http through require: an ESM import reads every export of it, and its WebSocket getter then
// loads fetch's undici with TLS and HTTP/2 (5.4 MB of an idle daemon, docs/benchmarks.md "Memory").
const { request } = createRequire(import.meta.url)("node:http") as typeof nodeHTTP;

const TIMEOUT_MS = 15_000;

/** Caddy's admin API over its unix socket (only the daemon can reach the socket's directory). */
export class CaddyAdmin {
  readonly socketPath: string;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path,
          // Caddy's admin endpoint on a unix socket accepts only an empty Host.
          setHost: false,
          headers: {
            host: "",
            ...(payload !== undefined ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}),
          },
          timeout: TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`caddy admin ${method} ${path} timed out`)));
      req.on("error", (err) => reject(deploykit.errorf(deploykit.EUNAVAILABLE, `The proxy's admin API does not answer: ${err.message}`)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  async #json(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await this.call(method, path, body);
    if (res.status < 200 || res.status >= 300)
      throw deploykit.errorf(deploykit.EUNAVAILABLE, `The proxy refused ${method} ${path} (${res.status}): ${res.text.slice(0, 500)}`);
    return res.text.trim() === "" ? null : JSON.parse(res.text);
  }

  /** The running config (null when none is loaded). */
  getConfig(): Promise<unknown> {
    return this.#json("GET", "/config/");
  }

  /** Replaces the whole config atomically; Caddy keeps the old one when the new one fails. */
  async load(config: unknown): Promise<void> {
    await this.#json("POST", "/load", config);
  }

  /** PEM of the internal CA's root (created on first use). */
  async rootCertificate(): Promise<string> {
    const ca = (await this.#json("GET", "/pki/ca/local")) as { root_certificate?: string } | null;
    if (!ca?.root_certificate) throw deploykit.errorf(deploykit.EUNAVAILABLE, "The proxy has no internal CA yet.");
    return ca.root_certificate;
  }
}
