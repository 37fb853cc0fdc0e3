import { type ChildProcess, spawn, spawnSync } from "node:child_process";
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

/** A daemon child process (no Docker: DOCKER_HOST points nowhere), started and awaited until it listens. */
export class DaemonProcess {
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output = "";

  private constructor(proc: ChildProcess) {
    this.proc = proc;
    proc.stdout?.on("data", (b: Buffer) => {
      this.output += b.toString("utf8");
    });
    proc.stderr?.on("data", (b: Buffer) => {
      this.output += b.toString("utf8");
    });
    this.exited = new Promise((res) => proc.once("exit", (code, signal) => res({ code, signal })));
  }

  /** Spawns `deploykitd -addr 127.0.0.1:0 -log-level info <args>`; does not wait. */
  static spawn(args: string[], cwd: string, env: Record<string, string> = {}): DaemonProcess {
    const proc = spawn(process.execPath, [MAIN, "-addr", "127.0.0.1:0", "-log-level", "info", ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", DOCKER_HOST: `unix://${cwd}/no-docker.sock`, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return new DaemonProcess(proc);
  }

  /** Spawns and waits for the "listening" log line (throws with the output if it exits first). */
  static async start(args: string[], cwd: string, env: Record<string, string> = {}): Promise<DaemonProcess> {
    const d = DaemonProcess.spawn(args, cwd, env);
    const deadline = Date.now() + 30_000;
    let exited = false;
    void d.exited.then(() => {
      exited = true;
    });
    while (!d.output.includes('"msg":"listening"')) {
      if (exited || Date.now() > deadline) throw new Error(`deploykitd did not start:\n${d.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return d;
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }

  async kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return await this.exited;
  }
}
