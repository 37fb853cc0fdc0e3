/**
 * `up [dir]`: tar the directory, upload it (`POST …/uploads`, a gzip tarball), then follow the new
 * deployment: its build log, then its containers' logs, until it is healthy (exit 0) or fails (exit 1
 * with the reason). `--json` prints NDJSON events instead.
 */
import { createReadStream } from "node:fs";
import { resolve } from "node:path";
import { Readable } from "node:stream";
import { type Client, errorFromResponse } from "../http/client.ts";
import type * as deploykit from "../index.ts";
import { type Archive, makeArchive } from "./archive.ts";
import { CliError, type Context, EXIT_NOT_FOUND } from "./context.ts";
import { streamBuildLog } from "./logs.ts";
import { readSSE } from "./sse.ts";
import { serviceURLs } from "./status.ts";
import { targetService } from "./target.ts";

/** A deployment as the builds work serves it: `phase` (and the `phases` history) while it builds and rolls out. */
type BuildDeployment = deploykit.Deployment & { phase?: string; phases?: { phase: string; at?: string }[] };

const DONE = new Set(["healthy", "failed", "superseded", "cancelled"]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function emit(ctx: Context, event: Record<string, unknown>): void {
  if (ctx.json) process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** Streams the file to the upload route, with a progress bar on a terminal. */
async function upload(ctx: Context, c: Client, path: string, archive: Archive): Promise<BuildDeployment> {
  let sent = 0;
  let bar: { advance(n: number, msg?: string): void; stop(msg?: string): void; error(msg?: string): void } | null = null;
  if (ctx.tty && process.stderr.isTTY) {
    const { progress } = await import("@clack/prompts");
    const p = progress({ max: archive.size, output: process.stderr, withGuide: false });
    p.start(`Uploading ${archive.files} files (${kib(archive.size)})`);
    bar = p;
  } else ctx.info(`Uploading ${archive.files} files (${kib(archive.size)})…`);
  const file = createReadStream(archive.path);
  let lastEmit = 0;
  file.on("data", (chunk) => {
    sent += chunk.length;
    bar?.advance(chunk.length, `Uploading ${kib(sent)} of ${kib(archive.size)}`);
    if (ctx.json && (sent === archive.size || Date.now() - lastEmit > 250)) {
      lastEmit = Date.now();
      emit(ctx, { event: "upload_progress", bytes: sent, total: archive.size });
    }
  });
  const headers: Record<string, string> = { "Content-Type": "application/gzip", "Content-Length": String(archive.size) };
  if (c.token) headers.Authorization = `Bearer ${c.token}`;
  let res: Response;
  try {
    res = await fetch(c.baseURL + path, {
      method: "POST",
      headers,
      body: Readable.toWeb(file) as ReadableStream,
      duplex: "half",
    } as RequestInit);
  } catch (err) {
    bar?.error("Upload failed");
    throw err;
  }
  if (!res.ok) {
    bar?.error("Upload refused");
    const err = await errorFromResponse(res);
    // The generic 404 of a route the server does not have (a missing service names itself).
    if (err.code === "not_found" && err.message === "Not found.")
      throw new CliError("This server does not accept uploads: it predates `deploykit up`.", EXIT_NOT_FOUND, "not_found");
    throw err;
  }
  bar?.stop(`Uploaded ${kib(archive.size)}`);
  const body = (await res.json()) as BuildDeployment | { deployment: BuildDeployment };
  return "deployment" in body ? body.deployment : body;
}

function kib(n: number): string {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Follows the runtime logs of the deployment's containers until `signal` aborts. */
async function followRuntime(
  ctx: Context,
  c: Client,
  base: string,
  projectID: string,
  dep: BuildDeployment,
  signal: AbortSignal,
): Promise<void> {
  let ids = new Set<string>();
  while (!signal.aborted && ids.size === 0) {
    const containers = (await c.findContainers(projectID, dep.service_id, { deployment_id: dep.id, limit: 100 })).items;
    ids = new Set(containers.filter((x) => x.status === "running").map((x) => x.docker_container_id.slice(0, 12)));
    if (ids.size === 0) await sleep(500);
  }
  if (signal.aborted) return;
  await readSSE(
    c,
    `${base}/logs?tail=200`,
    (f) => {
      if (f.event === "end") return false;
      const e = JSON.parse(f.data) as { container_id?: string; stream?: string; line?: string };
      if (typeof e.line !== "string" || !ids.has(String(e.container_id))) return undefined;
      if (ctx.json) emit(ctx, { event: "log", ...e });
      else (e.stream === "stderr" ? process.stderr : process.stdout).write(`${e.line}\n`);
      return undefined;
    },
    signal,
  ).catch(() => {
    // Runtime logs are a courtesy while waiting: the deployment's status decides the outcome.
  });
}

/** Polls the deployment until it settles, reporting phase changes. */
async function waitSettled(ctx: Context, c: Client, projectID: string, dep: BuildDeployment): Promise<BuildDeployment> {
  let phase = dep.phase ?? "";
  let d = dep;
  for (;;) {
    d = (await c.findDeploymentByID(projectID, dep.service_id, dep.id)) as BuildDeployment;
    const now = d.phase ?? d.status;
    if (now !== phase) {
      phase = now;
      emit(ctx, { event: "phase", phase: now, status: d.status });
      ctx.info(ctx.cyan(`==> ${now}`));
    }
    if (DONE.has(d.status)) return d;
    await sleep(1000);
  }
}

export async function up(ctx: Context, dir: string, opts: { detach?: boolean }): Promise<void> {
  const c = ctx.client();
  const { project, service } = await targetService(ctx);
  const base = `/api/projects/${encodeURIComponent(project.id)}/services/${encodeURIComponent(service.id)}`;
  const archive = await makeArchive(resolve(ctx.cwd, dir));
  let dep: BuildDeployment;
  try {
    dep = await upload(ctx, c, `${base}/uploads`, archive);
  } finally {
    archive.remove();
  }
  emit(ctx, { event: "uploaded", deployment_id: dep.id, files: archive.files, bytes: archive.size });
  ctx.info(`Deployment ${dep.id} of ${service.name} in ${project.name}.`);
  if (opts.detach) {
    if (!ctx.json) ctx.print(dep.id);
    return;
  }
  // The build log first (it ends when the build does), then the containers' logs while the rollout
  // is checked; the deployment's own status decides the exit code.
  await streamBuildLog(ctx, `${base}/deployments/${encodeURIComponent(dep.id)}/build-logs`).catch((err) => {
    if ((err as deploykit.DeployKitError).code !== "not_found") throw err;
  });
  const stop = new AbortController();
  const logs = followRuntime(ctx, c, base, project.id, dep, stop.signal);
  let final: BuildDeployment;
  try {
    final = await waitSettled(ctx, c, project.id, dep);
  } finally {
    stop.abort();
    await logs.catch(() => {});
  }
  if (final.status !== "healthy") {
    const reason = final.failure_reason ?? `the deployment ended ${final.status}`;
    emit(ctx, { event: "failed", deployment_id: final.id, status: final.status, reason });
    throw new CliError(`Deployment ${final.id} ${final.status}: ${reason}`, 1, "deploy_failed");
  }
  const urls = await serviceURLs(c, project.id, await c.findServiceByID(project.id, service.id));
  emit(ctx, { event: "healthy", deployment_id: final.id, urls });
  if (!ctx.json) ctx.print(`${ctx.green("✔")} ${service.name} is serving${urls.length ? `: ${urls.join(" ")}` : "."}`);
}
