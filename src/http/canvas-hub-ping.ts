import type { WebSocket } from "ws";

/** Pings that may go unanswered in a row before a socket is given up. */
export const MAX_MISSED_PONGS = 2;

/**
 * Finds half-open canvas sockets (a peer whose network vanished without a FIN): every `intervalMs`
 * each socket is pinged, and one that has not answered the last {@link MAX_MISSED_PONGS} pings is
 * handed to `onDead`. Any pong clears the count. Browsers answer pings by themselves.
 */
export class Heartbeat {
  private readonly sockets = new Map<WebSocket, { missed: number; onDead: () => void }>();
  private timer: NodeJS.Timeout | null = null;

  private readonly intervalMs: number;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  start(): void {
    if (this.timer || !(this.intervalMs > 0)) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  add(ws: WebSocket, onDead: () => void): void {
    const entry = { missed: 0, onDead };
    this.sockets.set(ws, entry);
    ws.on("pong", () => {
      entry.missed = 0;
    });
  }

  delete(ws: WebSocket): void {
    this.sockets.delete(ws);
  }

  private tick(): void {
    for (const [ws, entry] of this.sockets) {
      if (entry.missed >= MAX_MISSED_PONGS) {
        this.sockets.delete(ws);
        entry.onDead();
        continue;
      }
      entry.missed++;
      try {
        ws.ping();
      } catch {
        // Not open (closing or closed): its close event removes it.
      }
    }
  }
}
