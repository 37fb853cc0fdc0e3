import { createReadStream, existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import type { FastifyReply, FastifyRequest } from "fastify";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

export const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>DeployKit</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}code{background:#eee;padding:.1rem .3rem;border-radius:3px}</style>
</head><body>
<h1>DeployKit is running</h1>
<p>The API is served under <a href="/api/docs"><code>/api</code></a>, but the web interface has not been built.</p>
<p>Build it with <code>make frontend</code> (then reload this page), or run <code>make dev-frontend</code> and open the Vite dev server it prints.</p>
</body></html>
`;

/**
 * Serves the built SPA: an existing file as is (hashed /assets/* cached for a year), anything else
 * as index.html so client-side routes work. Paths never escape the SPA directory.
 */
export class SPA {
  private readonly dir: string | null;

  constructor(dir: string | null) {
    this.dir = dir ? resolve(dir) : null;
  }

  get built(): boolean {
    return this.dir !== null && existsSync(join(this.dir, "index.html"));
  }

  async serve(_req: FastifyRequest, reply: FastifyReply, path: string): Promise<FastifyReply> {
    reply.header("X-Content-Type-Options", "nosniff");
    if (!this.dir || !this.built)
      return reply.code(200).type("text/html; charset=utf-8").header("Cache-Control", "no-cache").send(NOT_BUILT_PAGE);
    let rel: string;
    try {
      rel = decodeURIComponent(path);
    } catch {
      rel = "/";
    }
    const file = normalize(join(this.dir, rel));
    if ((file === this.dir || file.startsWith(this.dir + sep)) && !rel.includes("\0")) {
      const st = await stat(file).catch(() => null);
      if (st?.isFile()) {
        const immutable = rel.startsWith("/assets/");
        return this.sendFile(reply, file, st.size, immutable ? "public, max-age=31536000, immutable" : "no-cache");
      }
    }
    const index = join(this.dir, "index.html");
    const st = await stat(index).catch(() => null);
    if (!st) return reply.code(200).type("text/html; charset=utf-8").send(NOT_BUILT_PAGE);
    return this.sendFile(reply, index, st.size, "no-cache");
  }

  private sendFile(reply: FastifyReply, file: string, size: number, cache: string): FastifyReply {
    return reply
      .code(200)
      .type(TYPES[extname(file).toLowerCase()] ?? "application/octet-stream")
      .header("Content-Length", String(size))
      .header("Cache-Control", cache)
      .send(createReadStream(file));
  }
}
