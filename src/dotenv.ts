import { ENV_KEY_PATTERN } from "./envvar.ts";

/**
 * The RAW editor's `.env` format. In: `KEY=value` lines, optional `export `, `#` comments and blank
 * lines; values unquoted (trimmed, ` #…` is a comment), single-quoted (literal) or double-quoted
 * (`\n`, `\"`, `\\` escapes; may span lines). No `$VAR` expansion: `${{…}}` references pass through
 * as written. Out: the stored layout's comments and order, current values laid in.
 */
export interface DotenvEntry {
  key: string;
  value: string;
  line: number;
}

export interface DotenvParse {
  entries: DotenvEntry[];
  /** `line N: why`, for the EINVALID field. */
  errors: string[];
}

const LINE = /^\s*(?:export\s+)?([^=\s]+)\s*=(.*)$/;

function unescapeDouble(s: string): string {
  return s.replace(/\\([nrt"\\])/g, (_m, c: string) => ({ n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\" })[c] as string);
}

export function parseDotenv(text: string): DotenvParse {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const entries: DotenvEntry[] = [];
  const errors: string[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const n = i + 1;
    if (/^\s*(#.*)?$/.test(raw)) continue;
    const m = LINE.exec(raw);
    if (!m) {
      errors.push(`line ${n}: expected KEY=value.`);
      continue;
    }
    const key = m[1] as string;
    let rest = (m[2] as string).trimStart();
    let value: string;
    if (rest.startsWith('"')) {
      // A double-quoted value ends at the first unescaped quote, possibly lines later.
      let body = rest.slice(1);
      let end = findClosingQuote(body);
      while (end < 0 && i + 1 < lines.length) {
        i++;
        body += `\n${lines[i]}`;
        end = findClosingQuote(body);
      }
      if (end < 0) {
        errors.push(`line ${n}: unterminated double quote.`);
        continue;
      }
      value = unescapeDouble(body.slice(0, end));
      rest = body.slice(end + 1);
    } else if (rest.startsWith("'")) {
      const end = rest.indexOf("'", 1);
      if (end < 0) {
        errors.push(`line ${n}: unterminated single quote.`);
        continue;
      }
      value = rest.slice(1, end);
      rest = rest.slice(end + 1);
    } else {
      const hash = rest.search(/\s#/);
      value = (hash >= 0 ? rest.slice(0, hash) : rest).trim();
      rest = "";
    }
    if (!/^\s*(#.*)?$/.test(rest)) {
      errors.push(`line ${n}: unexpected text after the closing quote.`);
      continue;
    }
    if (!ENV_KEY_PATTERN.test(key)) {
      errors.push(`line ${n}: "${key}" is not a valid key (letters, digits and underscores, not starting with a digit).`);
      continue;
    }
    if (seen.has(key)) {
      errors.push(`line ${n}: "${key}" is already set on line ${seen.get(key)}.`);
      continue;
    }
    seen.set(key, n);
    entries.push({ key, value, line: n });
  }
  return { entries, errors };
}

function findClosingQuote(s: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === '"') return i;
  }
  return -1;
}

const PLAIN = /^[A-Za-z0-9_./:@${}%+,=*!?&|~^-]*$/;

/** One `KEY=value` line; values that the parser would read differently are double-quoted. */
export function formatDotenvLine(key: string, value: string): string {
  if (value !== "" && PLAIN.test(value)) return `${key}=${value}`;
  const esc = value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t");
  return `${key}="${esc}"`;
}

/**
 * The scope as `.env` text: the layout's comments, blank lines and order, each variable line with
 * its current value; lines of variables that are gone are dropped, new variables appended by key.
 */
export function formatDotenv(vars: ReadonlyArray<{ key: string; value: string }>, layout = ""): string {
  const byKey = new Map(vars.map((v) => [v.key, v.value]));
  const out: string[] = [];
  const used = new Set<string>();
  const lines = layout === "" ? [] : layout.replace(/\r\n?/g, "\n").replace(/\n$/, "").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    if (/^\s*(#.*)?$/.test(raw)) {
      out.push(raw);
      continue;
    }
    const m = LINE.exec(raw);
    // A multi-line quoted value's continuation lines are re-rendered with its key.
    if (m && /^\s*"/.test(m[2] as string)) {
      let body = (m[2] as string).trimStart().slice(1);
      while (findClosingQuote(body) < 0 && i + 1 < lines.length) body += `\n${lines[++i]}`;
    }
    const key = m?.[1];
    if (key === undefined || !byKey.has(key) || used.has(key)) continue;
    used.add(key);
    out.push(formatDotenvLine(key, byKey.get(key) as string));
  }
  for (const v of [...vars].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)))
    if (!used.has(v.key)) out.push(formatDotenvLine(v.key, v.value));
  return out.length > 0 ? `${out.join("\n")}\n` : "";
}

export interface DotenvDiff {
  creates: { key: string; value: string }[];
  updates: { key: string; value: string }[];
  deletes: string[];
}

/** What applying the text changes against the current variables. */
export function diffDotenv(current: ReadonlyArray<{ key: string; value: string }>, entries: readonly DotenvEntry[]): DotenvDiff {
  const now = new Map(current.map((v) => [v.key, v.value]));
  const next = new Set(entries.map((e) => e.key));
  const diff: DotenvDiff = { creates: [], updates: [], deletes: [] };
  for (const e of entries) {
    if (!now.has(e.key)) diff.creates.push({ key: e.key, value: e.value });
    else if (now.get(e.key) !== e.value) diff.updates.push({ key: e.key, value: e.value });
  }
  for (const v of current) if (!next.has(v.key)) diff.deletes.push(v.key);
  return diff;
}
