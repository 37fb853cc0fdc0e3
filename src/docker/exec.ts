import type { Duplex } from "node:stream";
import type Dockerode from "dockerode";
import * as deploykit from "../index.ts";
import type { Conn } from "./conn.ts";
import { forbidden, statusCode, wrap } from "./errors.ts";

const INTERRUPT = "\x03";
const EOF = "\x04";
/** Time between the keys typed at close: the shell handles the interrupt before it reads the EOF. */
const KEY_GAP_MS = 150;
/** Unread input (bytes) at which the socket stops reading the user's keystrokes until the process catches up. */
const INPUT_BACKLOG_BYTES = 256 * 1024;

/**
 * ContainerExec opens interactive shells (Docker exec with a TTY) in DeployKit's own running
 * containers. The argv goes to Docker as is (no shell on the host); the exec gets no privilege, user
 * or environment override: it runs exactly as the container's own process does.
 */
export class ContainerExec implements deploykit.ContainerExec {
  private readonly conn: Conn;

  constructor(conn: Conn) {
    this.conn = conn;
  }

  async openShell(dockerContainerID: string, opts: deploykit.ShellOpenOptions): Promise<deploykit.ShellProcess> {
    const command = deploykit.validateShellCommand(opts.command);
    const size = deploykit.validateTerminalSize(opts.cols, opts.rows);
    let info: Dockerode.ContainerInspectInfo;
    try {
      info = await this.conn.api.getContainer(dockerContainerID).inspect();
    } catch (err) {
      if (statusCode(err) === 404) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
      throw wrap(err);
    }
    const labels = info.Config.Labels ?? {};
    // Only this instance's container of exactly that project and service: the database row that led
    // here is not trusted on its own.
    if (
      !deploykit.ownedBy(labels, this.conn.instanceID) ||
      labels[deploykit.LABEL_PROJECT_ID] !== opts.project_id ||
      labels[deploykit.LABEL_SERVICE_ID] !== opts.service_id
    )
      throw forbidden("container", dockerContainerID.slice(0, 12));
    if (!info.State.Running) throw deploykit.errorf(deploykit.ECONFLICT, "The container is not running.");

    let exec: Dockerode.Exec;
    let stream: Duplex;
    try {
      exec = await this.conn.api.getContainer(info.Id).exec({
        Cmd: command,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: true,
        // The TTY has its size from the start on API 1.42+; older daemons get it from the resize below
        // (done before the session is reported ready).
        ConsoleSize: [size.rows, size.cols],
        // No COLUMNS/LINES: busybox prefers them over the TTY size, and a resize could not change them.
        Env: ["TERM=xterm-256color"],
      });
      // The attached stream lives as long as the session: the connection without a deadline.
      const e = this.conn.stream.getExec(exec.id);
      stream = (await e.start({
        hijack: true,
        stdin: true,
        Tty: true,
        ConsoleSize: [size.rows, size.cols],
      } as Dockerode.ExecStartOptions)) as unknown as Duplex;
    } catch (err) {
      if (statusCode(err) === 404) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
      if (statusCode(err) === 409) throw deploykit.errorf(deploykit.ECONFLICT, "The container is not running.");
      throw wrap(err, "exec failed");
    }
    const proc = new ExecProcess(this.conn, exec, stream);
    await proc.resize(size.cols, size.rows).catch(() => {});
    return proc;
  }
}

class ExecProcess implements deploykit.ShellProcess {
  private readonly conn: Conn;
  private readonly exec: Dockerode.Exec;
  private readonly stream: Duplex;
  private exitHandlers: ((code: number | null) => void)[] = [];
  private exited = false;
  private exitCode: number | null = null;
  private closed = false;

  constructor(conn: Conn, exec: Dockerode.Exec, stream: Duplex) {
    this.conn = conn;
    this.exec = exec;
    this.stream = stream;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      void this.finish();
    };
    stream.on("end", end);
    stream.on("close", end);
    stream.on("error", (err) => {
      this.conn.logger.debug({ err: err.message }, "exec stream error");
      end();
    });
  }

  private async finish(): Promise<void> {
    let code: number | null = null;
    try {
      const r = await this.exec.inspect();
      code = typeof r.ExitCode === "number" && !r.Running ? r.ExitCode : null;
    } catch {
      code = null;
    }
    this.exited = true;
    this.exitCode = code;
    for (const fn of this.exitHandlers.splice(0)) fn(code);
  }

  write(data: Buffer): boolean {
    if (this.closed || this.stream.destroyed) return true;
    this.stream.write(data);
    // Node's own high-water mark (16 KiB) is below one pasted chunk: hold input back only when the
    // process has left a real backlog unread.
    return this.stream.writableLength < INPUT_BACKLOG_BYTES;
  }

  onDrain(fn: () => void): void {
    this.stream.on("drain", fn);
  }

  async resize(cols: number, rows: number): Promise<void> {
    const s = deploykit.validateTerminalSize(cols, rows);
    if (this.closed) return;
    try {
      await this.exec.resize({ h: s.rows, w: s.cols });
    } catch (err) {
      // The process may have exited meanwhile: nothing to resize.
      if (statusCode(err) === 404 || statusCode(err) === 409) return;
      throw wrap(err, "exec resize failed");
    }
  }

  onData(fn: (chunk: Buffer) => void): void {
    this.stream.on("data", (chunk: Buffer) => fn(chunk));
  }

  onExit(fn: (exitCode: number | null) => void): void {
    if (this.exited) fn(this.exitCode);
    else this.exitHandlers.push(fn);
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  /**
   * Docker keeps an exec running when its attached connection closes (the TTY is never hung up), so a
   * closed browser tab would leave its shell waiting forever. Before letting go, the session types
   * what a user leaving would: Ctrl-C (SIGINT to the foreground job) and Ctrl-D (end of input, which
   * ends an interactive shell). A program that ignores both (raw mode, nohup) keeps running until it ends.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const stream = this.stream;
    const send = (s: string) => {
      if (!this.exited && !stream.destroyed && stream.writable) stream.write(Buffer.from(s));
    };
    send(INTERRUPT);
    setTimeout(() => send(EOF), KEY_GAP_MS).unref();
    setTimeout(() => {
      try {
        stream.end();
      } catch {}
    }, 2 * KEY_GAP_MS).unref();
    setTimeout(() => stream.destroy(), 2 * KEY_GAP_MS + 1000).unref();
  }
}
