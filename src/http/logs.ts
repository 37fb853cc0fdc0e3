import type { ServerResponse } from "node:http";
import type { FastifyInstance, FastifyReply } from "fastify";
import * as deploykit from "../index.ts";
import { type Deps, principalOf, serviceInProject } from "./context.ts";
import { revokedPrincipals } from "./revocation.ts";
import { ERRORS, INT_QUERY, params, query } from "./schemas.ts";

/**
 * The SSE frame of a line, built once: the log streamer hands the same line object to every viewer of
 * a container, and a flood fanned out to many viewers would otherwise serialize each line per viewer.
 */
const FRAMES = new WeakMap<deploykit.LogLine, string>();

/** Log streams one user may have open at once. */
export const MAX_STREAMS_PER_USER = 10;

/** One SSE response following every running container of a service. */
class LogSession {
  /** Who opened the stream; it is ended when that credential is revoked. */
  principal: deploykit.Principal | null = null;
  private readonly res: ServerResponse;
  private readonly subs: deploykit.LogSubscription[] = [];
  private readonly bufferBytes: number;
  private open: number;
  private dropped = 0;
  private heartbeat: NodeJS.Timeout | null = null;
  private ended = false;
  /** `?since=`: history lines older than this (epoch ms) are skipped. */
  since: number | null = null;
  onEnd: () => void = () => {};

  constructor(res: ServerResponse, containers: number, bufferBytes: number) {
    this.res = res;
    this.open = containers;
    this.bufferBytes = bufferBytes;
  }

  start(heartbeatMs: number): void {
    this.heartbeat = setInterval(() => this.write(": ping\n\n", true), heartbeatMs);
    this.res.on("close", () => this.end(false));
    this.res.on("drain", () => this.reportDropped());
  }

  /** Tells the viewer how many lines it missed while its buffer was full. */
  private reportDropped(): void {
    if (this.dropped === 0 || this.ended) return;
    const n = this.dropped;
    this.dropped = 0;
    this.write(`data: ${JSON.stringify({ event: "dropped", count: n })}\n\n`, true);
  }

  addSubscription(s: deploykit.LogSubscription): void {
    if (this.ended) s.close();
    else this.subs.push(s);
  }

  line(l: deploykit.LogLine): void {
    if (l.line === "") return;
    if (this.since !== null && l.ts !== undefined && Date.parse(l.ts) < this.since) return;
    let frame = FRAMES.get(l);
    if (frame === undefined) {
      const data: { container_id: string; stream: string; line: string; ts?: string } = {
        container_id: l.container_id,
        stream: l.stream,
        line: l.line,
      };
      if (l.ts !== undefined) data.ts = l.ts;
      frame = `data: ${JSON.stringify(data)}\n\n`;
      FRAMES.set(l, frame);
    }
    this.write(frame, false);
  }

  /** Which replica each container is, sent once before any line (lines name only their container). */
  replicas(containers: deploykit.Container[]): void {
    const map: Record<string, number> = {};
    for (const c of containers) map[c.docker_container_id.slice(0, 12)] = c.replica_index;
    this.write(`data: ${JSON.stringify({ event: "replicas", replicas: map })}\n\n`, true);
  }

  exited(containerID: string): void {
    if (this.ended) return;
    this.write(`data: ${JSON.stringify({ container_id: containerID.slice(0, 12), event: "container_exited" })}\n\n`, true);
    this.open--;
    if (this.open <= 0) this.end(true);
  }

  /** Lines are dropped (and counted) while the viewer's buffer is full; control frames always go out. */
  private write(frame: string, always: boolean): void {
    if (this.ended) return;
    if (!always && this.res.writableLength > this.bufferBytes) {
      this.dropped++;
      return;
    }
    this.res.write(frame);
  }

  end(graceful: boolean): void {
    if (this.ended) return;
    if (graceful) {
      this.reportDropped();
      this.write("event: end\ndata: {}\n\n", true);
    }
    this.ended = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const s of this.subs) s.close();
    this.subs.length = 0;
    if (!this.res.writableEnded) this.res.end();
    this.onEnd();
  }
}

type LogStreamDeps = Pick<Deps, "auth" | "services" | "containers" | "logs" | "limits">;

/** Tracks live SSE sessions so shutdown can end them. */
export class LogStreams {
  private readonly sessions = new Set<LogSession>();
  /** Streams per user between the request and the first byte. */
  private readonly opening = new Map<string, number>();
  private readonly d: LogStreamDeps;

  constructor(d: LogStreamDeps) {
    this.d = d;
  }

  async stream(
    reply: FastifyReply,
    principal: deploykit.Principal,
    projectID: string,
    serviceID: string,
    tail: number,
    since: number | null = null,
  ): Promise<void> {
    // Each stream holds a Docker log follow per container: one user may not open them without bound.
    // Streams still being opened count too, so a burst of concurrent requests cannot slip past.
    const uid = principal.user.id;
    const mine = [...this.sessions].filter((s) => s.principal?.user.id === uid).length + (this.opening.get(uid) ?? 0);
    if (mine >= MAX_STREAMS_PER_USER)
      throw new deploykit.DeployKitError(
        deploykit.ERATELIMIT,
        `Too many log streams open (max ${MAX_STREAMS_PER_USER}); close one first.`,
        {
          retryAfterSeconds: 5,
        },
      );
    this.opening.set(uid, (this.opening.get(uid) ?? 0) + 1);
    try {
      await this.open(reply, principal, projectID, serviceID, tail, since);
    } finally {
      const n = (this.opening.get(uid) ?? 1) - 1;
      if (n <= 0) this.opening.delete(uid);
      else this.opening.set(uid, n);
    }
  }

  private async open(
    reply: FastifyReply,
    principal: deploykit.Principal,
    projectID: string,
    serviceID: string,
    tail: number,
    since: number | null,
  ): Promise<void> {
    const d = this.d;
    await serviceInProject(d, projectID, serviceID);
    const containers: deploykit.Container[] = [];
    for (let offset = 0; ; offset += deploykit.MAX_LIMIT) {
      const page = await d.containers.findContainers({
        service_id: serviceID,
        status: deploykit.CONTAINER_RUNNING,
        offset,
        limit: deploykit.MAX_LIMIT,
      });
      containers.push(...page.items);
      if (page.items.length < deploykit.MAX_LIMIT || containers.length >= page.total) break;
    }
    if (containers.length === 0) throw deploykit.errorf(deploykit.ENOTFOUND, "No running containers for this service.");

    const res = reply.raw;
    const session = new LogSession(res, containers.length, d.limits.sseBufferBytes);
    session.principal = principal;
    session.since = since;
    // Lines arriving before the headers are written wait here (history comes first).
    let early: (() => void)[] | null = [];
    const later = (fn: () => void) => (early ? early.push(fn) : fn());
    const follows = await Promise.allSettled(
      containers.map((c) =>
        d.logs.follow(
          c.docker_container_id,
          { tail },
          (l) => later(() => session.line(l)),
          () => later(() => session.exited(c.docker_container_id)),
        ),
      ),
    );
    const failures = follows.filter((f) => f.status === "rejected").map((f) => (f as PromiseRejectedResult).reason);
    const subs = follows.filter((f) => f.status === "fulfilled").map((f) => (f as PromiseFulfilledResult<deploykit.LogSubscription>).value);
    if (subs.length === 0) {
      const unavailable = failures.find((e) => deploykit.errorCode(e) === deploykit.EUNAVAILABLE);
      if (unavailable) throw unavailable;
      throw deploykit.errorf(deploykit.ENOTFOUND, "No running containers for this service.");
    }

    reply.hijack();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = String(v);
    res.writeHead(200, {
      ...headers,
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    res.flushHeaders();
    this.sessions.add(session);
    session.onEnd = () => this.sessions.delete(session);
    session.start(d.limits.sseHeartbeatMs);
    for (const s of subs) session.addSubscription(s);
    if (res.destroyed) return session.end(false);
    session.replicas(containers);
    const queued = early;
    early = null;
    for (const fn of queued) fn();
    // Containers that vanished between the listing and the follow count as exited.
    for (const [i, f] of follows.entries()) {
      if (f.status === "rejected") session.exited((containers[i] as deploykit.Container).docker_container_id);
    }
  }

  /** Ends the streams whose session or key was revoked, or whose user was deleted or changed role. */
  async revalidate(): Promise<void> {
    const sessions = [...this.sessions].filter((s) => s.principal);
    const revoked = await revokedPrincipals(
      this.d.auth,
      sessions.map((s) => s.principal as deploykit.Principal),
    );
    for (const s of sessions) if (s.principal && revoked.has(s.principal)) s.end(false);
  }

  /** Ends every stream (server shutdown). */
  async closeAll(): Promise<void> {
    for (const s of [...this.sessions]) s.end(true);
  }

  get size(): number {
    return this.sessions.size;
  }
}

export function registerLogRoutes(app: FastifyInstance, d: Pick<Deps, "authenticated">, streams: LogStreams): void {
  app.get<{ Params: { projectId: string; serviceId: string }; Querystring: { tail?: string; since?: string } }>(
    "/api/projects/:projectId/services/:serviceId/logs",
    {
      onRequest: d.authenticated,
      schema: {
        tags: ["services"],
        summary: "Follow the logs of every running container (Server-Sent Events)",
        description:
          'Frames: `data: {"event":"replicas","replicas":{"<container_id>":N}}` once first; `data: {"container_id","stream","line","ts"}` ' +
          '(ts: Docker\'s RFC 3339 timestamp, when known); `data: {"container_id","event":"container_exited"}`; ' +
          '`data: {"event":"dropped","count":N}` when the viewer fell behind; `event: end` when every stream ended; `: ping` every 15 s. ' +
          "`since` (a duration like 10m, or an RFC 3339 time) skips older history; with it, `tail` defaults to the maximum.",
        params: params("projectId", "serviceId"),
        querystring: query({ tail: INT_QUERY, since: { type: "string", maxLength: 64 } }),
        response: { 200: { description: "text/event-stream", type: "string" }, ...ERRORS },
      },
    },
    async (req, reply) => {
      const since = deploykit.parseLogSince(req.query.since, new Date());
      const tail = since !== null && req.query.tail === undefined ? deploykit.LOG_TAIL_MAX : deploykit.normalizeLogTail(req.query.tail);
      await streams.stream(reply, principalOf(req), req.params.projectId, req.params.serviceId, tail, since);
      return reply;
    },
  );
}
