import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The daemon's entry point, run as operators run it (a child `node` process). */
export const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `deploykitd <args>` to completion in `cwd` with exactly `env` (plus PATH), so DEPLOYKIT_*
 * variables of the test runner cannot leak in.
 */
export function runDeploykitd(args: string[], opts: { cwd: string; env?: Record<string, string> }): RunResult {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", ...(opts.env ?? {}) },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
