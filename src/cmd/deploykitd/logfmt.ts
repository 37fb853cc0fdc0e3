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
  const [name, code] = LEVELS[rec.level as number] ?? [
    String(rec.level ?? "?")
      .toUpperCase()
      .padEnd(5),
    "0",
  ];
  const t = typeof rec.time === "string" || typeof rec.time === "number" ? new Date(rec.time) : null;
  const time = t && !Number.isNaN(t.getTime()) ? t.toISOString().slice(11, 23) : "--:--:--.---";
  let out = `${paint("90", time)} ${paint(code, name)} `;
  if (typeof rec.component === "string") out += paint("90", `${rec.component}: `);
  out += message(String(rec.msg ?? ""));
  let stack = "";
  for (const [k, v] of Object.entries(rec)) {
    if (PREFIX_FIELDS.has(k) || v === undefined) continue;
    if (isError(v)) {
      out += ` ${paint("36", `${k}=`)}${quote(v.message)}`;
      if (typeof v.stack === "string") stack += `\n${v.stack.replace(/^/gm, "    ")}`;
      continue;
    }
    out += ` ${paint("36", `${k}=`)}${typeof v === "string" ? quote(v) : JSON.stringify(v)}`;
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

/** Bare when it reads unambiguously, JSON-quoted otherwise (so no value can write terminal escapes). */
function quote(s: string): string {
  return /^[!#-<>-[\]-~]+$/.test(s) ? s : JSON.stringify(s);
}

/** A message is shown as is unless it holds control characters. */
function message(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return JSON.stringify(s);
  }
  return s;
}
