import type { FastifyInstance, FastifyRequest } from "fastify";
import type { RawData, WebSocket } from "ws";
import * as deploykit from "../index.ts";
import { CLOSE_AUTH, CLOSE_GOING_AWAY, MAX_UNAUTHENTICATED_PER_ADDRESS } from "./canvas-hub.ts";
import { Heartbeat } from "./canvas-hub-ping.ts";
import type { Deps } from "./context.ts";
import { revokedPrincipals } from "./revocation.ts";
import { registerShellAuditRoute } from "./shell-audit.ts";
import {
  CLOSE_LIMIT,
  CLOSE_NORMAL,
  CLOSE_TOO_BIG,
  codeOf,
  MAX_CONTROL_FRAME_BYTES,
  MAX_INPUT_FRAME_BYTES,
  OPEN,
  ShellClient,
} from "./shell-client.ts";
import { runningContainers, shellTarget } from "./shell-target.ts";
import { UnauthenticatedSockets } from "./unauthenticated.ts";

const MAX_TIMER_MS = 2 ** 31 - 1;

type ShellDeps = Pick<
  Deps,
  "auth" | "services" | "containers" | "exec" | "shellSessions" | "settings" | "logger" | "now" | "limits" | "adminOnly"
>;
type Params = { projectId: string; serviceId: string };
type Query = { command?: string; replica?: string };

/**
 * Shells in the browser (issue 16): `GET …/services/{sid}/shell` upgrades to a WebSocket running a
 * Docker exec with a TTY in one of the service's running containers. The socket follows the canvas
 * socket's rules: Origin checked at the upgrade, the token in the first frame (never in the URL), a
 * cap on unauthenticated sockets per address, closed (4001) on expiry or revocation. Admins may
 * always open one, members only when the `shell_members_allowed` setting says so. Every session is
 * recorded (who, where, what command, how long), never what is typed.
 */
export class ShellSessions {
  private readonly d: ShellDeps;
  private readonly all = new Set<ShellClient>();
  private readonly unauthenticated = new UnauthenticatedSockets();
  private readonly heartbeat: Heartbeat;

  constructor(d: ShellDeps) {
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
          if (this.unauthenticated.full(req.ip, MAX_UNAUTHENTICATED_PER_ADDRESS))
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

    registerShellAuditRoute(app, this.d);
  }

  /** Open sessions (authenticated and attached). */
  get size(): number {
    return [...this.all].filter((c) => c.proc !== null).length;
  }

  accept(ws: WebSocket, projectID: string, serviceID: string, command: string[], replica: number | null, address: string): void {
    const c = new ShellClient(ws, projectID, serviceID, command, replica);
    this.all.add(c);
    c.releaseUnauthenticated = this.unauthenticated.add(address);
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
      const { target, replicas } = shellTarget(service, await runningContainers(this.d.containers, c.serviceID), c.replica);
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

  private attach(c: ShellClient, proc: deploykit.ShellProcess): void {
    c.pipe(proc, this.d.limits.wsSendBufferBytes);
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
