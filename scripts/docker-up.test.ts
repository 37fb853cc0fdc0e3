import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

// `make run` on a machine whose Docker is installed but down: scripts/docker-up.sh --run, run from a
// copy of the repository's scripts/ with fake docker, dockerd, id and apt-get first on a PATH that
// holds nothing else (so the host's own Docker is never seen or touched).

const here = dirname(fileURLToPath(import.meta.url));
const TOOLS = ["bash", "seq", "sleep", "nohup", "tail", "mkdir", "dirname", "cat", "node"];

interface Machine {
  dir: string;
  sock: string;
  run(args: string[], env?: Record<string, string>): { status: number | null; stderr: string };
  /** What the fakes recorded: "dockerd" once started, "apt-get" if an install was tried. */
  calls(): string[];
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function machine(o: { dockerd: boolean; uid: number }): Machine {
  const dir = mkdtempSync(join(tmpdir(), "dk-docker-up-"));
  const bin = join(dir, "bin");
  const sock = join(dir, "docker.sock");
  const log = join(dir, "calls");
  mkdirSync(join(dir, "scripts"), { recursive: true });
  mkdirSync(bin);
  copyFileSync(join(here, "docker-up.sh"), join(dir, "scripts", "docker-up.sh"));
  for (const t of TOOLS)
    symlinkSync(
      execFileSync("bash", ["-c", `command -v ${t}`])
        .toString()
        .trim(),
      join(bin, t),
    );
  const fake = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  // The CLI answers when the fake engine's socket exists (and no remote DOCKER_HOST is asked for).
  fake("docker", `[ "$1" = version ] && [ -z "$DOCKER_HOST" ] && [ -S "$DOCKER_SOCK" ]`);
  fake("id", `echo ${o.uid}`);
  fake("apt-get", `echo apt-get >>"${log}"; exit 1`);
  if (o.dockerd)
    fake("dockerd", `echo dockerd >>"${log}"\nexec node -e 'require("node:net").createServer().listen(process.argv[1])' "$DOCKER_SOCK"`);
  cleanups.push(() => {
    const pid = join(dir, ".tools", "dockerd.pid");
    if (existsSync(pid)) {
      try {
        process.kill(Number(readFileSync(pid, "utf8")));
      } catch {
        // Already gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    sock,
    run(args, env = {}) {
      const r = spawnSync("bash", [join(dir, "scripts", "docker-up.sh"), ...args], {
        env: { PATH: bin, DOCKER_SOCK: sock, ...env },
        encoding: "utf8",
        timeout: 20_000,
      });
      return { status: r.status, stderr: r.stderr };
    },
    calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []),
  };
}

describe("docker-up.sh --run (make run)", () => {
  it("starts an installed, stopped engine as root the way make test does, and waits for it", () => {
    const m = machine({ dockerd: true, uid: 0 });
    const r = m.run(["--run"]);
    expect(r).toEqual({ status: 0, stderr: "docker-up: starting dockerd\n" });
    expect(m.calls()).toEqual(["dockerd"]);
    expect(existsSync(m.sock)).toBe(true);
    expect(existsSync(join(m.dir, ".tools", "dockerd.pid"))).toBe(true);
    // Running already: nothing to do, nothing said.
    expect(m.run(["--run"])).toEqual({ status: 0, stderr: "" });
    expect(m.calls()).toEqual(["dockerd"]);
  });

  it.each([
    [
      "not root",
      { dockerd: true, uid: 1000 },
      {},
      /^make run: Docker is not running and starting it needs root: run 'sudo systemctl start docker'/,
    ],
    ["dockerd not installed (and never installs it)", { dockerd: false, uid: 0 }, {}, /^make run: Docker is not installed: install it/],
    [
      "a remote DOCKER_HOST down",
      { dockerd: true, uid: 0 },
      { DOCKER_HOST: "tcp://10.0.0.9:2375" },
      /^make run: Docker at tcp:\/\/10.0.0.9:2375 does not answer/,
    ],
  ])("when it cannot start the engine (%s), says what to do in one line and lets make run go on", (_name, o, env, line) => {
    const m = machine(o);
    const r = m.run(["--run"], env);
    expect(r.status).toBe(0);
    expect(r.stderr.split("\n")).toEqual([expect.stringMatching(line), ""]);
    expect(r.stderr).toContain("deploykitd starts without it");
    expect(m.calls()).toEqual([]);
  });

  it("keeps make test's behaviour without --run: it starts dockerd, and no engine at all is an error", () => {
    const m = machine({ dockerd: true, uid: 1000 });
    const r = m.run([]);
    expect(r).toEqual({ status: 0, stderr: "docker-up: starting dockerd\n" });
    const none = machine({ dockerd: false, uid: 1000 });
    expect(none.run([])).toEqual({ status: 1, stderr: "docker-up: dockerd missing and not root; install docker.io\n" });
  });

  it("is what make run calls before it starts the daemon", () => {
    const out = execFileSync("make", ["-n", "-C", join(here, ".."), "run"], { encoding: "utf8" });
    const up = out.indexOf("bash scripts/docker-up.sh --run");
    expect(up).toBeGreaterThanOrEqual(0);
    expect(up).toBeLessThan(out.indexOf("dist/server/cmd/deploykitd/main.js"));
  });
});
