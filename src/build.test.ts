import { describe, expect, it } from "vitest";
import * as deploykit from "./index.ts";

function fields(fn: (v: deploykit.FieldErrorCollector) => void): Record<string, string[]> {
  const v = new deploykit.FieldErrorCollector();
  fn(v);
  return v.fields;
}

describe("source settings", () => {
  it.each([
    "https://github.com/org/app.git",
    "http://git.internal:3000/org/app",
    "ssh://git@github.com/org/app.git",
    "git@github.com:org/app.git",
  ])("accepts repo_url %s", (url) => {
    expect(fields((v) => deploykit.validateRepoURL(url, v))).toEqual({});
  });

  it.each([
    ["ext::sh -c touch% /tmp/x", "remote helper"],
    ["file:///etc", "not allowed"],
    ["/srv/repo.git", "not allowed"],
    ["-uhttps://x/y", "cannot start with '-'"],
    ["ftp://host/x.git", "https, http or ssh"],
    ["https://host/a b", "spaces"],
    ["", "cannot be empty"],
  ])("refuses repo_url %s", (url, msg) => {
    expect(fields((v) => deploykit.validateRepoURL(url, v)).repo_url?.[0]).toContain(msg);
  });

  it.each([
    ["--upload-pack=x", "cannot start with '-'"],
    ["a..b", "'..'"],
    ["feat branch", "not a valid"],
    ["x.lock", "not a valid"],
  ])("refuses branch %s", (b, msg) => {
    expect(fields((v) => deploykit.validateBranch(b, v)).branch?.[0]).toContain(msg);
  });

  it.each([
    ["../x", "inside the repository"],
    ["a/../../x", "inside the repository"],
    ["/etc", "relative"],
    ["a\\b", "backslashes"],
  ])("refuses root_dir %s", (p, msg) => {
    expect(fields((v) => deploykit.validateSourcePath(p, "root_dir", v)).root_dir?.[0]).toContain(msg);
  });

  it.each([
    ["a GitHub token", true, "ghp_abcDEF0123456789"],
    ["punctuation", true, "glpat-x_y.z~1"],
    ["the longest allowed", true, "t".repeat(deploykit.GIT_TOKEN_MAX)],
    ["empty", false, ""],
    ["a space", false, "has space"],
    ["a line break", false, "line\nbreak"],
    ["non-ASCII", false, "é-accented"],
    ["one character too long", false, "t".repeat(deploykit.GIT_TOKEN_MAX + 1)],
  ])("a token with %s is valid: %s, and validateGitToken agrees", (_label, ok, token) => {
    expect(deploykit.isGitToken(token)).toBe(ok);
    expect(fields((v) => deploykit.validateGitToken(token, v)).token === undefined).toBe(ok);
  });

  it("validateGitToken takes null (remove) and refuses a non-string", () => {
    expect(fields((v) => deploykit.validateGitToken(null, v))).toEqual({});
    expect(fields((v) => deploykit.validateGitToken(42, v)).token?.[0]).toContain("printable characters");
  });

  it("derives the git source with defaults", () => {
    expect(deploykit.gitSourceOf({ repo_url: "https://h/r.git", branch: null, root_dir: "./app/", dockerfile_path: null })).toEqual({
      kind: "git",
      repo_url: "https://h/r.git",
      branch: "main",
      root_dir: "app",
      dockerfile_path: "Dockerfile",
    });
    expect(deploykit.gitSourceOf({ repo_url: null })).toBeNull();
  });
});

describe("phases", () => {
  it("closes the running phase and opens the next; final phases open closed", () => {
    let p = deploykit.advancePhases([], "queued", "t0");
    p = deploykit.advancePhases(p, "cloning", "t1");
    p = deploykit.advancePhases(p, "failed", "t2");
    expect(p).toEqual([
      { name: "queued", started_at: "t0", ended_at: "t1" },
      { name: "cloning", started_at: "t1", ended_at: "t2" },
      { name: "failed", started_at: "t2", ended_at: "t2" },
    ]);
  });
});

describe("logs", () => {
  it("keeps the tail of a long log from a line start", () => {
    const log = `${"x".repeat(100)}\n${"line\n".repeat(10)}`;
    expect(deploykit.tailBytes(log, 30).startsWith("line")).toBe(true);
    expect(deploykit.tailLines("a\nb\nc\n", 2)).toBe("b\nc");
  });
});

describe("build limits", () => {
  it.each([
    [0, 0, "buildkit"],
    [0.5, 0, "classic"],
    [0, 256, "classic"],
    [2, 1024, "classic"],
  ] as const)("cpus %s, memory %s MiB build on %s", (cpus, mem, engine) => {
    expect(deploykit.buildEngineFor({ build_cpus: cpus, build_memory_mb: mem })).toBe(engine);
  });

  it("says a step killed with exit code 137 under a memory limit likely went over it", () => {
    const engine = "The command '/bin/sh -c dd if=/dev/zero of=/dev/null bs=200M count=1' returned a non-zero code: 137";
    expect(deploykit.explainBuildFailure(engine, { build_memory_mb: 64 })).toBe(
      `a build step was killed (exit code 137), most likely for going over the build memory limit of 64 MiB (admin settings): ${engine}`,
    );
    expect(deploykit.explainBuildFailure(engine, { build_memory_mb: 0 })).toBe(engine);
    const other = "The command '/bin/sh -c exit 3' returned a non-zero code: 3";
    expect(deploykit.explainBuildFailure(other, { build_memory_mb: 64 })).toBe(other);
  });
});
