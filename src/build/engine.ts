import type * as nodeHTTP from "node:http";
import { createRequire } from "node:module";
import type { Readable } from "node:stream";
import type * as deploykit from "../index.ts";
import { PlainProgress } from "./trace.ts";

// node:http through require: an ESM import reads every export of it, and its WebSocket getter then
// loads fetch's undici with TLS and HTTP/2 (5.4 MB of an idle daemon, docs/benchmarks.md "Memory").
const { request } = createRequire(import.meta.url)("node:http") as typeof nodeHTTP;

/** The Engine API version the build route is called with (BuildKit via `version=2` needs ≥ 1.39). */
const API = "/v1.41";

export interface EngineBuildOptions {
  socketPath: string;
  /** An uncompressed or gzip tar of the build context. */
  context: Readable;
  tag: string;
  /** Dockerfile path inside the context. */
  dockerfile: string;
  labels: Record<string, string>;
  /** BuildKit (`version=2`) or the classic builder (`version=1`): see deploykit.buildEngineFor. */
  engine: deploykit.BuildEngine;
  /** Limits of each RUN step's container, classic builder only (BuildKit ignores them). 0 = none. */
  cpus: number;
  memoryMb: number;
  signal: AbortSignal;
  onLog: (text: string) => void;
}

export interface EngineBuildResult {
  imageID: string;
  steps: number;
  cachedSteps: number;
}

/**
 * Builds with BuildKit inside dockerd (`POST /build?version=2`): the layer cache is dockerd's own
 * BuildKit cache, multi-stage builds and `RUN --mount=type=cache` work, and the context travels as the
 * request body (the engine serves it to BuildKit), so no gRPC session is needed. A limited build goes
 * to the classic builder instead (`version=1`, deploykit.buildEngineFor), which puts `cpus` and
 * `memoryMb` on each RUN step's container. Aborting the signal closes the request, which cancels the
 * build in the engine.
 */
export function engineBuild(o: EngineBuildOptions): Promise<EngineBuildResult> {
  const q = new URLSearchParams({
    version: o.engine === "classic" ? "1" : "2",
    t: o.tag,
    dockerfile: o.dockerfile,
    labels: JSON.stringify(o.labels),
    rm: "1",
    forcerm: "1",
  });
  if (o.engine === "classic" && o.memoryMb > 0) {
    q.set("memory", String(o.memoryMb * 1024 * 1024));
    q.set("memswap", String(o.memoryMb * 1024 * 1024));
  }
  if (o.engine === "classic" && o.cpus > 0) {
    q.set("cpuperiod", "100000");
    q.set("cpuquota", String(Math.round(o.cpus * 100000)));
  }
  return new Promise((resolve, reject) => {
    const progress = new PlainProgress();
    let imageID = "";
    let failure: string | null = null;
    let settled = false;
    const done = (err: Error | null) => {
      if (settled) return;
      settled = true;
      o.signal.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve({ imageID, steps: progress.steps, cachedSteps: progress.cachedSteps });
    };
    const req = request({
      socketPath: o.socketPath,
      path: `${API}/build?${q}`,
      method: "POST",
      headers: { "Content-Type": "application/x-tar" },
    });
    const onAbort = () => {
      req.destroy();
      done(o.signal.reason instanceof Error ? o.signal.reason : new Error("build cancelled"));
    };
    if (o.signal.aborted) return onAbort();
    o.signal.addEventListener("abort", onAbort);
    req.on("error", (err) => done(err));
    req.on("response", (res) => {
      let pending = "";
      res.setEncoding("utf8");
      const handle = (line: string) => {
        if (line.trim() === "") return;
        let m: { id?: string; aux?: { ID?: string } | string; error?: string; errorDetail?: { message?: string }; message?: string };
        try {
          m = JSON.parse(line);
        } catch {
          o.onLog(`${line}\n`);
          return;
        }
        // BuildKit names the image's message "moby.image.id"; the classic builder sends it unnamed.
        if ((m.id === "moby.image.id" || m.id === undefined) && typeof m.aux === "object" && m.aux?.ID) imageID = m.aux.ID;
        if (m.error) failure = m.errorDetail?.message ?? m.error;
        if (res.statusCode !== 200 && m.message) failure = m.message;
        const text = progress.message(m as Parameters<PlainProgress["message"]>[0]);
        if (text) o.onLog(text);
      };
      res.on("data", (chunk: string) => {
        pending += chunk;
        let i = pending.indexOf("\n");
        while (i >= 0) {
          handle(pending.slice(0, i));
          pending = pending.slice(i + 1);
          i = pending.indexOf("\n");
        }
      });
      res.on("error", (err) => done(err));
      res.on("end", () => {
        handle(pending);
        if (res.statusCode !== 200) return done(new Error(failure ?? `the engine answered ${res.statusCode}`));
        if (failure) return done(new Error(failure));
        done(null);
      });
    });
    o.context.on("error", (err) => {
      req.destroy();
      done(err);
    });
    o.context.pipe(req);
  });
}

/** Removes an image by tag (not forced: an image a container still uses stays). */
export function removeImage(socketPath: string, ref: string): Promise<number> {
  return call(socketPath, "DELETE", `${API}/images/${encodeURIComponent(ref)}?noprune=0`);
}

/** Prunes dockerd's build cache down to `keepBytes` (least recently used first). */
export function pruneBuildCache(socketPath: string, keepBytes: number): Promise<number> {
  return call(socketPath, "POST", `${API}/build/prune?keep-storage=${Math.max(0, Math.trunc(keepBytes))}`);
}

function call(socketPath: string, method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}
