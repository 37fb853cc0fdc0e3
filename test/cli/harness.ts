/**
 * Runs the BUILT `deploykit` CLI (dist/server/cli/main.js, rebuilt when a source under src/cli is
 * newer) as a subprocess, with its own XDG config directory and working directory.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
/** DEPLOYKIT_TEST_CLI overrides the entry point (an installed package's bin, say). */
export const CLI = process.env.DEPLOYKIT_TEST_CLI ?? join(ROOT, "dist/server/cli/main.js");

/** Builds the server and CLI when the built CLI is missing or older than its sources. */
export function ensureBuilt(): void {
  if (process.env.DEPLOYKIT_TEST_CLI) return;
  const built = existsSync(CLI) ? statSync(CLI).mtimeMs : 0;
  const newest = Math.max(...["src/cli", "src/http", "src"].flatMap((d) => newestIn(join(ROOT, d))));
  if (built < newest) execFileSync("npm", ["run", "build:server"], { cwd: ROOT, stdio: "inherit" });
}

function newestIn(dir: string): number[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => statSync(join(dir, f)).mtimeMs);
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A user of the CLI: a config directory and a working directory of their own. */
export class CliUser {
  readonly config = mkdtempSync(join(tmpdir(), "dk-cli-config-"));
  readonly cwd = mkdtempSync(join(tmpdir(), "dk-cli-cwd-"));
  env: Record<string, string> = {};

  private childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: this.config, NO_COLOR: "1", ...this.env, ...extra };
    for (const k of ["DEPLOYKIT_URL", "DEPLOYKIT_TOKEN"]) if (!(k in this.env) && !(k in extra)) delete env[k];
    return env;
  }

  /** Runs `deploykit args…` to completion (stdin closed). */
  run(args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<Result> {
    const child = this.spawn(args, opts);
    return new Promise((res, rej) => {
      let stdout = "";
      let stderr = "";
      child.stdout?.on("data", (b: Buffer) => {
        stdout += b.toString();
      });
      child.stderr?.on("data", (b: Buffer) => {
        stderr += b.toString();
      });
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        rej(new Error(`deploykit ${args.join(" ")} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, opts.timeoutMs ?? 60_000);
      child.on("error", rej);
      child.on("close", (code) => {
        clearTimeout(timer);
        res({ code, stdout, stderr });
      });
    });
  }

  /** Starts `deploykit args…` and returns the process (for `logs -f`). */
  spawn(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): ChildProcess {
    return spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? this.cwd,
      env: this.childEnv(opts.env ?? {}),
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  cleanup(): void {
    rmSync(this.config, { recursive: true, force: true });
    rmSync(this.cwd, { recursive: true, force: true });
  }
}
