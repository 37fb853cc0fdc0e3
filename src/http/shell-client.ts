import type { WebSocket } from "ws";
import * as deploykit from "../index.ts";
import { CLOSE_AUTH } from "./canvas-hub.ts";

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
/** WebSocket readyState OPEN. */
export const OPEN = 1;

/** One browser terminal attached to a Docker exec. */
export class ShellClient {
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

  /** Streams the process's output to the socket, and the socket's input resumes once the process drains. */
  pipe(proc: deploykit.ShellProcess, limit: number): void {
    proc.onData((chunk) => {
      if (this.closed || this.ws.readyState !== OPEN) return;
      this.ws.send(chunk, { binary: true });
      // A viewer that cannot keep up pauses the process's output instead of growing our memory.
      if (this.ws.bufferedAmount > limit && !this.flowTimer) {
        proc.pause();
        this.flowTimer = setInterval(() => {
          if (this.closed || this.ws.bufferedAmount < limit / 2) {
            if (this.flowTimer) clearInterval(this.flowTimer);
            this.flowTimer = null;
            if (!this.closed) proc.resume();
          }
        }, 50);
      }
    });
    proc.onDrain(() => {
      if (!this.closed) this.ws.resume();
    });
  }
}

/** An error as the shell socket reports it: the close code, the error code and a message safe to show. */
export function codeOf(err: unknown): { close: number; code: string; message: string } {
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
