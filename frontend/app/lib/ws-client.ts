import type {
  CanvasClientMessage,
  CanvasClientMessageType,
  CanvasClientPayloads,
  CanvasServerMessage,
} from "../../../src/canvas-messages.ts";

export type SocketStatus = "connecting" | "connected" | "reconnecting" | "disconnected";

export const MAX_RECONNECT_ATTEMPTS = 15;
/** Close code the server uses when authentication fails or the token expired. */
export const CLOSE_AUTH_FAILED = 4001;

/** How long a socket may take from opening to the first canvas:state before it is given up. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Delay before reconnect attempt n (0-based): 1 s, 2 s, 4 s … capped at 30 s. */
export function backoffDelay(attempt: number): number {
  return Math.min(1000 * 2 ** attempt, 30_000);
}

function authFrame(token: string): CanvasClientMessage {
  return { type: "auth", payload: { token } };
}

export function canvasSocketURL(location: { protocol: string; host: string }, projectID: string): string {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/api/projects/${encodeURIComponent(projectID)}/canvas/ws`;
}

export interface CanvasSocketOptions {
  url: string;
  getToken: () => string | null;
  /** Called on a 4001 close: refresh the tokens; true when a new access token is available. */
  refresh: () => Promise<boolean>;
  onMessage: (msg: CanvasServerMessage) => void;
  onStatus: (status: SocketStatus, attempt: number) => void;
  WebSocketImpl?: typeof WebSocket;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

/**
 * The canvas connection: authenticates with the first frame, re-authenticates when told (after a
 * token refresh), and reconnects with exponential backoff after unexpected closes. A close with
 * 1000 is intentional and never retried.
 */
export class CanvasSocket {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private timer: unknown = null;
  private stopped = false;
  private everConnected = false;
  /** The socket whose handshake completed (its first canvas:state arrived). */
  private connectedSocket: WebSocket | null = null;
  private readonly opts: CanvasSocketOptions;
  status: SocketStatus = "connecting";

  constructor(opts: CanvasSocketOptions) {
    this.opts = opts;
  }

  connect(): void {
    this.stopped = false;
    this.open();
  }

  private setStatus(s: SocketStatus): void {
    this.status = s;
    this.opts.onStatus(s, this.attempt);
  }

  private open(): void {
    const Impl = this.opts.WebSocketImpl ?? WebSocket;
    this.setStatus(this.everConnected ? "reconnecting" : "connecting");
    const ws = new Impl(this.opts.url);
    this.ws = ws;
    // A handshake that neither completes nor fails (a connect lost in a network change, a server
    // that never answers the auth frame) would leave the canvas "connecting" for good: give up on
    // this socket and go on with the backoff.
    const set = this.opts.setTimer ?? ((fn: () => void, d: number) => setTimeout(fn, d));
    set(() => {
      if (this.ws !== ws || this.stopped || this.connectedSocket === ws) return;
      this.ws = null;
      ws.onclose = null;
      ws.close();
      this.scheduleBackoff();
    }, HANDSHAKE_TIMEOUT_MS);
    ws.onopen = () => {
      if (this.ws !== ws) return;
      ws.send(JSON.stringify(authFrame(this.opts.getToken() ?? "")));
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      let msg: CanvasServerMessage;
      try {
        // The hub's frames: the domain's CanvasServerMessage (src/canvas-messages.ts).
        msg = JSON.parse(String(ev.data)) as CanvasServerMessage;
      } catch {
        return;
      }
      if (msg.type === "canvas:state") {
        // The first state frame means the server accepted our auth.
        this.connectedSocket = ws;
        this.attempt = 0;
        this.everConnected = true;
        if (this.status !== "connected") this.setStatus("connected");
      }
      this.opts.onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped || ev.code === 1000) {
        this.setStatus("disconnected");
        return;
      }
      if (ev.code === CLOSE_AUTH_FAILED) {
        void this.opts.refresh().then((ok) => {
          if (this.stopped) return;
          if (ok) this.schedule(0);
          else {
            this.setStatus("disconnected");
          }
        });
        return;
      }
      this.scheduleBackoff();
    };
    ws.onerror = () => {
      // onclose follows and decides what to do.
    };
  }

  private scheduleBackoff(): void {
    if (this.attempt >= MAX_RECONNECT_ATTEMPTS) {
      this.setStatus("disconnected");
      return;
    }
    const delay = backoffDelay(this.attempt);
    this.attempt++;
    this.setStatus("reconnecting");
    this.schedule(delay);
  }

  private schedule(ms: number): void {
    const set = this.opts.setTimer ?? ((fn: () => void, d: number) => setTimeout(fn, d));
    this.timer = set(() => {
      this.timer = null;
      if (!this.stopped) this.open();
    }, ms);
  }

  /** Sends a frame; false when not connected (the caller keeps its optimistic state). */
  send<K extends CanvasClientMessageType>(type: K, payload: CanvasClientPayloads[K]): boolean {
    const ws = this.ws;
    if (ws?.readyState !== 1 || this.status !== "connected") return false;
    ws.send(JSON.stringify({ type, payload }));
    return true;
  }

  /** Presents the current access token again (after a refresh), keeping the connection. */
  reauth(): void {
    const ws = this.ws;
    const token = this.opts.getToken();
    if (ws && ws.readyState === 1 && token) ws.send(JSON.stringify(authFrame(token)));
  }

  /** Manual reconnect: resets the attempt counter. */
  reconnect(): void {
    this.clearTimer();
    this.attempt = 0;
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
    this.stopped = false;
    this.open();
  }

  close(): void {
    this.stopped = true;
    this.clearTimer();
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
    this.setStatus("disconnected");
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      (this.opts.clearTimer ?? ((t: unknown) => clearTimeout(t as ReturnType<typeof setTimeout>)))(this.timer);
      this.timer = null;
    }
  }
}
