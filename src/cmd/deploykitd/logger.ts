import pino from "pino";
import type * as deploykit from "../../index.ts";
import { type LogFormat, textDestination, textLogs } from "./logfmt.ts";

/**
 * Fields that may carry secrets, removed from every log line (PRODUCT §4.18): credentials in headers
 * and bodies, tokens, passwords, and env var values (`value`, `env_vars`, `env`).
 */
export const REDACT_PATHS = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  "req.headers.cookie",
  "password",
  "*.password",
  "new_password",
  "*.new_password",
  "current_password",
  "*.current_password",
  "token",
  "*.token",
  "access_token",
  "*.access_token",
  "refresh_token",
  "*.refresh_token",
  "value",
  "*.value",
  "old_value",
  "*.old_value",
  "env_vars",
  "*.env_vars",
  "env",
  "*.env",
];

/** JSON lines on stdout (or to `dest`, e.g. logfmt's text lines), at `level`, with secrets redacted. */
export function newLogger(level: string, dest?: pino.DestinationStream): deploykit.Logger & pino.Logger {
  return pino(
    {
      level,
      base: { service: "deploykitd" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    },
    dest,
  ) as deploykit.Logger & pino.Logger;
}

/** Where `-log-format` sends the daemon's lines: text to a terminal (coloured unless NO_COLOR), else pino's JSON on stdout. */
export function logDestination(
  format: LogFormat,
  stdout: NodeJS.WriteStream = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): pino.DestinationStream | undefined {
  return textLogs(format, stdout.isTTY, env) ? textDestination(stdout, !env.NO_COLOR) : undefined;
}
