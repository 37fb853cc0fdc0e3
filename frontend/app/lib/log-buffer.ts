/** One rendered line of the log view. */
export interface LogItem {
  /** Monotonic sequence number, used as a stable React key. */
  seq: number;
  container_id: string;
  stream: "stdout" | "stderr" | "event";
  text: string;
  /** Docker's RFC 3339 timestamp, when the server sent one. */
  ts?: string;
  /** Replica index of the container, when known. */
  replica?: number;
}

/**
 * A fixed-capacity ring buffer of log items. Pushing is O(1) and allocation-free once full, so a
 * stream of thousands of lines per second costs nothing until the view asks for a window, once per
 * animation frame.
 */
export class LogBuffer {
  readonly capacity: number;
  private items: (LogItem | undefined)[];
  private start = 0;
  private count = 0;
  private nextSeq = 0;
  /** Incremented on every change; views compare it to know when to re-render. */
  version = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new Error("capacity must be a positive integer");
    this.capacity = capacity;
    this.items = new Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  /** Total items ever pushed (including those evicted). */
  get pushed(): number {
    return this.nextSeq;
  }

  push(item: Omit<LogItem, "seq">): void {
    const full: LogItem = { ...item, seq: this.nextSeq++ };
    if (this.count < this.capacity) {
      this.items[(this.start + this.count) % this.capacity] = full;
      this.count++;
    } else {
      this.items[this.start] = full;
      this.start = (this.start + 1) % this.capacity;
    }
    this.version++;
  }

  /** Item at logical index i (0 = oldest kept). */
  at(i: number): LogItem | undefined {
    if (i < 0 || i >= this.count) return undefined;
    return this.items[(this.start + i) % this.capacity];
  }

  /** Items [from, to) in logical order. */
  slice(from: number, to: number): LogItem[] {
    const out: LogItem[] = [];
    const a = Math.max(0, from);
    const b = Math.min(this.count, to);
    for (let i = a; i < b; i++) out.push(this.items[(this.start + i) % this.capacity] as LogItem);
    return out;
  }

  clear(): void {
    this.items = new Array(this.capacity);
    this.start = 0;
    this.count = 0;
    this.version++;
  }
}
