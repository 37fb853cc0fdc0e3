import type { FastifyInstance, FastifyRequest } from "fastify";
import type { RawData, WebSocket } from "ws";
import * as deploykit from "../index.ts";
import { CLOSE_AUTH, CLOSE_GOING_AWAY, MAX_UNAUTHENTICATED_PER_ADDRESS } from "./canvas-hub.ts";
import { Heartbeat } from "./canvas-hub-ping.ts";
import { type Deps, pageBody, pageOf } from "./context.ts";
import { revokedPrincipals } from "./revocation.ts";
import { ERRORS, PAGE_QUERY, query } from "./schemas.ts";

/** Close codes of the shell socket (besides CLOSE_AUTH 4001 and 1001 at shutdown). */
export const CLOSE_FORBIDDEN = 4003;
export const CLOSE_NOT_FOUND = 4004;
export const CLOSE_CONFLICT = 4009;
export const CLOSE_LIMIT = 4029;
export const CLOSE_UNAVAILABLE = 1011;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_NORMAL = 1000;
/** Largest input frame (keystrokes, a pasted chunk); the UI sends pastes in smaller pieces. */
export const MAX_INPUT_FRAME_BYTES = 16 * 1024;
/** Largest control frame (auth, resize). */
export const MAX_CONTROL_FRAME_BYTES = 8 * 1024;
const OPEN = 1;
const MAX_TIMER_MS = 2 ** 31 - 1;

type Params = { projectId: string; serviceId: string };
type Query = { command?: string; replica?: string };

/** One browser terminal attached to a Docker exec. */
class ShellClient {
  readonly ws: WebSocket;
  readonly projectID: string;
  readonly serviceID: string;
  readonly command: string[];
  readonly replica: number | null;
  principal: deploykit.Principal | null = null;
  proc: deploykit.ShellProcess | null = null;
  sessionID: string | null = null;
  closed = false;
  /** Counted in the user's sessions (from the auth frame on). */
  counted = false;
  authTimer: NodeJS.Timeout | null = null;
  expiryTimer: NodeJS.Timeout | null = null;
  flowTimer: NodeJS.Timeout | null = null;
  releaseUnauthenticated: () => void = () => {};

  constructor(ws: WebSocket, projectID: string, serviceID: string, command: string[], replica: number | null) {
    this.ws = ws;
    this.projectID = projectID;
    this.serviceID = serviceID;
    this.command = command;
    this.replica = replica;
  }
}

function codeOf(err: unknown): { close: number; code: string; message: string } {
  const code = deploykit.errorCode(err);
  const message = deploykit.isDeployKitError(err) && code !== deploykit.EINTERNAL ? err.message : "Internal error.";
  switch (code) {
    case deploykit.EFORBIDDEN:
      return { close: CLOSE_FORBIDDEN, code, message };
    case deploykit.ENOTFOUND:
      return { close: CLOSE_NOT_FOUND, code, message };
    case deploykit.ECONFLICT:
      return { close: CLOSE_CONFLICT, code, message };
    case deploykit.EUNAUTHORIZED:
      return { close: CLOSE_AUTH, code, message };
    default:
      return { close: CLOSE_UNAVAILABLE, code, message };
  }
}

/**
 * Shells in the browser (issue 16): `GET …/services/{sid}/shell` upgrades to a WebSocket running a
 * Docker exec with a TTY in one of the service's running containers. The socket follows the canvas
 * socket's rules: Origin checked at the upgrade, the token in the first frame (never in the URL), a
 * cap on unauthenticated sockets per address, closed (4001) on expiry or revocation. Admins may
 * always open one, members only when the `shell_members_allowed` setting says so. Every session is
 * recorded (who, where, what command, how long), never what is typed.
 */
export class ShellSessions {
  private readonly d: Deps;
  private readonly all = new Set<ShellClient>();
  private readonly unauthenticated = new Map<string, number>();
  private readonly heartbeat: Heartbeat;

  constructor(d: Deps) {
    this.d = d;
    this.heartbeat = new Heartbeat(d.limits.wsPingIntervalMs);
  }

  register(app: FastifyInstance, originAllowed: (req: FastifyRequest) => boolean): void {
    this.heartbeat.start();
    app.get<{ Params: Params; Querystring: Query }>(
      "/api/projects/:projectId/services/:serviceId/shell",
      {
        websocket: true,
        // Public at the HTTP level like the canvas socket: it authenticates with its first frame.
        schema: { security: [] },
        preValidation: async (req, reply) => {
          if (!originAllowed(req)) return reply.code(403).send({ error: deploykit.EFORBIDDEN, message: "Origin not allowed." });
          if ((this.unauthenticated.get(req.ip) ?? 0) >= MAX_UNAUTHENTICATED_PER_ADDRESS)
            return reply
              .code(429)
              .header("Retry-After", "5")
              .send({ error: deploykit.ERATELIMIT, message: "Too many unauthenticated connections from this address." });
          const { projectId, serviceId } = req.params;
          for (const id of [projectId, serviceId])
            if (typeof id !== "string" || id.length > 128)
              return reply.code(404).send({ error: deploykit.ENOTFOUND, message: "Not found." });
          const q = req.query ?? {};
          for (const k of Object.keys(q))
            if (k !== "command" && k !== "replica") throw deploykit.fieldError({ [k]: ["Unknown parameter."] });
          deploykit.parseShellCommandParam(q.command);
          deploykit.parseReplicaParam(q.replica);
        },
      },
      (socket, req) =>
        this.accept(
          socket,
          req.params.projectId,
          req.params.serviceId,
          deploykit.parseShellCommandParam(req.query.command),
          deploykit.parseReplicaParam(req.query.replica),
          req.ip,
        ),
    );

    app.get<{ Querystring: { offset?: string; limit?: string } }>(
      "/api/system/shell-sessions",
      {
        onRequest: this.d.adminOnly,
        schema: {
          tags: ["system"],
          summary: "Audit of browser shell sessions, newest first (admin)",
          description: "Who opened a shell in which container, with which command, when and for how long. The input is never recorded.",
          querystring: query(PAGE_QUERY),
          response: { 200: { type: "object" }, ...ERRORS },
        },
      },
      async (req) => {
        const page = pageOf(req.query);
        return pageBody(await this.d.shellSessions.findShellSessions(page), page, (s) => s);
      },
    );
  }

  /** Open sessions (authenticated and attached). */
  get size(): number {
    return [...this.all].filter((c) => c.proc !== null).length;
  }

  accept(ws: WebSocket, projectID: string, serviceID: string, command: string[], replica: number | null, address: string): void {
    const c = new ShellClient(ws, projectID, serviceID, command, replica);
    this.all.add(c);
    this.unauthenticated.set(address, (this.unauthenticated.get(address) ?? 0) + 1);
    let counted = true;
    c.releaseUnauthenticated = () => {
      if (!counted) return;
      counted = false;
      const n = (this.unauthenticated.get(address) ?? 1) - 1;
      if (n <= 0) this.unauthenticated.delete(address);
      else this.unauthenticated.set(address, n);
    };
    c.authTimer = setTimeout(() => this.drop(c, CLOSE_AUTH, "Authentication timeout."), this.d.limits.wsAuthTimeoutMs);
    let chain: Promise<void> = Promise.resolve();
    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (c.closed) return;
      // One queue for input and control frames: a resize takes effect before the keys typed after it.
      // Input is never logged or stored.
      chain = chain
        .then(() => (c.closed ? undefined : isBinary && c.proc ? this.input(c, data) : this.control(c, data, isBinary)))
        .catch((err) => {
          this.d.logger.error({ err, project_id: projectID, service_id: serviceID }, "shell message failed");
          this.fail(c, err);
        });
    });
    ws.on("close", () => this.drop(c, CLOSE_NORMAL, ""));
    ws.on("error", (err) => this.d.logger.debug({ err: err.message }, "shell socket error"));
    this.heartbeat.add(ws, () => {
      this.drop(c, CLOSE_GOING_AWAY, "");
      ws.terminate();
    });
  }

  private send(c: ShellClient, type: string, payload: unknown): void {
    if (c.ws.readyState === OPEN) c.ws.send(JSON.stringify({ type, payload }));
  }

  /** Tells the client why (an `error` frame), then closes with the matching code. */
  private fail(c: ShellClient, err: unknown): void {
    const { close, code, message } = codeOf(err);
    if (!c.closed) this.send(c, "error", { code, message });
    this.drop(c, close, message.slice(0, 120));
  }

  private input(c: ShellClient, data: RawData): void {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
    if (buf.length > MAX_INPUT_FRAME_BYTES) {
      this.drop(c, CLOSE_TOO_BIG, "Input frame too large.");
      return;
    }
    // A process not reading its input: stop reading the socket until it does.
    if (c.proc && !c.proc.write(buf)) c.ws.pause();
  }

  private async control(c: ShellClient, data: RawData, isBinary: boolean): Promise<void> {
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).length;
    if (isBinary || size > MAX_CONTROL_FRAME_BYTES) {
      if (!c.principal) return this.drop(c, CLOSE_AUTH, "Authentication failed.");
      return this.drop(c, CLOSE_TOO_BIG, "Control frame too large.");
    }
    type Frame = { type?: unknown; payload?: unknown };
    let msg: Frame | null = null;
    try {
      const v: unknown = JSON.parse(data.toString());
      if (typeof v === "object" && v !== null && !Array.isArray(v)) msg = v as Frame;
    } catch {
      msg = null;
    }
    const type = typeof msg?.type === "string" ? msg.type : null;
    const payload = (typeof msg?.payload === "object" && msg.payload !== null ? msg.payload : {}) as Record<string, unknown>;
    if (!c.principal) {
      if (type !== "auth") return this.drop(c, CLOSE_AUTH, "Authentication failed.");
      return this.start(c, payload);
    }
    if (type === "auth") return this.reauthenticate(c, payload);
    if (type === "resize") {
      if (!c.proc) return;
      let s: { cols: number; rows: number };
      try {
        s = deploykit.validateTerminalSize(payload.cols, payload.rows);
      } catch (err) {
        return this.send(c, "error", {
          code: deploykit.EINVALID,
          message: codeOf(err).message,
          fields: (err as deploykit.DeployKitError).fields,
        });
      }
      await c.proc.resize(s.cols, s.rows).catch((err) => this.d.logger.debug({ err }, "shell resize failed"));
      return;
    }
    this.send(c, "error", { code: deploykit.EINVALID, message: "Unknown message type." });
  }

  private async principalOf(payload: Record<string, unknown>): Promise<{ token: string; principal: deploykit.Principal } | null> {
    const token = typeof payload.token === "string" && payload.token !== "" && payload.token.length <= 4096 ? payload.token : null;
    if (!token) return null;
    const principal = await this.d.auth.authenticate(token).catch(() => null);
    return principal ? { token, principal } : null;
  }

  /** Admins always; members when the setting allows. */
  private async mayOpen(user: deploykit.User): Promise<boolean> {
    if (deploykit.isAdmin(user)) return true;
    return (await this.d.settings.getSettings()).shell_members_allowed === true;
  }

  private async start(c: ShellClient, payload: Record<string, unknown>): Promise<void> {
    const auth = await this.principalOf(payload);
    if (c.closed) return;
    if (!auth) return this.drop(c, CLOSE_AUTH, "Authentication failed.");
    if (c.authTimer) clearTimeout(c.authTimer);
    c.authTimer = null;
    c.releaseUnauthenticated();
    c.principal = auth.principal;
    if (!this.watchExpiry(c)) return;
    const user = auth.principal.user;
    if (!(await this.mayOpen(user)))
      return this.fail(c, deploykit.errorf(deploykit.EFORBIDDEN, "Shell access is limited to admins on this instance."));
    if (c.closed) return;
    // Each session holds a Docker exec: one user may not open them without bound. Sessions still
    // being set up count too, so a burst cannot slip past.
    const mine = [...this.all].filter((o) => o.counted && o.principal?.user.id === user.id).length;
    if (mine >= deploykit.MAX_SHELLS_PER_USER) {
      this.send(c, "error", {
        code: deploykit.ERATELIMIT,
        message: `Too many shells open (max ${deploykit.MAX_SHELLS_PER_USER}); close one first.`,
      });
      return this.drop(c, CLOSE_LIMIT, "Too many shells open.");
    }
    c.counted = true;
    let size = { cols: 80, rows: 24 };
    if (payload.cols !== undefined || payload.rows !== undefined) {
      try {
        size = deploykit.validateTerminalSize(payload.cols, payload.rows);
      } catch (err) {
        return this.fail(c, err);
      }
    }
    try {
      const service = await this.d.services.findServiceByID(c.serviceID);
      if (service.project_id !== c.projectID) throw deploykit.errorf(deploykit.ENOTFOUND, "Service not found.");
      const containers = await this.runningContainers(c.serviceID);
      const replicas = [...new Set(containers.map((x) => x.replica_index))].sort((a, b) => a - b);
      if (containers.length === 0) throw deploykit.errorf(deploykit.ENOTFOUND, "The service has no running container.");
      const want = c.replica ?? (replicas[0] as number);
      const candidates = containers.filter((x) => x.replica_index === want);
      if (candidates.length === 0)
        throw deploykit.errorf(deploykit.ENOTFOUND, `No running container for replica ${want} (running: ${replicas.join(", ")}).`);
      // During a rollout two containers may serve one replica index: the active deployment's wins.
      const target = candidates.find((x) => x.deployment_id === service.active_deployment_id) ?? (candidates[0] as deploykit.Container);
      const proc = await this.d.exec.openShell(target.docker_container_id, {
        project_id: c.projectID,
        service_id: c.serviceID,
        command: c.command,
        cols: size.cols,
        rows: size.rows,
      });
      if (c.closed) {
        proc.close();
        return;
      }
      c.proc = proc;
      const session = await this.d.shellSessions.startShellSession({
        user_id: user.id,
        project_id: c.projectID,
        service_id: c.serviceID,
        container_id: target.docker_container_id,
        replica_index: target.replica_index,
        command: c.command,
      });
      c.sessionID = session.id;
      this.d.logger.info(
        {
          shell_session_id: session.id,
          user_id: user.id,
          project_id: c.projectID,
          service_id: c.serviceID,
          container_id: target.docker_container_id.slice(0, 12),
        },
        "shell session started",
      );
      if (c.closed) return this.end(c, null);
      this.send(c, "shell:ready", {
        session_id: session.id,
        container_id: target.docker_container_id.slice(0, 12),
        replica_index: target.replica_index,
        replicas,
        command: c.command,
      });
      this.attach(c, proc);
    } catch (err) {
      this.fail(c, err);
    }
  }

  private async runningContainers(serviceID: string): Promise<deploykit.Container[]> {
    const out: deploykit.Container[] = [];
    for (let offset = 0; ; offset += deploykit.MAX_LIMIT) {
      const page = await this.d.containers.findContainers({
        service_id: serviceID,
        status: deploykit.CONTAINER_RUNNING,
        offset,
        limit: deploykit.MAX_LIMIT,
      });
      out.push(...page.items);
      if (page.items.length < deploykit.MAX_LIMIT || out.length >= page.total) return out;
    }
  }

  private attach(c: ShellClient, proc: deploykit.ShellProcess): void {
    const limit = this.d.limits.wsSendBufferBytes;
    proc.onData((chunk) => {
      if (c.closed || c.ws.readyState !== OPEN) return;
      c.ws.send(chunk, { binary: true });
      // A viewer that cannot keep up pauses the process's output instead of growing our memory.
      if (c.ws.bufferedAmount > limit && !c.flowTimer) {
        proc.pause();
        c.flowTimer = setInterval(() => {
          if (c.closed || c.ws.bufferedAmount < limit / 2) {
            if (c.flowTimer) clearInterval(c.flowTimer);
            c.flowTimer = null;
            if (!c.closed) proc.resume();
          }
        }, 50);
      }
    });
    proc.onDrain(() => {
      if (!c.closed) c.ws.resume();
    });
    proc.onExit((code) => {
      if (c.closed) return;
      this.send(c, "shell:exit", { exit_code: code });
      void this.end(c, code);
      this.drop(c, CLOSE_NORMAL, "Process exited.");
    });
  }

  /** Records the end of the session once. */
  private async end(c: ShellClient, exitCode: number | null): Promise<void> {
    const id = c.sessionID;
    if (!id) return;
    c.sessionID = null;
    try {
      await this.d.shellSessions.endShellSession(id, exitCode);
    } catch (err) {
      this.d.logger.error({ err, shell_session_id: id }, "shell session end not recorded");
    }
    this.d.logger.info({ shell_session_id: id, exit_code: exitCode }, "shell session ended");
  }

  /** A fresh token frame extends the session past the old token's expiry (same user only). */
  private async reauthenticate(c: ShellClient, payload: Record<string, unknown>): Promise<void> {
    const auth = await this.principalOf(payload);
    if (c.closed) return;
    if (!auth || auth.principal.user.id !== c.principal?.user.id) return this.drop(c, CLOSE_AUTH, "Authentication failed.");
    c.principal = auth.principal;
    if (this.watchExpiry(c)) this.send(c, "auth:ok", { expires_at: auth.principal.expires_at });
  }

  /** Closes (4001) at the token's expiry; false when it has already expired. */
  private watchExpiry(c: ShellClient): boolean {
    if (c.expiryTimer) clearTimeout(c.expiryTimer);
    c.expiryTimer = null;
    const exp = c.principal?.expires_at;
    if (!exp) return true;
    const ms = Date.parse(exp) - this.d.now().getTime();
    if (!(ms > 0)) {
      this.drop(c, CLOSE_AUTH, "Token expired.");
      return false;
    }
    c.expiryTimer = setTimeout(
      () => {
        if (c.principal?.expires_at === exp) this.drop(c, CLOSE_AUTH, "Token expired.");
      },
      Math.min(ms + 50, MAX_TIMER_MS),
    );
    return true;
  }

  /** Ends the process, records the end, closes the socket (terminating it if it lingers). */
  private drop(c: ShellClient, code: number, reason: string): void {
    if (!c.closed) {
      c.closed = true;
      c.releaseUnauthenticated();
      if (c.authTimer) clearTimeout(c.authTimer);
      if (c.expiryTimer) clearTimeout(c.expiryTimer);
      if (c.flowTimer) clearInterval(c.flowTimer);
      c.proc?.close();
      this.all.delete(c);
      this.heartbeat.delete(c.ws);
      void this.end(c, null);
    }
    const ws = c.ws;
    if (ws.readyState === OPEN || ws.readyState === 0) {
      ws.close(code, reason);
      setTimeout(() => {
        if (ws.readyState !== 3) ws.terminate();
      }, 2000).unref();
    }
  }

  /**
   * Closes (4001) every shell whose session or key was revoked, or whose user was deleted or changed
   * role; and (4003) members' shells once the admin no longer allows them.
   */
  async revalidate(): Promise<void> {
    const clients = [...this.all].filter((c) => c.principal && !c.closed);
    if (clients.length === 0) return;
    const revoked = await revokedPrincipals(
      this.d.auth,
      clients.map((c) => c.principal as deploykit.Principal),
    );
    let membersAllowed: boolean | null = null;
    for (const c of clients) {
      if (c.closed || !c.principal) continue;
      if (revoked.has(c.principal)) {
        this.drop(c, CLOSE_AUTH, "Credentials revoked.");
        continue;
      }
      if (deploykit.isAdmin(c.principal.user)) continue;
      membersAllowed ??= await this.d.settings
        .getSettings()
        .then((s) => s.shell_members_allowed === true)
        // Fail closed: a member's shell stays open only while the setting can be read as on.
        .catch(() => false);
      if (!membersAllowed) this.fail(c, deploykit.errorf(deploykit.EFORBIDDEN, "Shell access is limited to admins on this instance."));
    }
  }

  /** Closes every shell with 1001 (server shutdown). */
  async close(): Promise<void> {
    this.heartbeat.stop();
    const clients = [...this.all];
    for (const c of clients) this.drop(c, CLOSE_GOING_AWAY, "Server shutting down.");
    await Promise.all(clients.map((c) => this.end(c, null)));
  }
}
