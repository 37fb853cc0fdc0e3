import * as deploykit from "../index.ts";

export const DEFAULT_BUFFER_SIZE = 256;

/** A full buffer is reported at most this often per subscriber, so a flood of drops cannot flood the log. */
const DROP_LOG_INTERVAL_MS = 60_000;

type Handler = (event: deploykit.Event) => void | Promise<void>;

/**
 * EventBus is in-process pub/sub. Each subscriber owns a bounded queue drained by its own async
 * loop, so a slow handler only delays (and eventually loses) its own events.
 */
export class EventBus implements deploykit.EventBus {
  private readonly logger: deploykit.Logger;
  private readonly defaultBufferSize: number;
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;
  /** Events dropped by subscriptions that have closed since. */
  private droppedByClosed = 0;

  constructor(opts: { logger?: deploykit.Logger; defaultBufferSize?: number } = {}) {
    this.logger = opts.logger ?? deploykit.nopLogger;
    this.defaultBufferSize = positiveInt(opts.defaultBufferSize) ?? DEFAULT_BUFFER_SIZE;
  }

  publish(event: deploykit.Event): void {
    if (this.closed) return;
    try {
      const stamped = (event.at ? event : { ...event, at: new Date().toISOString() }) as deploykit.Event;
      for (const sub of this.subscriptions) sub.push(stamped);
    } catch (err) {
      // publish is called from request handlers and the reconciler: it must never fail them.
      this.logger.error({ err }, "event bus: publish failed");
    }
  }

  subscribe(handler: Handler, opts: { bufferSize?: number } = {}): Subscription {
    const size = positiveInt(opts.bufferSize) ?? this.defaultBufferSize;
    const sub = new Subscription(handler, size, this.logger, (s) => {
      if (this.subscriptions.delete(s)) this.droppedByClosed += s.dropped;
    });
    if (this.closed) sub.close();
    else this.subscriptions.add(sub);
    return sub;
  }

  /** Closes every subscription; later publishes are ignored. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const sub of [...this.subscriptions]) sub.close();
  }

  /** Events dropped because a subscriber's buffer was full, since the bus started (the /metrics counter). */
  get dropped(): number {
    let n = this.droppedByClosed;
    for (const s of this.subscriptions) n += s.dropped;
    return n;
  }

  /** Number of open subscriptions. */
  get subscriberCount(): number {
    return this.subscriptions.size;
  }
}

export class Subscription implements deploykit.Subscription {
  private readonly handler: Handler;
  private readonly bufferSize: number;
  private readonly logger: deploykit.Logger;
  private readonly onClose: (s: Subscription) => void;
  private queue: deploykit.Event[] = [];
  private draining = false;
  private closed = false;
  private droppedCount = 0;
  private lastDropLog = Number.NEGATIVE_INFINITY;

  constructor(handler: Handler, bufferSize: number, logger: deploykit.Logger, onClose: (s: Subscription) => void) {
    this.handler = handler;
    this.bufferSize = bufferSize;
    this.logger = logger;
    this.onClose = onClose;
  }

  get dropped(): number {
    return this.droppedCount;
  }

  push(event: deploykit.Event): void {
    if (this.closed) return;
    if (this.queue.length >= this.bufferSize) {
      this.droppedCount++;
      const now = Date.now();
      if (now - this.lastDropLog >= DROP_LOG_INTERVAL_MS) {
        this.lastDropLog = now;
        this.logger.warn({ dropped: this.droppedCount, buffer_size: this.bufferSize }, "event bus: subscriber buffer full, event dropped");
      }
      return;
    }
    this.queue.push(event);
    if (!this.draining) {
      this.draining = true;
      queueMicrotask(() => void this.drain());
    }
  }

  private async drain(): Promise<void> {
    try {
      while (!this.closed && this.queue.length > 0) {
        const event = this.queue.shift()!;
        try {
          await this.handler(event);
        } catch (err) {
          this.logger.error({ err, event_type: event.type }, "event bus: subscriber failed");
        }
      }
    } finally {
      this.draining = false;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.onClose(this);
  }
}

function positiveInt(n: number | undefined): number | undefined {
  return n !== undefined && Number.isFinite(n) && n >= 1 ? Math.floor(n) : undefined;
}
