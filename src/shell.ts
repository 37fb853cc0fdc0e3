import { fieldError } from "./errors.ts";
import type { Page, PageResult } from "./pagination.ts";

/** What runs when the shell socket names no command. */
export const SHELL_DEFAULT_COMMAND: readonly string[] = ["sh"];
/** Shell sessions one user may hold open at once. */
export const MAX_SHELLS_PER_USER = 4;
/** Bounds of the `command` argv: arguments, characters per argument. */
export const SHELL_COMMAND_MAX_ARGS = 64;
export const SHELL_COMMAND_MAX_ARG_CHARS = 4096;
/** Terminal size bounds (columns, rows). */
export const SHELL_MAX_COLS = 1000;
export const SHELL_MAX_ROWS = 500;

/** One shell session in the audit table: who, when, where, what. The input is never recorded. */
export interface ShellSession {
  id: string;
  user_id: string;
  /** Empty when the user has been deleted since (the row stays for the audit). */
  user_email: string;
  project_id: string;
  service_id: string;
  /** Docker's container id (full). */
  container_id: string;
  replica_index: number;
  command: string[];
  started_at: string;
  /** Null while the session is open (or when the daemon stopped before it ended). */
  ended_at: string | null;
  duration_ms: number | null;
  exit_code: number | null;
}

export interface ShellSessionCreate {
  user_id: string;
  project_id: string;
  service_id: string;
  container_id: string;
  replica_index: number;
  command: string[];
}

/** ShellSessionService is the audit trail of browser shells. */
export interface ShellSessionService {
  /** Records a session that starts now. */
  startShellSession(input: ShellSessionCreate): Promise<ShellSession>;
  /** Marks it ended now (idempotent: a second call keeps the first end). */
  endShellSession(id: string, exitCode: number | null): Promise<void>;
  /** Newest first. */
  findShellSessions(page: Page): Promise<PageResult<ShellSession>>;
}

/** An interactive process (TTY) running in a container. */
export interface ShellProcess {
  /** Bytes typed by the user. Returns false when the process is not reading fast enough. */
  write(data: Buffer): boolean;
  /** Called when a write that returned false has been taken (input flow control). */
  onDrain(fn: () => void): void;
  resize(cols: number, rows: number): Promise<void>;
  /** Output of the TTY (stdout and stderr are one stream on a TTY). */
  onData(fn: (chunk: Buffer) => void): void;
  /** Called once when the output ends, with the exit code when Docker knows it. */
  onExit(fn: (exitCode: number | null) => void): void;
  /** Output flow control (a slow viewer pauses the process's output). */
  pause(): void;
  resume(): void;
  /** Ends the session: closes stdin and the attached stream. */
  close(): void;
}

export interface ShellOpenOptions {
  /** The container must carry these DeployKit labels: a shell never reaches another project's container. */
  project_id: string;
  service_id: string;
  command: string[];
  cols: number;
  rows: number;
}

/** ContainerExec runs commands in DeployKit's own running containers (Docker exec, implemented by src/docker). */
export interface ContainerExec {
  /**
   * Throws ENOTFOUND when the container is gone, EFORBIDDEN when it is not this instance's container
   * of that project and service, ECONFLICT when it is not running, EUNAVAILABLE when Docker is down.
   */
  openShell(dockerContainerID: string, opts: ShellOpenOptions): Promise<ShellProcess>;
}

/** The `command` of the shell socket: an argv array (run by Docker's exec, never through a host shell). */
export function validateShellCommand(argv: unknown): string[] {
  const bad = (msg: string) => fieldError({ command: [msg] });
  if (!Array.isArray(argv) || argv.length === 0) throw bad("Command must be a non-empty array of arguments.");
  if (argv.length > SHELL_COMMAND_MAX_ARGS) throw bad(`Command has too many arguments (max ${SHELL_COMMAND_MAX_ARGS}).`);
  for (const a of argv) {
    if (typeof a !== "string") throw bad("Every argument must be a string.");
    if (a.length > SHELL_COMMAND_MAX_ARG_CHARS) throw bad(`An argument is too long (max ${SHELL_COMMAND_MAX_ARG_CHARS} characters).`);
    if (a.includes("\0")) throw bad("Arguments cannot contain NUL characters.");
  }
  if ((argv[0] as string).trim() === "") throw bad("The program name cannot be empty.");
  return argv as string[];
}

/** Parses the `command` query parameter: a JSON array of strings; absent or empty → `sh`. */
export function parseShellCommandParam(raw: unknown): string[] {
  if (raw === undefined || raw === "") return [...SHELL_DEFAULT_COMMAND];
  if (typeof raw !== "string") throw fieldError({ command: ["Command must be given once, as a JSON array of strings."] });
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw fieldError({ command: ['Command must be a JSON array of strings, e.g. ["sh","-c","ls"].'] });
  }
  return validateShellCommand(v);
}

/** `replica` query parameter: absent → null (the lowest running replica); else a replica index. */
export function parseReplicaParam(raw: unknown): number | null {
  if (raw === undefined || raw === "") return null;
  if (typeof raw !== "string" || !/^\d{1,4}$/.test(raw)) throw fieldError({ replica: ["Replica must be a replica index (0, 1, …)."] });
  return Number(raw);
}

/** Terminal size from the client; out of range or not integers → EINVALID. */
export function validateTerminalSize(cols: unknown, rows: unknown): { cols: number; rows: number } {
  const ok = (n: unknown, max: number) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= max;
  if (!ok(cols, SHELL_MAX_COLS) || !ok(rows, SHELL_MAX_ROWS))
    throw fieldError({ size: [`Terminal size must be 1–${SHELL_MAX_COLS} columns and 1–${SHELL_MAX_ROWS} rows.`] });
  return { cols: cols as number, rows: rows as number };
}
