/**
 * A short-lived cache of serialized service lists per project. The UI (and scripts) poll
 * `GET …/services`; serving a repeat from memory keeps that path inside its budget (PRODUCT §5).
 * Entries are dropped synchronously on every bus event of the project and on this server's own
 * writes, and expire after `ttlMs` in any case, so a lost event delays a change by at most that.
 * A generation counter keeps a read that raced with a write from storing its stale result.
 */
export class ListCache {
  private readonly projects = new Map<string, { gen: number; entries: Map<string, { body: string; at: number }> }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private size = 0;

  constructor(opts: { ttlMs: number; now: () => number; maxEntries?: number }) {
    this.ttlMs = opts.ttlMs;
    this.now = opts.now;
    this.maxEntries = opts.maxEntries ?? 2000;
  }

  private slot(projectID: string) {
    let s = this.projects.get(projectID);
    if (!s) {
      s = { gen: 0, entries: new Map() };
      this.projects.set(projectID, s);
    }
    return s;
  }

  /** The current generation; pass it back to `set`. */
  generation(projectID: string): number {
    return this.projects.get(projectID)?.gen ?? 0;
  }

  get(projectID: string, key: string): string | undefined {
    const e = this.projects.get(projectID)?.entries.get(key);
    if (!e) return undefined;
    if (this.now() - e.at >= this.ttlMs) return undefined;
    return e.body;
  }

  /** Stores unless the project changed since `gen` was read. */
  set(projectID: string, key: string, gen: number, body: string): void {
    if (this.ttlMs <= 0) return;
    const s = this.slot(projectID);
    if (s.gen !== gen) return;
    if (!s.entries.has(key)) this.size++;
    s.entries.set(key, { body, at: this.now() });
    if (this.size > this.maxEntries) this.clear();
  }

  invalidate(projectID: string): void {
    const s = this.projects.get(projectID);
    if (!s) {
      this.projects.set(projectID, { gen: 1, entries: new Map() });
      return;
    }
    s.gen++;
    this.size -= s.entries.size;
    s.entries.clear();
  }

  clear(): void {
    for (const s of this.projects.values()) {
      s.gen++;
      s.entries.clear();
    }
    this.size = 0;
  }
}
