/**
 * What every command shares: the global options, the API client built from the credentials (or
 * DEPLOYKIT_URL/DEPLOYKIT_TOKEN), human versus JSON output, and errors mapped to exit codes.
 */
import { Client } from "../http/client.ts";
import * as deploykit from "../index.ts";
import { type Credentials, findLink, type Link, readCredentials } from "./config.ts";

/** Documented exit codes (docs/cli.md). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_AUTH = 3;
export const EXIT_NOT_FOUND = 4;

/** A failure of the CLI itself, with the exit code it ends with. */
export class CliError extends Error {
  readonly exitCode: number;
  readonly code: string;
  constructor(message: string, exitCode = EXIT_FAILURE, code = "failed") {
    super(message);
    this.exitCode = exitCode;
    this.code = code;
  }
}

export const usage = (message: string) => new CliError(message, EXIT_USAGE, "usage");

export interface GlobalOptions {
  json?: boolean;
  url?: string;
  project?: string;
  service?: string;
}

export class Context {
  readonly opts: GlobalOptions;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Colour and spinners only for a person at a terminal. */
  readonly tty: boolean;
  readonly color: boolean;
  private cached: Client | null = null;

  constructor(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()) {
    this.opts = opts;
    this.env = env;
    this.cwd = cwd;
    this.tty = Boolean(process.stdout.isTTY) && !opts.json;
    this.color = this.tty && !env.NO_COLOR && env.TERM !== "dumb";
  }

  get json(): boolean {
    return Boolean(this.opts.json);
  }

  /** Environment first (CI), then the stored credentials; `--url` overrides the server. */
  credentials(): Credentials | null {
    const token = this.env.DEPLOYKIT_TOKEN;
    const stored = readCredentials(this.env);
    const url = this.opts.url ?? this.env.DEPLOYKIT_URL ?? stored?.url;
    if (token && url) return { url, token };
    if (stored && url) return { ...stored, url };
    return null;
  }

  /** An authenticated client; exits 3 when not logged in. */
  client(): Client {
    if (this.cached) return this.cached;
    const c = this.credentials();
    if (!c)
      throw new CliError("Not logged in: run `deploykit login` (or set DEPLOYKIT_URL and DEPLOYKIT_TOKEN).", EXIT_AUTH, "unauthorized");
    this.cached = new Client(c.url, { token: c.token });
    return this.cached;
  }

  link(): Link | null {
    return findLink(this.cwd)?.link ?? null;
  }

  // Output: stdout carries results (JSON with --json), stderr carries progress and errors.
  print(line = ""): void {
    process.stdout.write(`${line}\n`);
  }

  printJSON(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** One of the two: the JSON value with --json, else the human lines. */
  result(json: unknown, human: () => void): void {
    if (this.json) this.printJSON(json);
    else human();
  }

  info(line: string): void {
    if (!this.json) process.stderr.write(`${line}\n`);
  }

  paint(code: number, s: string): string {
    return this.color ? `\u001b[${code}m${s}\u001b[0m` : s;
  }
  bold = (s: string) => this.paint(1, s);
  dim = (s: string) => this.paint(2, s);
  red = (s: string) => this.paint(31, s);
  green = (s: string) => this.paint(32, s);
  yellow = (s: string) => this.paint(33, s);
  cyan = (s: string) => this.paint(36, s);
}

/** The exit code for an error: API codes map onto the documented codes. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (deploykit.isDeployKitError(err)) {
    if (err.code === deploykit.EUNAUTHORIZED || err.code === deploykit.EFORBIDDEN) return EXIT_AUTH;
    if (err.code === deploykit.ENOTFOUND) return EXIT_NOT_FOUND;
  }
  return EXIT_FAILURE;
}

/** Writes the error to stderr (JSON with --json) and returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  const exit = exitCodeOf(err);
  let code = "failed";
  let message = err instanceof Error ? err.message : String(err);
  let fields: deploykit.FieldErrors | undefined;
  if (err instanceof CliError) code = err.code;
  else if (deploykit.isDeployKitError(err)) {
    code = err.code;
    fields = err.fields;
  } else if (err instanceof TypeError && /fetch failed/.test(message)) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    message = `Cannot reach the server: ${cause?.code ?? cause?.message ?? message}`;
    code = "unreachable";
  }
  if (json) process.stderr.write(`${JSON.stringify({ error: code, message, ...(fields ? { errors: fields } : {}) })}\n`);
  else {
    process.stderr.write(`error: ${message} (${code})\n`);
    for (const [f, msgs] of Object.entries(fields ?? {})) process.stderr.write(`  ${f}: ${msgs.join(" ")}\n`);
  }
  return exit;
}
