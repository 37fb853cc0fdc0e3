/**
 * The start command is an argv array (Docker runs it with no shell on the host). The UI edits it as
 * one shell-like line and shows the parsed arguments: whitespace separates, single quotes keep
 * everything literally, double quotes keep spaces and honour \" and \\, a backslash escapes the next
 * character outside quotes. Nothing is expanded: `$HOME` stays `$HOME`, `${{VAR}}` is DeployKit's.
 */
export function parseCommand(line: string): { argv: string[]; error?: string } {
  const argv: string[] = [];
  let cur = "";
  let inArg = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quote === "'") {
      if (ch === "'") quote = null;
      else cur += ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) cur += line[++i];
      else cur += ch;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      inArg = true;
    } else if (ch === "\\" && i + 1 < line.length) {
      cur += line[++i];
      inArg = true;
    } else if (/\s/.test(ch)) {
      if (inArg) argv.push(cur);
      cur = "";
      inArg = false;
    } else {
      cur += ch;
      inArg = true;
    }
  }
  if (quote) return { argv, error: `Unclosed ${quote === "'" ? "single" : "double"} quote.` };
  if (inArg) argv.push(cur);
  return { argv };
}

/** One line that parses back to the same argv: plain words as they are, others single-quoted. */
export function formatCommand(argv: readonly string[] | null | undefined): string {
  if (!argv || argv.length === 0) return "";
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./${}-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
}
