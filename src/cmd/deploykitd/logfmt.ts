import type pino from "pino";

/** `-log-format`: JSON lines for services and CI, text for a person at a terminal. */
export const LOG_FORMATS = ["auto", "json", "text"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * Whether `auto` means text: only when stdout is a terminal and no CI says otherwise. A service's
 * stdout (systemd's journal, a pipe, a file) is not a terminal, so it keeps JSON.
 */
export function textLogs(format: LogFormat, stdoutIsTTY: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  if (format !== "auto") return format === "text";
  return stdoutIsTTY === true && !env.CI;
}

const LEVELS: Record<number, [name: string, color: string]> = {
  10: ["TRACE", "90"],
  20: ["DEBUG", "36"],
  30: ["INFO ", "32"],
  40: ["WARN ", "33"],
  50: ["ERROR", "31"],
  60: ["FATAL", "35"],
};

/** Fields every line has, shown in the prefix or not at all. */
const PREFIX_FIELDS = new Set(["level", "time", "msg", "service", "component", "pid", "hostname", "v"]);

/**
 * One pino JSON line as one human line: `15:04:05.000 INFO  http: request method=GET status=200`, with
 * an error's stack indented beneath. Redaction has already happened (pino redacts before writing).
 */
export function formatLine(json: string, color: boolean): string {
  let rec: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(json);
    if (typeof v !== "object" || v === null || Array.isArray(v)) return json.endsWith("\n") ? json : `${json}\n`;
    rec = v as Record<string, unknown>;
  } catch {
    return json.endsWith("\n") ? json : `${json}\n`;
  }
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const [name, code] = LEVELS[rec.level as number] ?? [message(String(rec.level ?? "?").toUpperCase()).padEnd(5), "0"];
  const t = typeof rec.time === "string" || typeof rec.time === "number" ? new Date(rec.time) : null;
  const time = t && !Number.isNaN(t.getTime()) ? t.toISOString().slice(11, 23) : "--:--:--.---";
  let out = `${paint("90", time)} ${paint(code, name)} `;
  if (typeof rec.component === "string") out += paint("90", `${message(rec.component)}: `);
  out += message(String(rec.msg ?? ""));
  let stack = "";
  for (const [k, v] of Object.entries(rec)) {
    if (PREFIX_FIELDS.has(k) || v === undefined) continue;
    const key = paint("36", `${quote(k)}=`);
    if (isError(v)) {
      out += ` ${key}${quote(v.message)}`;
      if (typeof v.stack === "string") stack += `\n${stackLines(v.stack, v.message)}`;
      continue;
    }
    out += ` ${key}${typeof v === "string" ? quote(v) : escapeJSON(JSON.stringify(v))}`;
  }
  return `${out}${stack}\n`;
}

/** A pino destination that writes text lines to `out` (stdout by default). */
export function textDestination(out: { write(s: string): unknown } = process.stdout, color = true): pino.DestinationStream {
  return {
    write(line: string) {
      out.write(formatLine(line.endsWith("\n") ? line.slice(0, -1) : line, color));
    },
  };
}

function isError(v: unknown): v is { message: string; stack?: unknown } {
  return typeof v === "object" && v !== null && typeof (v as { message?: unknown }).message === "string" && "stack" in v;
}

// Characters that end or rewrite a line on a terminal or in a log viewer and that JSON.stringify leaves
// as they are: DEL, the C1 controls (U+009B is CSI on many terminals), the Unicode line and paragraph
// separators, and the bidirectional overrides. C0 controls are escaped by JSON.stringify itself.
const UNSAFE_AFTER_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function escapeJSON(json: string): string {
  return json.replace(UNSAFE_AFTER_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Bare when it reads unambiguously, JSON-quoted otherwise, with every control character escaped: a
 * value (a name, a registry's error text) can neither write terminal escapes nor start a line of its
 * own that reads as another record.
 */
function quote(s: string): string {
  return /^[!#-<>-[\]-~]+$/.test(s) ? s : escapeJSON(JSON.stringify(s));
}

/** A message is shown as is unless it holds control characters; then it is quoted like a value. */
function message(s: string): string {
  return UNSAFE.test(s) ? quote(s) : s;
}

/**
 * An error's stack beneath its line, each line indented. The message inside the stack (which may
 * hold user text with newlines) is escaped as a value is, so only the stack's own line breaks break
 * lines; any other control character in the frames is escaped too.
 */
function stackLines(stack: string, msg: string): string {
  const at = msg !== "" && UNSAFE.test(msg) ? stack.indexOf(msg) : -1;
  const safe = at < 0 ? stack : stack.slice(0, at) + quote(msg).slice(1, -1) + stack.slice(at + msg.length);
  return safe
    .split("\n")
    .map((l) => `    ${UNSAFE.test(l) ? quote(l).slice(1, -1) : l}`)
    .join("\n");
}
