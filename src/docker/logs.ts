import type { Readable } from "node:stream";
import * as deploykit from "../index.ts";
import type { Conn } from "./conn.ts";
import { Demuxer, type StreamKind } from "./demux.ts";
import { statusCode, wrap } from "./errors.ts";
import { FrameLines, LineSplitter, splitTimestamp } from "./lines.ts";
import { historyBatches } from "./log-history.ts";
import { LogSearcher } from "./log-search.ts";

/** Lines kept per followed container, so a late viewer gets history without a second Docker stream. */
export const RING_SIZE = deploykit.LOG_TAIL_MAX;

type OnLine = (line: deploykit.LogLine) => void;
type OnEnd = (err?: Error) => void;

interface Viewer {
  onLine: OnLine;
  onEnd: OnEnd;
}

/** Characters kept per ring, whatever the line count: 5000 lines of 1 MiB each would be 5 GiB. */
export const RING_MAX_CHARS = 8 * 1024 * 1024;

/** Ring of the latest lines, bounded by count and by total characters. */
export class Ring {
  private readonly items: (deploykit.LogLine | undefined)[];
  private readonly maxChars: number;
  private start = 0;
  private chars = 0;
  length = 0;

  constructor(size: number, maxChars = RING_MAX_CHARS) {
    this.items = new Array(size);
    this.maxChars = maxChars;
  }

  push(line: deploykit.LogLine): void {
    const size = this.items.length;
    if (this.length === size) this.dropOldest();
    this.items[(this.start + this.length) % size] = line;
    this.length++;
    this.chars += line.line.length;
    while (this.chars > this.maxChars && this.length > 1) this.dropOldest();
  }

  private dropOldest(): void {
    const old = this.items[this.start]!;
    this.items[this.start] = undefined;
    this.chars -= old.line.length;
    this.start = (this.start + 1) % this.items.length;
    this.length--;
  }

  last(n: number): deploykit.LogLine[] {
    const k = Math.min(n, this.length);
    const out: deploykit.LogLine[] = new Array(k);
    const size = this.items.length;
    for (let i = 0; i < k; i++) out[i] = this.items[(this.start + this.length - k + i) % size]!;
    return out;
  }
}

/** One Docker log stream of a container, fanned out to every viewer. */
class Shared {
  readonly viewers = new Set<Viewer>();
  readonly ring = new Ring(RING_SIZE);
  readonly ready: Promise<void>;
  stream?: Readable;
  done = false;
  private readonly splitters: { end(): void }[] = [];
  private readonly owner: LogStreamer;
  private readonly key: string;
  private shortID = "";

  /** `id` is Docker's full container id: short ids and names resolve to the same shared stream. */
  constructor(owner: LogStreamer, id: string, tty: boolean, tail: number) {
    this.owner = owner;
    this.key = id;
    this.ready = this.open(id, tty, tail);
  }

  private async open(id: string, tty: boolean, tail: number): Promise<void> {
    const conn = this.owner.conn;
    this.shortID = id.slice(0, 12);
    let stream: Readable;
    try {
      stream = (await conn.stream
        .getContainer(id)
        .logs({ follow: true, stdout: true, stderr: true, timestamps: true, tail })) as unknown as Readable;
    } catch (err) {
      if (statusCode(err) === 404) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
      throw wrap(err);
    }
    this.stream = stream;
    this.owner.openStreams++;
    this.owner.streamsOpened++;
    if (tty) {
      // A TTY stream has no frames: every line carries its own timestamp prefix.
      const out = new LineSplitter((raw) => {
        const [ts, text] = splitTimestamp(raw);
        this.line("stdout", text, ts);
      });
      this.splitters.push(out);
      stream.on("data", (chunk: Buffer) => out.push(chunk));
    } else {
      const out = new FrameLines((text, ts) => this.line("stdout", text, ts));
      const errs = new FrameLines((text, ts) => this.line("stderr", text, ts));
      this.splitters.push(out, errs);
      const demux = new Demuxer((kind: StreamKind, payload) => (kind === "stderr" ? errs : out).push(payload));
      stream.on("data", (chunk: Buffer) => demux.push(chunk));
    }
    stream.on("end", () => this.finish());
    stream.on("close", () => this.finish());
    stream.on("error", (err: Error) => this.finish(err));
  }

  private line(kind: StreamKind, raw: string, ts: string | undefined): void {
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (text === "") return;
    const line: deploykit.LogLine = { container_id: this.shortID, stream: kind, line: text };
    if (ts) line.ts = ts;
    this.ring.push(line);
    for (const v of this.viewers) {
      try {
        v.onLine(line);
      } catch (err) {
        // One broken viewer must not cost the others their lines.
        this.owner.conn.logger.warn({ err }, "log viewer callback failed");
      }
    }
  }

  /** The Docker stream ended (container exited or removed) or failed: tell every viewer once. */
  finish(err?: Error): void {
    if (this.done) return;
    this.done = true;
    for (const s of this.splitters) s.end();
    this.release();
    const viewers = [...this.viewers];
    this.viewers.clear();
    for (const v of viewers) {
      try {
        v.onEnd(err);
      } catch (e) {
        this.owner.conn.logger.warn({ err: e }, "log viewer end callback failed");
      }
    }
  }

  /** Drops the Docker stream and forgets this container. */
  release(): void {
    this.done = true;
    this.owner.forget(this.key, this);
    if (this.stream) {
      const s = this.stream;
      this.stream = undefined;
      this.owner.openStreams--;
      s.destroy();
    }
  }
}

/**
 * LogStreamer follows container output with one Docker stream per container, however many viewers
 * watch it (PRODUCT.md §4.22). Callbacks are synchronous and must not block: a consumer that
 * writes to a slow socket buffers on its side.
 */
export class LogStreamer implements deploykit.LogStreamer {
  readonly conn: Conn;
  /** Docker log streams open right now (one per followed container). */
  openStreams = 0;
  /** Docker log streams opened since construction. */
  streamsOpened = 0;
  private readonly shared = new Map<string, Shared>();
  private readonly searcher: LogSearcher;

  constructor(conn: Conn, searchBudgetMs?: number) {
    this.conn = conn;
    this.searcher = new LogSearcher(conn, searchBudgetMs);
  }

  async history(
    dockerContainerID: string,
    opts: deploykit.LogHistoryOptions,
    onLine: (line: deploykit.LogLine) => boolean | undefined,
  ): Promise<void> {
    for await (const batch of historyBatches(this.conn, dockerContainerID, opts))
      for (const l of batch) if (deploykit.inWindow(l.ts, opts.since, opts.until) && onLine(l) === false) return;
  }

  search(targets: deploykit.LogTarget[], query: deploykit.LogQuery): Promise<deploykit.LogSearchResult> {
    return this.searcher.search(targets, query);
  }

  async follow(
    dockerContainerID: string,
    opts: deploykit.LogStreamOptions,
    onLine: OnLine,
    onEnd: OnEnd,
  ): Promise<deploykit.LogSubscription> {
    const tail = Math.max(0, Math.min(Math.floor(opts.tail) || 0, deploykit.LOG_TAIL_MAX));
    let info: { Id: string; Config: { Tty?: boolean } };
    try {
      info = await this.conn.api.getContainer(dockerContainerID).inspect();
    } catch (err) {
      if (statusCode(err) === 404) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
      throw wrap(err);
    }
    // Looked up and created with no await in between, so concurrent first viewers find one entry.
    let sh = this.shared.get(info.Id);
    const first = !sh;
    if (!sh) {
      sh = new Shared(this, info.Id, info.Config.Tty === true, tail);
      this.shared.set(info.Id, sh);
    }
    const s = sh;
    try {
      await s.ready;
    } catch (err) {
      this.forget(info.Id, s);
      throw err;
    }
    if (s.done) {
      // The container's stream ended while this viewer was joining.
      queueMicrotask(() => onEnd());
      return { close() {} };
    }
    const viewer: Viewer = { onLine, onEnd };
    // The first viewer's history comes from Docker's own tail as the stream starts; later ones get
    // the ring (replayed synchronously, so no live line slips between history and attach).
    if (!first) {
      for (const line of s.ring.last(tail)) {
        try {
          onLine(line);
        } catch (err) {
          this.conn.logger.warn({ err }, "log viewer callback failed");
        }
      }
    }
    s.viewers.add(viewer);
    let closed = false;
    return {
      close: () => {
        if (closed) return;
        closed = true;
        s.viewers.delete(viewer);
        if (s.viewers.size === 0 && !s.done) s.release();
      },
    };
  }

  /** Removes `sh` from the map when it is still the entry for `key`. */
  forget(key: string, sh: Shared): void {
    if (this.shared.get(key) === sh) this.shared.delete(key);
  }
}
