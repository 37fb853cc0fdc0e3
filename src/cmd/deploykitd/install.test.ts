import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ENV_PATH, type Host, installService, UNIT_PATH } from "./install.ts";
import { MAIN, runDeploykitd } from "./testing.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "dk-install-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const hasSystemdAnalyze = (() => {
  try {
    execFileSync("systemd-analyze", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** The unit file inside the dry-run output. */
function unitOf(out: string): string {
  const m = /(# Written by `deploykitd install-service`[\s\S]*?WantedBy=multi-user\.target\n)/.exec(out);
  if (!m) throw new Error(`no unit in:\n${out}`);
  return m[1] as string;
}

/** Checks a unit the way systemd reads it: systemd-analyze verify where present, otherwise a strict parse. */
function verifyUnit(unit: string): void {
  const path = join(dir, "deploykit.service");
  writeFileSync(path, unit);
  if (hasSystemdAnalyze) {
    // verify exits non-zero on unknown settings, bad values and a non-executable ExecStart.
    execFileSync("systemd-analyze", ["verify", path], { stdio: "pipe" });
    return;
  }
  let section = "";
  for (const line of unit.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const sec = /^\[(Unit|Service|Install)\]$/.exec(line);
    if (sec) section = sec[1] as string;
    else if (!section || !/^[A-Z][A-Za-z]+=\S/.test(line)) throw new Error(`bad unit line: ${line}`);
  }
}

describe("deploykitd install-service", () => {
  it("-dry-run prints a valid unit (dedicated user in the docker group, /var/lib/deploykit, restart on failure, environment file) and writes nothing", () => {
    const r = runDeploykitd(["install-service", "-dry-run"], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("nothing is written");
    const unit = unitOf(r.stdout);
    for (const line of [
      "User=deploykit",
      "Group=deploykit",
      "SupplementaryGroups=docker",
      "StateDirectory=deploykit",
      "Restart=on-failure",
      `EnvironmentFile=${ENV_PATH}`,
      "WantedBy=multi-user.target",
    ])
      expect(unit.split("\n")).toContain(line);
    expect(unit).toMatch(new RegExp(`^ExecStart=\\S*node --max-semi-space-size=2 ${MAIN}$`, "m"));
    expect(r.stdout).toContain("DEPLOYKIT_DATA_DIR=/var/lib/deploykit\nDEPLOYKIT_ADDR=:8080\n");
    expect(r.stdout).toContain("--groups docker --home-dir /var/lib/deploykit");
    expect(r.stdout).toContain("systemctl enable --now deploykit");
    verifyUnit(unit);
    expect(existsSync(join(dir, "deploykit.db"))).toBe(false);
  });

  it("takes the data directory and address like the daemon", () => {
    const r = runDeploykitd(["install-service", "--dry-run", "-addr", ":80"], { cwd: dir, env: { DEPLOYKIT_DATA_DIR: "/srv/dk" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("DEPLOYKIT_DATA_DIR=/srv/dk\nDEPLOYKIT_ADDR=:80\n");
    const unit = unitOf(r.stdout);
    expect(unit).toContain("ReadWritePaths=/srv/dk\n");
    expect(unit).not.toContain("StateDirectory=");
    verifyUnit(unit);
  });

  describe("writing", () => {
    const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    function fakeHost(over: Partial<Host> = {}): Host & { ran: string[][]; users: Set<string> } {
      const users = new Set<string>();
      const ran: string[][] = [];
      return {
        root: dir,
        isRoot: true,
        run(cmd) {
          ran.push(cmd);
          if (cmd[0] === "useradd") users.add(cmd.at(-1) as string);
        },
        groupExists: (g) => g === "docker",
        user: (name) => (users.has(name) ? me : null),
        ran,
        users,
        ...over,
      };
    }
    const opts = { dataDir: "/var/lib/deploykit", addr: ":8080", logLevel: "info", dryRun: false };

    it("creates the user, the environment file (0640) and the unit (0644) it printed, and keeps an edited environment file", () => {
      const host = fakeHost();
      const out = installService(opts, host);
      expect(host.ran[0]?.slice(0, 4)).toEqual(["useradd", "--system", "--user-group", "--groups"]);
      expect(out).toContain(`wrote ${ENV_PATH}`);
      expect(out).toContain(`wrote ${UNIT_PATH}`);
      expect(out).toContain("systemctl enable --now deploykit");
      expect(statSync(join(dir, ENV_PATH)).mode & 0o777).toBe(0o640);
      expect(statSync(join(dir, UNIT_PATH)).mode & 0o777).toBe(0o644);
      const dry = installService({ ...opts, dryRun: true }, host);
      expect(readFileSync(join(dir, UNIT_PATH), "utf8")).toBe(unitOf(dry));

      writeFileSync(join(dir, ENV_PATH), "DEPLOYKIT_ADDR=:9000\n");
      const again = installService(opts, host);
      expect(host.ran[1]).toEqual(["usermod", "--append", "--groups", "docker", "deploykit"]);
      expect(again).toContain(`kept ${ENV_PATH} (already there)`);
      expect(again).toContain(`${UNIT_PATH} is up to date`);
      expect(readFileSync(join(dir, ENV_PATH), "utf8")).toBe("DEPLOYKIT_ADDR=:9000\n");
    });

    it.each([
      ["without root", { isRoot: false }, "install-service must run as root"],
      ["without Docker's group", { groupExists: () => false }, "The docker group does not exist: install Docker first"],
    ])("refuses %s and writes nothing", (_name, over, message) => {
      const host = fakeHost(over);
      expect(() => installService(opts, host)).toThrow(message);
      expect(host.ran).toEqual([]);
      expect(existsSync(join(dir, "etc"))).toBe(false);
    });
  });
});
