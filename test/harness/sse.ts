import { type ClientRequest, type IncomingMessage, request } from "node:http";

/** An SSE viewer over node:http, so a test can read, stall (stop reading) or vanish (destroy the socket). */
export class SSEViewer {
  lines = 0;
  bytes = 0;
  dropped = 0;
  ended = false;
  status = 0;
  private req: ClientRequest;
  private res: IncomingMessage | null = null;
  private buf = "";
  readonly ready: Promise<number>;

  constructor(url: string, token: string, opts: { stalled?: boolean } = {}) {
    let resolveReady: (s: number) => void = () => {};
    let rejectReady: (e: Error) => void = () => {};
    this.ready = new Promise((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    this.req = request(url, { headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" } }, (res) => {
      this.res = res;
      this.status = res.statusCode ?? 0;
      if (opts.stalled) res.pause();
      res.on("data", (chunk: Buffer) => this.onData(chunk));
      res.on("end", () => {
        this.ended = true;
      });
      res.on("error", () => {});
      resolveReady(this.status);
    });
    this.req.on("error", (err) => {
      this.ended = true;
      rejectReady(err);
    });
    this.req.end();
  }

  private onData(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.buf += chunk.toString("utf8");
    let i = this.buf.indexOf("\n\n");
    while (i >= 0) {
      const frame = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      i = this.buf.indexOf("\n\n");
      for (const line of frame.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        if (line.includes('"line"')) this.lines++;
        else if (line.includes('"dropped"')) this.dropped += Number(/"count":(\d+)/.exec(line)?.[1] ?? 0);
      }
    }
  }

  /** Stops reading: the server's writes back up. */
  stall(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  /** Drops the connection without a goodbye. */
  vanish(): void {
    this.req.destroy();
    this.res?.destroy();
    this.ended = true;
  }
}
