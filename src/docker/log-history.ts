import type { Readable } from "node:stream";
import * as deploykit from "../index.ts";
import type { Conn } from "./conn.ts";
import { Demuxer } from "./demux.ts";
import { statusCode, wrap } from "./errors.ts";
import { FrameLines, LineSplitter, splitTimestamp } from "./lines.ts";

/**
 * Docker's since/until: seconds since the epoch with a nanosecond fraction. Our times are whole
 * milliseconds, and `until` takes in all of its millisecond (a line at …123456789 is not after …123).
 */
function dockerTime(ms: number, endOfMs = false): string {
  const s = Math.floor(ms / 1000);
  const ns = Math.round(ms - s * 1000) * 1_000_000 + (endOfMs ? 999_999 : 0);
  return `${s}.${String(ns).padStart(9, "0")}`;
}

/**
 * A container's recent output without following, in batches (one per chunk Docker sends), oldest
 * first. Read as a stream: the consumer's pace is Docker's pace, and stopping early (return or break)
 * closes the connection, so a huge log is never held in memory. Throws ENOTFOUND, EUNAVAILABLE.
 */
export async function* historyBatches(
  conn: Conn,
  dockerContainerID: string,
  opts: deploykit.LogHistoryOptions,
  replica?: number,
): AsyncGenerator<deploykit.LogLine[]> {
  let info: { Id: string; Config: { Tty?: boolean } };
  let stream: Readable;
  const query: Record<string, unknown> = {
    follow: false,
    stdout: opts.stream !== "stderr",
    stderr: opts.stream !== "stdout",
    timestamps: true,
    tail: opts.tail === undefined ? "all" : Math.max(0, Math.floor(opts.tail)),
  };
  if (opts.since !== undefined) query.since = dockerTime(opts.since);
  if (opts.until !== undefined) query.until = dockerTime(opts.until, true);
  try {
    info = await conn.api.getContainer(dockerContainerID).inspect();
    // dockerode buffers a non-follow answer whole; dialled directly it is a stream.
    stream = await new Promise<Readable>((resolve, reject) => {
      conn.stream.modem.dial(
        {
          path: `/containers/${encodeURIComponent(info.Id)}/logs?`,
          method: "GET",
          isStream: true,
          statusCodes: { 200: true, 404: "no such container", 500: "server error" },
          options: query,
        },
        (err: unknown, res: unknown) => (err ? reject(err) : resolve(res as Readable)),
      );
    });
  } catch (err) {
    if (statusCode(err) === 404) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
    throw wrap(err);
  }
  const shortID = info.Id.slice(0, 12);
  let out: deploykit.LogLine[] = [];
  const line = (kind: deploykit.LogStream, raw: string, ts: string | undefined) => {
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (text === "") return;
    const l: deploykit.LogLine = { container_id: shortID, stream: kind, line: text };
    if (ts) l.ts = ts;
    if (replica !== undefined) l.replica = replica;
    out.push(l);
  };
  let push: (chunk: Buffer) => void;
  let end: () => void;
  if (info.Config.Tty) {
    const split = new LineSplitter((raw) => {
      const [ts, text] = splitTimestamp(raw);
      line("stdout", text, ts);
    });
    push = (c) => split.push(c);
    end = () => split.end();
  } else {
    const o = new FrameLines((text, ts) => line("stdout", text, ts));
    const e = new FrameLines((text, ts) => line("stderr", text, ts));
    const demux = new Demuxer((kind, payload) => (kind === "stderr" ? e : o).push(payload));
    push = (c) => demux.push(c);
    end = () => {
      o.end();
      e.end();
    };
  }
  try {
    for await (const chunk of stream) {
      push(chunk as Buffer);
      if (out.length > 0) {
        const batch = out;
        out = [];
        yield batch;
      }
    }
    end();
    if (out.length > 0) yield out;
  } catch (err) {
    throw wrap(err);
  } finally {
    stream.destroy();
  }
}
