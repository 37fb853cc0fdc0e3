import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.test",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.test",
  GIT_CONFIG_NOSYSTEM: "1",
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, env: GIT_ENV, encoding: "utf8" }).trim();
}

/**
 * A real git server for tests: a bare repository served over git's smart HTTP protocol by
 * `git http-backend` (CGI) behind a small Node server; shallow clones need the smart protocol.
 * Commits are pushed to it from a work tree.
 */
export class GitServer {
  readonly dir = mkdtempSync(join(tmpdir(), "dk-git-"));
  readonly bare = join(this.dir, "app.git");
  readonly work = join(this.dir, "work");
  private server: Server | null = null;
  url = "";
  /** When set, every request must carry it as `Authorization: Basic x-access-token:<token>` (a private repository). */
  token: string | null = null;

  async start(): Promise<void> {
    git(this.dir, "init", "--bare", "--initial-branch=main", this.bare);
    git(this.dir, "init", "--initial-branch=main", this.work);
    git(this.work, "remote", "add", "origin", this.bare);
    this.server = createServer((req, res) => {
      const want = this.token ? `Basic ${Buffer.from(`x-access-token:${this.token}`).toString("base64")}` : null;
      if (want && req.headers.authorization !== want) {
        res.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"' }).end();
        return;
      }
      const [path, query] = (req.url ?? "/").split("?");
      const cgi = spawn("git", ["http-backend"], {
        env: {
          ...GIT_ENV,
          GIT_PROJECT_ROOT: this.dir,
          GIT_HTTP_EXPORT_ALL: "1",
          PATH_INFO: decodeURIComponent(path ?? "/"),
          QUERY_STRING: query ?? "",
          REQUEST_METHOD: req.method ?? "GET",
          CONTENT_TYPE: req.headers["content-type"] ?? "",
          REMOTE_ADDR: "127.0.0.1",
        },
        stdio: ["pipe", "pipe", "ignore"],
      });
      req.pipe(cgi.stdin);
      let head = Buffer.alloc(0);
      let headersDone = false;
      cgi.stdout.on("data", (chunk: Buffer) => {
        if (headersDone) return void res.write(chunk);
        head = Buffer.concat([head, chunk]);
        const i = head.indexOf("\r\n\r\n");
        if (i < 0) return;
        headersDone = true;
        let status = 200;
        for (const line of head.subarray(0, i).toString("utf8").split("\r\n")) {
          const c = line.indexOf(":");
          const k = line.slice(0, c).trim();
          const v = line.slice(c + 1).trim();
          if (k.toLowerCase() === "status") status = Number.parseInt(v, 10);
          else res.setHeader(k, v);
        }
        res.writeHead(status);
        res.write(head.subarray(i + 4));
      });
      cgi.on("close", () => res.end());
    });
    await new Promise<void>((r) => this.server?.listen(0, "127.0.0.1", () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/app.git`;
  }

  /** Writes files, commits them on `branch` and pushes; returns the commit sha. */
  commit(files: Record<string, string>, message: string, branch = "main"): string {
    git(this.work, "checkout", "-B", branch);
    for (const [name, content] of Object.entries(files)) writeFileSync(join(this.work, name), content);
    git(this.work, "add", "-A");
    git(this.work, "commit", "-q", "-m", message);
    git(this.work, "push", "-q", "-f", "origin", branch);
    return git(this.work, "rev-parse", "HEAD");
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
