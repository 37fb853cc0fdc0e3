/** Text lines out of Docker's log output: split across chunks, bounded, timestamps taken off. */

/** Longest line kept; the rest of a longer line is dropped (a binary blob must not eat the heap). */
export const MAX_LINE_BYTES = 1024 * 1024;

/** Splits one output stream into lines across chunk boundaries. */
export class LineSplitter {
  private partial: Buffer[] = [];
  private partialLen = 0;
  private overflow = false;
  private readonly emit: (line: string) => void;

  constructor(emit: (line: string) => void) {
    this.emit = emit;
  }

  push(buf: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl === -1) break;
      if (this.partialLen === 0 && !this.overflow) {
        // The common case: a whole line inside one chunk, decoded without copying.
        this.emit(buf.toString("utf8", start, Math.min(nl, start + MAX_LINE_BYTES)));
      } else {
        this.append(buf.subarray(start, nl));
        this.flush();
      }
      start = nl + 1;
    }
    if (start < buf.length) this.append(buf.subarray(start));
  }

  /** Emits what is left when the stream ends without a final newline. */
  end(): void {
    if (this.partialLen > 0) this.flush();
  }

  private append(part: Buffer): void {
    if (this.overflow || part.length === 0) return;
    const room = MAX_LINE_BYTES - this.partialLen;
    if (part.length > room) {
      part = part.subarray(0, room);
      this.overflow = true;
    }
    // Copy: the chunk belongs to the socket and may be large; we keep only this slice.
    this.partial.push(Buffer.from(part));
    this.partialLen += part.length;
  }

  private flush(): void {
    const s =
      this.partial.length === 0
        ? ""
        : this.partial.length === 1
          ? this.partial[0]!.toString("utf8")
          : Buffer.concat(this.partial).toString("utf8");
    this.partial = [];
    this.partialLen = 0;
    this.overflow = false;
    this.emit(s);
  }
}

/** "2024-01-02T03:04:05.123456789Z text" → [timestamp, text]; text as is when it has no timestamp. */
export function splitTimestamp(raw: string): [string | undefined, string] {
  const sp = raw.indexOf(" ");
  if (sp > 0 && sp < 40 && raw.charCodeAt(4) === 45 /* - */ && raw.charCodeAt(10) === 84 /* T */)
    return [raw.slice(0, sp), raw.slice(sp + 1)];
  return [undefined, raw];
}

/**
 * Lines of one demultiplexed stream. Docker sends one frame per log entry and prefixes every frame
 * with a timestamp, including the continuation frames of a line longer than 16 KiB: the prefix is
 * stripped per frame, and a line keeps the timestamp of its first frame.
 */
export class FrameLines {
  private readonly splitter: LineSplitter;
  private atLineStart = true;
  private ts: string | undefined;

  constructor(emit: (text: string, ts: string | undefined) => void) {
    this.splitter = new LineSplitter((text) => emit(text, this.ts));
  }

  push(frame: Buffer): void {
    let payload = frame;
    let ts: string | undefined;
    const sp = frame.indexOf(32);
    if (sp > 0 && sp < 40 && frame[4] === 45 && frame[10] === 84) {
      ts = frame.toString("latin1", 0, sp);
      payload = frame.subarray(sp + 1);
    }
    if (this.atLineStart) this.ts = ts;
    if (payload.length > 0) this.splitter.push(payload);
    this.atLineStart = payload.length === 0 || payload[payload.length - 1] === 10;
  }

  end(): void {
    this.splitter.end();
  }
}
