import WebSocket from "ws";
import { waitFor } from "./wait.ts";

export interface Frame {
  type: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read untyped message payloads
  payload: any;
  /** performance.now() when it arrived. */
  at: number;
}

/** A canvas WebSocket client for tests: records every frame, answers nothing on its own. */
export class CanvasClient {
  readonly ws: WebSocket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  closeInfo: { code: number; reason: string } | null = null;
  /** Keep only the last N frames (load tests); 0 keeps all. */
  keep = 0;
  count = 0;
  private listeners = new Set<(f: Frame) => void>();

  constructor(baseURL: string, projectID: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(`${baseURL.replace(/^http/, "ws")}/api/projects/${encodeURIComponent(projectID)}/canvas/ws`, { headers });
    this.ws.on("message", (data) => {
      let f: Frame;
      try {
        const v = JSON.parse(data.toString());
        f = { type: String(v.type), payload: v.payload, at: performance.now() };
      } catch {
        f = { type: "<unparsable>", payload: data.toString(), at: performance.now() };
      }
      this.count++;
      this.frames.push(f);
      if (this.keep > 0 && this.frames.length > this.keep) this.frames.splice(0, this.frames.length - this.keep);
      for (const l of this.listeners) l(f);
    });
    this.ws.on("error", () => {});
    this.closed = new Promise((resolve) =>
      this.ws.on("close", (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
      }),
    );
  }

  /** Connects, authenticates and waits for the initial state. */
  static async join(baseURL: string, projectID: string, token: string, timeoutMs = 10_000): Promise<CanvasClient> {
    const c = new CanvasClient(baseURL, projectID);
    await c.opened();
    c.send("auth", { token });
    await c.waitFor("pending-changes:state", undefined, timeoutMs);
    return c;
  }

  opened(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      this.ws.once("error", reject);
    });
  }

  send(type: string, payload: unknown): void {
    this.ws.send(JSON.stringify({ type, payload }));
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  onFrame(fn: (f: Frame) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Waits for a frame of `type` (matching `pred`) received at any time, past or future. */
  async waitFor(type: string, pred?: (f: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    return await waitFor(
      () => {
        if (this.closeInfo && !this.frames.some((f) => f.type === type && (!pred || pred(f))))
          throw new Error(`socket closed (${this.closeInfo.code} ${this.closeInfo.reason}) before ${type}`);
        return this.frames.find((f) => f.type === type && (!pred || pred(f)));
      },
      { timeoutMs, intervalMs: 20, what: `canvas frame ${type}` },
    );
  }

  close(): void {
    this.ws.close();
  }

  /** Drops the TCP connection without a close frame (a vanished client). */
  vanish(): void {
    this.ws.terminate();
  }

  /** Stops reading from the socket (a slow client); the server's writes pile up. */
  stall(): void {
    (this.ws as unknown as { _socket: import("node:net").Socket })._socket.pause();
  }
}
