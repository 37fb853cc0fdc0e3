import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";

/** Protocols git may use, whatever the URL or a redirect says: no `ext::`, no `file://`. */
const PROTOCOLS = ["https", "http", "ssh"];

export interface CloneOptions {
  url: string;
  branch: string;
  dir: string;
  signal: AbortSignal;
  onLog: (text: string) => void;
  /** Extra environment (GIT_SSH_COMMAND with a deploy key). */
  env?: Record<string, string>;
}

/**
 * Runs git with an argument array (no shell), prompts off and a protocol allow-list. Rejects with
 * the last lines git printed.
 */
export function git(
  args: string[],
  o: { cwd?: string; signal: AbortSignal; onLog?: (t: string) => void; env?: Record<string, string> },
): Promise<string> {
  const allow = ["-c", "protocol.allow=never", ...PROTOCOLS.flatMap((p) => ["-c", `protocol.${p}.allow=always`])];
  return new Promise((resolve, reject) => {
    const child = spawn("git", [...allow, "-c", "core.askPass=", "-c", "credential.helper=", ...args], {
      cwd: o.cwd,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? "/tmp",
        GIT_TERMINAL_PROMPT: "0",
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_ASKPASS: "true",
        SSH_ASKPASS: "true",
        LC_ALL: "C",
        ...o.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (s: string) => {
      out += s;
    });
    child.stderr.on("data", (s: string) => {
      err += s;
      o.onLog?.(s);
    });
    const onAbort = () => child.kill("SIGKILL");
    o.signal.addEventListener("abort", onAbort);
    child.on("error", (e) => {
      o.signal.removeEventListener("abort", onAbort);
      reject(e);
    });
    child.on("close", (code) => {
      o.signal.removeEventListener("abort", onAbort);
      if (o.signal.aborted) return reject(o.signal.reason instanceof Error ? o.signal.reason : new Error("cancelled"));
      if (code === 0) return resolve(out);
      const tail = err.trim().split("\n").slice(-3).join(" ").trim();
      reject(new Error(tail || `git exited with code ${code}`));
    });
  });
}

/**
 * `git clone --depth 1 --branch <b> -- <url> <dir>`, then the commit it checked out. A server on
 * git's "dumb" HTTP protocol (a bare repository after `git update-server-info` behind a static file
 * server) cannot serve a shallow clone: git refuses "dumb http transport does not support shallow
 * capabilities" before writing anything, and the clone is made again in full, same branch only.
 */
export async function cloneBranchHead(o: CloneOptions): Promise<{ sha: string; message: string }> {
  const tail = ["--single-branch", "--no-tags", "--branch", o.branch, "--", o.url, o.dir];
  const run = (args: string[]) => git(args, { signal: o.signal, onLog: (t) => o.onLog(t), env: o.env });
  o.onLog(`$ git clone --depth 1 --branch ${o.branch} -- ${redactURL(o.url)}\n`);
  try {
    await run(["clone", "--depth", "1", ...tail]);
  } catch (err) {
    if (!/does not support shallow/.test((err as Error).message)) throw err;
    await rm(o.dir, { recursive: true, force: true });
    o.onLog(`the server speaks git's dumb HTTP protocol (no shallow clones): cloning the branch in full\n`);
    o.onLog(`$ git clone --branch ${o.branch} -- ${redactURL(o.url)}\n`);
    await run(["clone", ...tail]);
  }
  const out = await git(["log", "-1", "--format=%H%n%B"], { cwd: o.dir, signal: o.signal });
  const nl = out.indexOf("\n");
  const sha = (nl < 0 ? out : out.slice(0, nl)).trim();
  const message = nl < 0 ? "" : out.slice(nl + 1).trim();
  o.onLog(`checked out ${sha}: ${message.split("\n")[0] ?? ""}\n`);
  return { sha, message };
}

/** A URL with any password or token replaced, for logs. */
export function redactURL(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    if (u.username && u.password === "") u.username = u.username.length > 20 ? "***" : u.username;
    return u.toString();
  } catch {
    return url;
  }
}
