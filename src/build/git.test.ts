import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, normalize } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cloneBranchHead } from "./git.ts";

const dir = mkdtempSync(join(tmpdir(), "dk-git-dumb-"));
let server: Server;
let url = "";
let sha = "";

function gitc(cwd: string, ...args: string[]): string {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "T",
    GIT_AUTHOR_EMAIL: "t@t.test",
    GIT_COMMITTER_NAME: "T",
    GIT_COMMITTER_EMAIL: "t@t.test",
  };
  return execFileSync("git", args, { cwd, env, encoding: "utf8" }).trim();
}

beforeAll(async () => {
  const bare = join(dir, "app.git");
  const work = join(dir, "work");
  gitc(dir, "init", "-q", "--bare", "-b", "main", bare);
  gitc(dir, "init", "-q", "-b", "main", work);
  for (const n of [1, 2]) {
    writeFileSync(join(work, "index.html"), `v${n}\n`);
    gitc(work, "add", "-A");
    gitc(work, "commit", "-q", "-m", `version ${n}`);
  }
  gitc(work, "push", "-q", bare, "HEAD:main");
  gitc(bare, "update-server-info");
  sha = gitc(work, "rev-parse", "HEAD");
  // git's "dumb" HTTP protocol: the bare repository's files, served as they are.
  server = createServer((req, res) => {
    const file = join(bare, normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)));
    if (!file.startsWith(bare) || !statSync(file, { throwIfNoEntry: false })?.isFile()) return void res.writeHead(404).end();
    res.writeHead(200).end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("cloneBranchHead", () => {
  it("clones from a dumb HTTP server in full when it cannot clone shallow, and says so in the log", async () => {
    let log = "";
    const out = join(dir, "checkout");
    const head = await cloneBranchHead({ url, branch: "main", dir: out, signal: new AbortController().signal, onLog: (t) => (log += t) });
    expect(head).toEqual({ sha, message: "version 2" });
    expect(readFileSync(join(out, "index.html"), "utf8")).toBe("v2\n");
    expect(log).toContain("does not support shallow");
    expect(log).toContain("cloning the branch in full");
  });

  it("still fails a missing branch with git's message", async () => {
    const o = { url, branch: "nope", dir: join(dir, "missing"), signal: new AbortController().signal, onLog: () => {} };
    await expect(cloneBranchHead(o)).rejects.toThrow(/nope/);
  });
});
