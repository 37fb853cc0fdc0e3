/** One server-sent event: `event:` name (default "message") and its joined `data:` lines. */
export interface SSEEvent {
  event: string;
  data: string;
}

/**
 * Incremental text/event-stream parser: feed decoded chunks, get complete events back. Comments
 * (`: ping`) are dropped. Chunks may split lines and events anywhere.
 */
export class SSEParser {
  private buf = "";
  private event = "";
  private data: string[] = [];

  feed(chunk: string): SSEEvent[] {
    this.buf += chunk;
    const out: SSEEvent[] = [];
    let nl = this.buf.indexOf("\n");
    while (nl !== -1) {
      let line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line === "") {
        if (this.data.length > 0 || this.event !== "") out.push({ event: this.event || "message", data: this.data.join("\n") });
        this.event = "";
        this.data = [];
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "data") this.data.push(value);
        else if (field === "event") this.event = value;
      }
      nl = this.buf.indexOf("\n");
    }
    return out;
  }
}
