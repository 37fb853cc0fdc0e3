/**
 * BuildKit progress as the Docker Engine reports it: `/build?version=2` streams JSON messages whose
 * `moby.buildkit.trace` entries carry a base64 protobuf `StatusResponse` (moby/buildkit
 * api/services/control/control.proto). Only the fields a plain log needs are decoded, by hand: no
 * protobuf runtime for four messages.
 *
 *   StatusResponse { repeated Vertex vertexes = 1; repeated VertexStatus statuses = 2; repeated VertexLog logs = 3; }
 *   Vertex { string digest = 1; string name = 3; bool cached = 4; Timestamp started = 5; Timestamp completed = 6; string error = 7; }
 *   VertexLog { string vertex = 1; Timestamp timestamp = 2; int64 stream = 3; bytes msg = 4; }
 */

type Field = { no: number; wire: number; int?: bigint; bytes?: Uint8Array };

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error("truncated varint");
    const b = buf[pos++] as number;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, p1] = readVarint(buf, pos);
    pos = p1;
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, p2] = readVarint(buf, pos);
      out.push({ no, wire, int: v });
      pos = p2;
    } else if (wire === 2) {
      const [len, p2] = readVarint(buf, pos);
      const end = p2 + Number(len);
      out.push({ no, wire, bytes: buf.subarray(p2, end) });
      pos = end;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : "");

export interface TraceVertex {
  digest: string;
  name: string;
  cached: boolean;
  started: boolean;
  completed: boolean;
  error: string;
}

export interface TraceLog {
  vertex: string;
  msg: string;
}

export function decodeStatus(b64: string): { vertexes: TraceVertex[]; logs: TraceLog[] } {
  const vertexes: TraceVertex[] = [];
  const logs: TraceLog[] = [];
  for (const f of fields(Buffer.from(b64, "base64"))) {
    if (f.no === 1 && f.bytes) {
      const v: TraceVertex = { digest: "", name: "", cached: false, started: false, completed: false, error: "" };
      for (const g of fields(f.bytes)) {
        if (g.no === 1) v.digest = text(g.bytes);
        else if (g.no === 3) v.name = text(g.bytes);
        else if (g.no === 4) v.cached = g.int === 1n;
        else if (g.no === 5) v.started = true;
        else if (g.no === 6) v.completed = true;
        else if (g.no === 7) v.error = text(g.bytes);
      }
      vertexes.push(v);
    } else if (f.no === 3 && f.bytes) {
      const l: TraceLog = { vertex: "", msg: "" };
      for (const g of fields(f.bytes)) {
        if (g.no === 1) l.vertex = text(g.bytes);
        else if (g.no === 4) l.msg = text(g.bytes);
      }
      logs.push(l);
    }
  }
  return { vertexes, logs };
}

/**
 * Turns the trace into `docker build --progress=plain` style lines: `#N name`, the step's output
 * prefixed `#N `, then `#N CACHED`, `#N DONE` or `#N ERROR: …`. Counts cached steps (the cache
 * measurement reads them).
 */
export class PlainProgress {
  readonly #ids = new Map<string, number>();
  readonly #done = new Set<string>();
  cachedSteps = 0;
  steps = 0;

  #id(digest: string): number {
    let n = this.#ids.get(digest);
    if (n === undefined) {
      n = this.#ids.size + 1;
      this.#ids.set(digest, n);
    }
    return n;
  }

  /** One JSON message of the build stream → log text ("" when it says nothing worth showing). */
  message(m: { id?: string; aux?: unknown; stream?: string; error?: string; errorDetail?: { message?: string } }): string {
    if (m.id === "moby.buildkit.trace" && typeof m.aux === "string") {
      let out = "";
      let st: ReturnType<typeof decodeStatus>;
      try {
        st = decodeStatus(m.aux);
      } catch {
        return "";
      }
      for (const v of st.vertexes) {
        const seen = this.#ids.has(v.digest);
        const n = this.#id(v.digest);
        if (!seen) out += `#${n} ${v.name}\n`;
        if (this.#done.has(v.digest)) continue;
        if (v.error) {
          out += `#${n} ERROR: ${v.error}\n`;
          this.#done.add(v.digest);
        } else if (v.cached) {
          out += `#${n} CACHED\n`;
          this.cachedSteps++;
          this.steps++;
          this.#done.add(v.digest);
        } else if (v.completed) {
          out += `#${n} DONE\n`;
          this.steps++;
          this.#done.add(v.digest);
        }
      }
      for (const l of st.logs) {
        const n = this.#id(l.vertex);
        for (const line of l.msg.replace(/\n$/, "").split("\n")) out += `#${n} ${line}\n`;
      }
      return out;
    }
    if (typeof m.stream === "string") {
      // The classic builder's steps: "Step 2/3 : RUN …", then " ---> Using cache" when cached.
      if (/^Step \d+\/\d+ : /.test(m.stream)) this.steps++;
      if (m.stream.includes("---> Using cache")) this.cachedSteps++;
      return m.stream;
    }
    if (m.error) return `ERROR: ${m.errorDetail?.message ?? m.error}\n`;
    return "";
  }
}
