/**
 * Docker multiplexes stdout and stderr of a non-TTY container into frames: an 8-byte header
 * (stream type, 3 zero bytes, big-endian payload length) then the payload. Frames arrive split and
 * joined arbitrarily across chunks.
 */
export type StreamKind = "stdout" | "stderr";

export class Demuxer {
  private readonly onPayload: (kind: StreamKind, payload: Buffer) => void;
  private pending: Buffer = Buffer.alloc(0);

  constructor(onPayload: (kind: StreamKind, payload: Buffer) => void) {
    this.onPayload = onPayload;
  }

  push(chunk: Buffer): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= 8) {
      const type = buf[off]!;
      const len = buf.readUInt32BE(off + 4);
      if (buf.length - off - 8 < len) break;
      // Type 0 (stdin) never carries output; anything else that is not stderr is shown as stdout.
      if (len > 0 && type !== 0) this.onPayload(type === 2 ? "stderr" : "stdout", buf.subarray(off + 8, off + 8 + len));
      off += 8 + len;
    }
    buf = buf.subarray(off);
    // Copy so the (possibly large) chunk we were handed can be collected.
    this.pending = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
  }
}

/** Demultiplexes a complete (non-follow) log answer into one buffer, in order. */
export function demuxAll(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  new Demuxer((_k, p) => parts.push(p)).push(buf);
  return Buffer.concat(parts);
}
