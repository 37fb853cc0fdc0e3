import type { FastifyInstance, FastifyRequest } from "fastify";
import type { RawData, WebSocket } from "ws";
import * as deploykit from "../index.ts";
import { type Draft, HubClient, type HubOps, type Room } from "./canvas-hub-client.ts";
import { EVENT_MESSAGES, eventPayload } from "./canvas-hub-events.ts";
import { handleMessage } from "./canvas-hub-messages.ts";
import { MoveWriter } from "./canvas-hub-moves.ts";
import { Heartbeat } from "./canvas-hub-ping.ts";
import * as present from "./present.ts";
import { revokedPrincipals } from "./revocation.ts";
import { UnauthenticatedSockets } from "./unauthenticated.ts";

export interface CanvasHubOptions {
  auth: deploykit.AuthService;
  projects: deploykit.ProjectService;
  services: deploykit.ServiceService;
  canvas: deploykit.CanvasService;
  pendingChanges: deploykit.PendingChangeService;
  bus: deploykit.EventBus;
  logger: deploykit.Logger;
  now: () => Date;
  /** Bytes queued for one client before it is closed as too slow (1013). */
  sendBufferBytes: number;
  authTimeoutMs: number;
  authRecheckMs: number;
  /** Sockets per client address that have not authenticated yet (default 32); more are refused with 429. */
  maxUnauthenticatedPerAddress?: number;
  /** How long node moves are coalesced before they are written (default 100 ms). */
  moveFlushMs?: number;
  /** Called synchronously for every bus event before it is forwarded (cache invalidation). */
  onEvent?: (e: deploykit.Event) => void;
  /** Ms between pings; a client that misses two pongs is closed and leaves its room (0: no pings). */
  pingIntervalMs?: number;
}

const OPEN = 1;
const MAX_INBOUND_QUEUE = 256;
const MAX_TIMER_MS = 2 ** 31 - 1;
export const CLOSE_AUTH = 4001;
/** A socket authenticates within seconds; an address holding this many that have not is hoarding. */
export const MAX_UNAUTHENTICATED_PER_ADDRESS = 32;
export const CLOSE_PROJECT_DELETED = 4004;
export const CLOSE_TOO_SLOW = 1013;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY = 1008;

/**
 * The canvas WebSocket hub (original §3.5): one room per project, presence, cursors, drafts,
 * layout edits and staged changes, plus bus events forwarded to the project's room. Every client
 * message is authorized again; a client that cannot keep up is closed, never waited for.
 */
export class CanvasHub implements HubOps {
  readonly deps: CanvasHubOptions;
  readonly moves: MoveWriter;
  private readonly rooms = new Map<string, Room>();
  private readonly all = new Set<HubClient>();
  /** Not-yet-authenticated sockets per client address. */
  private readonly unauthenticated = new UnauthenticatedSockets();
  private subscription: deploykit.Subscription | null = null;
  private readonly heartbeat: Heartbeat;

  constructor(opts: CanvasHubOptions) {
    this.deps = opts;
    this.moves = new MoveWriter(opts.canvas, opts.logger, opts.moveFlushMs ?? 100);
    this.heartbeat = new Heartbeat(opts.pingIntervalMs ?? 0);
  }

  /** Subscribes to the bus and starts pinging. */
  start(): void {
    if (this.subscription) return;
    this.heartbeat.start();
    this.subscription = this.deps.bus.subscribe((e) => this.onEvent(e), { bufferSize: 1024 });
  }

  register(app: FastifyInstance, originAllowed: (req: FastifyRequest) => boolean): void {
    app.get<{ Params: { projectId: string } }>(
      "/api/projects/:projectId/canvas/ws",
      {
        websocket: true,
        // Public at the HTTP level: the socket authenticates with its first frame (browsers cannot
        // set an Authorization header on a WebSocket).
        schema: { security: [] },
        preValidation: async (req, reply) => {
          if (!originAllowed(req)) return reply.code(403).send({ error: deploykit.EFORBIDDEN, message: "Origin not allowed." });
          // Anyone may open a socket before authenticating; one address may not hold hundreds open.
          if (this.unauthenticated.full(req.ip, this.deps.maxUnauthenticatedPerAddress ?? MAX_UNAUTHENTICATED_PER_ADDRESS))
            return reply
              .code(429)
              .header("Retry-After", "5")
              .send({ error: deploykit.ERATELIMIT, message: "Too many unauthenticated connections from this address." });
          const id = req.params.projectId;
          if (typeof id !== "string" || id.length > 128)
            return reply.code(404).send({ error: deploykit.ENOTFOUND, message: "Project not found." });
          await this.deps.projects.findProjectByID(id);
        },
      },
      (socket, req) => this.accept(socket, req.params.projectId, req.ip),
    );
  }

  /** Takes a freshly upgraded socket; it has `authTimeoutMs` to send its auth frame. */
  accept(ws: WebSocket, projectID: string, address = ""): void {
    const c = new HubClient(ws, projectID);
    this.all.add(c);
    c.onAuthenticated = this.unauthenticated.add(address);
    c.authTimer = setTimeout(() => this.drop(c, CLOSE_AUTH, "Authentication timeout."), this.deps.authTimeoutMs);
    ws.on("message", (data: RawData, isBinary: boolean) => this.enqueue(c, data, isBinary));
    ws.on("close", () => {
      c.onAuthenticated();
      this.all.delete(c);
      this.heartbeat.delete(ws);
      this.leave(c);
    });
    this.heartbeat.add(ws, () => this.vanished(c));
    ws.on("error", (err) => this.deps.logger.debug({ err: err.message }, "canvas socket error"));
  }

  room(projectID: string): Room | undefined {
    return this.rooms.get(projectID);
  }

  /** Number of authenticated clients (all rooms). */
  get clientCount(): number {
    let n = 0;
    for (const r of this.rooms.values()) n += r.clients.size;
    return n;
  }

  send(c: HubClient, type: deploykit.CanvasServerMessageType, payload: unknown): void {
    this.sendRaw(c, JSON.stringify({ type, payload }));
  }

  broadcast(projectID: string, type: deploykit.CanvasServerMessageType, payload: unknown, except?: HubClient): void {
    const room = this.rooms.get(projectID);
    if (!room) return;
    const data = JSON.stringify({ type, payload });
    for (const c of room.clients) {
      if (c === except) continue;
      if (c.backlog) c.backlog.push(data);
      else this.sendRaw(c, data);
    }
  }

  /** Sends the project's current canvas to everyone in its room. */
  async broadcastCanvasState(projectID: string): Promise<void> {
    if (!this.rooms.has(projectID)) return;
    await this.moves.flush(projectID);
    const state = await this.deps.canvas.getCanvas(projectID);
    this.broadcast(projectID, "canvas:state", present.canvasState(state));
  }

  /** The project is gone: disconnect its room. */
  closeRoom(projectID: string): void {
    const room = this.rooms.get(projectID);
    if (!room) return;
    for (const c of [...room.clients]) this.drop(c, CLOSE_PROJECT_DELETED, "Project deleted.");
  }

  /** Closes (4001) every socket whose session or key was revoked, or whose user was deleted or changed role. */
  async revalidate(): Promise<void> {
    const clients = [...this.all].filter((c) => c.principal && !c.closed);
    const revoked = await revokedPrincipals(
      this.deps.auth,
      clients.map((c) => c.principal as deploykit.Principal),
    );
    for (const c of clients) if (c.principal && revoked.has(c.principal) && !c.closed) this.drop(c, CLOSE_AUTH, "Credentials revoked.");
  }

  /** Closes every connection with 1001 and waits (briefly) for them to go. */
  async close(): Promise<void> {
    this.subscription?.close();
    this.subscription = null;
    this.heartbeat.stop();
    const sockets = [...this.all].map((c) => c.ws);
    for (const c of [...this.all]) this.drop(c, CLOSE_GOING_AWAY, "Server shutting down.");
    const deadline = Date.now() + 1000;
    while (sockets.some((s) => s.readyState !== 3) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of sockets) if (s.readyState !== 3) s.terminate();
    await this.moves.flushAll();
  }

  private sendRaw(c: HubClient, data: string): void {
    if (c.closed || c.ws.readyState !== OPEN) return;
    if (c.ws.bufferedAmount + data.length > this.deps.sendBufferBytes) {
      this.deps.logger.warn(
        { project_id: c.projectID, user_id: c.userID, buffered: c.ws.bufferedAmount },
        "canvas client too slow, disconnecting",
      );
      this.drop(c, CLOSE_TOO_SLOW, "Client too slow.");
      return;
    }
    c.ws.send(data);
  }

  /** Removes the client from its room at once and closes the socket (terminating it if it lingers). */
  private drop(c: HubClient, code: number, reason: string): void {
    this.leave(c);
    const ws = c.ws;
    if (ws.readyState === OPEN || ws.readyState === 0) {
      ws.close(code, reason);
      setTimeout(() => {
        if (ws.readyState !== 3) ws.terminate();
      }, 2000).unref();
    }
  }

  /** Missed its pongs: nobody is there to answer a close frame, so leave the room and cut the socket. */
  private vanished(c: HubClient): void {
    this.deps.logger.info({ project_id: c.projectID, user_id: c.userID }, "canvas client stopped answering pings, disconnecting");
    this.leave(c);
    c.ws.terminate();
  }

  private leave(c: HubClient): void {
    if (c.closed) return;
    c.closed = true;
    c.clearTimers();
    const room = this.rooms.get(c.projectID);
    if (!room?.clients.delete(c)) return;
    if (c.principal && ![...room.clients].some((o) => o.userID === c.userID)) {
      this.broadcast(c.projectID, "user:left", { user_id: c.userID });
      for (const d of [...room.drafts.values()]) {
        if (d.user_id !== c.userID) continue;
        room.drafts.delete(d.draft_id);
        this.broadcast(c.projectID, "service:draft-cancelled", { draft_id: d.draft_id });
      }
    }
    if (room.clients.size === 0) this.rooms.delete(c.projectID);
  }

  private enqueue(c: HubClient, data: RawData, isBinary: boolean): void {
    if (c.closed) return;
    if (c.pending >= MAX_INBOUND_QUEUE) {
      this.drop(c, CLOSE_POLICY, "Too many messages.");
      return;
    }
    c.pending++;
    c.chain = c.chain
      .then(() => (c.closed ? undefined : this.onMessage(c, data, isBinary)))
      .catch((err) => {
        this.deps.logger.error({ err, project_id: c.projectID }, "canvas message failed");
        if (!c.closed) this.send(c, "error", { message: "Internal error." });
      })
      .finally(() => {
        c.pending--;
      });
  }

  private async onMessage(c: HubClient, data: RawData, isBinary: boolean): Promise<void> {
    type Frame = { type?: unknown; payload?: unknown };
    let msg: Frame | null = null;
    if (!isBinary) {
      try {
        const v: unknown = JSON.parse(data.toString());
        if (typeof v === "object" && v !== null && !Array.isArray(v)) msg = v as Frame;
      } catch {
        msg = null;
      }
    }
    const type = typeof msg?.type === "string" ? msg.type : null;
    if (!c.principal) {
      if (type !== "auth") return this.drop(c, CLOSE_AUTH, "Authentication failed.");
      return this.authenticate(c, msg?.payload);
    }
    if (type === null) return this.send(c, "error", { message: "Invalid message format." });
    if (type === "auth") return this.reauthenticate(c, msg?.payload);
    if (!(await this.authorize(c))) return;
    await handleMessage(this, c, type, msg?.payload);
  }

  private tokenOf(payload: unknown): string | null {
    const t = (payload as { token?: unknown } | undefined)?.token;
    return typeof t === "string" && t !== "" && t.length <= 4096 ? t : null;
  }

  private async authenticate(c: HubClient, payload: unknown): Promise<void> {
    const token = this.tokenOf(payload);
    const principal = token ? await this.deps.auth.authenticate(token).catch(() => null) : null;
    if (c.closed) return;
    if (!token || !principal) return this.drop(c, CLOSE_AUTH, "Authentication failed.");
    if (c.authTimer) clearTimeout(c.authTimer);
    c.authTimer = null;
    c.onAuthenticated();
    this.setPrincipal(c, token, principal);
    if (c.closed) return;
    await this.join(c);
  }

  /** A fresh token frame extends the connection past the old token's expiry (PRODUCT §4.17). */
  private async reauthenticate(c: HubClient, payload: unknown): Promise<void> {
    const token = this.tokenOf(payload);
    const principal = token ? await this.deps.auth.authenticate(token).catch(() => null) : null;
    if (c.closed) return;
    if (!token || !principal || principal.user.id !== c.userID) return this.drop(c, CLOSE_AUTH, "Authentication failed.");
    this.setPrincipal(c, token, principal);
    if (!c.closed) this.send(c, "auth:ok", { expires_at: principal.expires_at });
  }

  private setPrincipal(c: HubClient, token: string, principal: deploykit.Principal): void {
    c.token = token;
    c.principal = principal;
    c.checkedAt = this.deps.now().getTime();
    if (c.expiryTimer) clearTimeout(c.expiryTimer);
    c.expiryTimer = null;
    if (principal.expires_at === null) return;
    const ms = Date.parse(principal.expires_at) - this.deps.now().getTime();
    if (!(ms > 0)) {
      this.drop(c, CLOSE_AUTH, "Token expired.");
      return;
    }
    c.expiryTimer = setTimeout(() => this.checkExpiry(c), Math.min(ms + 50, MAX_TIMER_MS));
  }

  private checkExpiry(c: HubClient): void {
    const exp = c.principal?.expires_at;
    if (c.closed || !exp) return;
    const ms = Date.parse(exp) - this.deps.now().getTime();
    if (ms <= 0) {
      this.drop(c, CLOSE_AUTH, "Token expired.");
      return;
    }
    c.expiryTimer = setTimeout(() => this.checkExpiry(c), Math.min(ms + 50, MAX_TIMER_MS));
  }

  /** Before every message: the token has not expired and (rechecked every few seconds) still works. */
  private async authorize(c: HubClient): Promise<boolean> {
    const now = this.deps.now().getTime();
    const exp = c.principal?.expires_at;
    if (exp && Date.parse(exp) <= now) {
      this.drop(c, CLOSE_AUTH, "Token expired.");
      return false;
    }
    if (now - c.checkedAt < this.deps.authRecheckMs) return true;
    const principal = await this.deps.auth.authenticate(c.token).catch(() => null);
    if (c.closed) return false;
    if (!principal || principal.user.id !== c.userID) {
      this.drop(c, CLOSE_AUTH, "Authentication failed.");
      return false;
    }
    c.principal = principal;
    c.checkedAt = now;
    return true;
  }

  private async join(c: HubClient): Promise<void> {
    let room = this.rooms.get(c.projectID);
    if (!room) {
      room = { clients: new Set(), drafts: new Map<string, Draft>() };
      this.rooms.set(c.projectID, room);
    }
    const first = ![...room.clients].some((o) => o.userID === c.userID);
    c.backlog = [];
    room.clients.add(c);
    let state: deploykit.CanvasState;
    let changes: deploykit.PendingChange[];
    try {
      await this.moves.flush(c.projectID);
      [state, changes] = await Promise.all([
        this.deps.canvas.getCanvas(c.projectID),
        this.deps.pendingChanges.findPendingChanges(c.projectID),
      ]);
    } catch (err) {
      this.deps.logger.error({ err, project_id: c.projectID }, "canvas initial state failed");
      return this.drop(c, 1011, "Internal error.");
    }
    if (c.closed) return;
    const users = new Map<string, string>();
    for (const o of room.clients) if (o.principal) users.set(o.userID, o.userName);
    const backlog = c.backlog;
    c.backlog = null;
    this.send(c, "canvas:state", present.canvasState(state));
    this.send(c, "users:list", { users: [...users].map(([user_id, user_name]) => ({ user_id, user_name })) });
    this.send(c, "service:drafts", { drafts: [...room.drafts.values()] });
    this.send(c, "pending-changes:state", { changes: changes.map(present.pendingChange) });
    for (const data of backlog) this.sendRaw(c, data);
    if (first) this.broadcast(c.projectID, "user:joined", { user_id: c.userID, user_name: c.userName }, c);
  }

  private async onEvent(e: deploykit.Event): Promise<void> {
    this.deps.onEvent?.(e);
    if (!e.project_id || !this.rooms.has(e.project_id)) return;
    const type = EVENT_MESSAGES[e.type];
    if (!type) return;
    // An Apply (whoever called it) rewrote the canvas: the room gets the new state first.
    if (e.type === deploykit.EVENT_PENDING_CHANGES_APPLIED)
      await this.broadcastCanvasState(e.project_id).catch((err) =>
        this.deps.logger.error({ err, project_id: e.project_id }, "canvas state after Apply failed"),
      );
    this.broadcast(e.project_id, type, eventPayload(e));
  }
}
