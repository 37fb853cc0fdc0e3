import { describe, expect, it } from "vitest";
import {
  archiveKind,
  commitURL,
  currentSource,
  isBuilding,
  isBuilt,
  phaseTimeline,
  shortSha,
  sourceErrors,
  sourceUpdate,
  webhookSteps,
} from "./builds.ts";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

describe("commitURL", () => {
  it.each([
    ["https://github.com/acme/web.git", `https://github.com/acme/web/commit/${SHA}`],
    ["https://github.com/acme/web", `https://github.com/acme/web/commit/${SHA}`],
    ["git@github.com:acme/web.git", `https://github.com/acme/web/commit/${SHA}`],
    ["ssh://git@github.com/acme/web.git", `https://github.com/acme/web/commit/${SHA}`],
    ["https://gitlab.com/group/sub/app.git", `https://gitlab.com/group/sub/app/-/commit/${SHA}`],
    ["https://codeberg.org/me/site.git", `https://codeberg.org/me/site/commit/${SHA}`],
    ["https://gitea.example.com/me/site", `https://gitea.example.com/me/site/commit/${SHA}`],
    ["https://git.example.com/me/site.git", null],
    ["https://github.com/acme", null],
    ["https://github.com/acme/../evil", null],
    ["javascript:alert(1)//github.com/a/b", null],
    ["file:///srv/git/app.git", null],
    ["not a url", null],
  ])("%s", (repo, want) => {
    expect(commitURL(repo, SHA)).toBe(want);
  });

  it("links only a hexadecimal SHA", () => {
    expect(commitURL("https://github.com/a/b", "main")).toBeNull();
    expect(commitURL("https://github.com/a/b", '"><script>')).toBeNull();
    expect(commitURL(null, SHA)).toBeNull();
    expect(shortSha(SHA)).toBe("0123456");
    expect(shortSha(undefined)).toBe("");
  });
});

describe("phaseTimeline", () => {
  it("a deployment building: done phases with durations, the current one running, the rest to come", () => {
    const d = {
      status: "pending" as const,
      phase: "building",
      phases: [
        { name: "queued", started_at: t(0), ended_at: t(2) },
        { name: "cloning", started_at: t(2), ended_at: t(5) },
        { name: "building", started_at: t(5), ended_at: null },
      ],
    };
    expect(phaseTimeline(d, Date.parse(t(35)))).toEqual([
      { name: "queued", state: "done", seconds: 2 },
      { name: "cloning", state: "done", seconds: 3 },
      { name: "building", state: "current", seconds: 30 },
      { name: "starting", state: "todo", seconds: null },
      { name: "health_check", state: "todo", seconds: null },
      { name: "serving", state: "todo", seconds: null },
    ]);
    expect(isBuilding(d)).toBe(true);
    expect(isBuilt(d)).toBe(true);
  });

  it("a failed build ends at the phase it failed in, with nothing to come", () => {
    const d = {
      status: "failed" as const,
      phase: "failed",
      phases: [
        { name: "queued", started_at: t(0), ended_at: t(1) },
        { name: "building", started_at: t(1), ended_at: t(9) },
      ],
    };
    expect(phaseTimeline(d).map((s) => [s.name, s.state])).toEqual([
      ["queued", "done"],
      ["building", "failed"],
    ]);
    expect(isBuilding(d)).toBe(false);
  });

  it("a serving deployment is all done; an image deployment (no phases) has no timeline", () => {
    const phases = ["queued", "cloning", "building", "starting", "health_check", "serving"].map((name, i) => ({
      name,
      started_at: t(i),
      ended_at: name === "serving" ? null : t(i + 1),
    }));
    const steps = phaseTimeline({ status: "healthy", phase: "serving", phases });
    expect(steps.every((s) => s.state === "done")).toBe(true);
    expect(steps.at(-1)).toEqual({ name: "serving", state: "done", seconds: null });
    expect(phaseTimeline({ status: "healthy" })).toEqual([]);
    expect(isBuilt({})).toBe(false);
    expect(isBuilding({ status: "healthy", phase: "building" })).toBe(false);
  });
});

describe("archiveKind", () => {
  it.each([
    ["app.tar.gz", "tgz"],
    ["APP.TGZ", "tgz"],
    ["site.zip", "zip"],
    ["app.tar", null],
    ["app.rar", null],
    ["tar.gz.txt", null],
  ])("%s → %s", (name, want) => {
    expect(archiveKind(name)).toBe(want);
  });
});

describe("source settings", () => {
  const empty = { repo_url: "", branch: "", root_dir: "", dockerfile_path: "" };

  it("reads the service's fields (absent before the backend returns them) with staged edits on top", () => {
    expect(currentSource({}, [], "s1")).toEqual(empty);
    const svc = { repo_url: "https://github.com/a/b", branch: "main", root_dir: null, dockerfile_path: null };
    const changes = [
      { op: "service.update", target_id: "s1", payload: { branch: "dev" } },
      { op: "service.update", target_id: "s2", payload: { branch: "other" } },
      { op: "service.update", target_id: "s1", payload: { root_dir: "apps/web", repo_url: null } },
    ];
    expect(currentSource(svc, changes, "s1")).toEqual({ repo_url: "", branch: "dev", root_dir: "apps/web", dockerfile_path: "" });
  });

  it.each([
    [{ repo_url: "https://github.com/a/b.git" }, {}],
    [{ repo_url: "git@github.com:a/b.git", branch: "release/1.2", root_dir: "apps/web", dockerfile_path: "docker/Dockerfile" }, {}],
    [{ repo_url: "ext::sh -c touch% /tmp/pwned" }, { repo_url: expect.any(String) }],
    [{ repo_url: "file:///etc" }, { repo_url: expect.any(String) }],
    [{ repo_url: "--upload-pack=evil" }, { repo_url: expect.any(String) }],
    [{ repo_url: "https://h/a/b", branch: "--force" }, { branch: expect.any(String) }],
    [{ repo_url: "https://h/a/b", branch: "a..b" }, { branch: expect.any(String) }],
    [{ repo_url: "https://h/a/b", root_dir: "../other" }, { root_dir: expect.any(String) }],
    [{ repo_url: "https://h/a/b", dockerfile_path: "/etc/passwd" }, { dockerfile_path: expect.any(String) }],
    [{ root_dir: "apps/web" }, { repo_url: "Set a repository URL first." }],
  ])("%j → %j", (v, want) => {
    expect(sourceErrors({ ...empty, ...v })).toEqual(want);
  });

  it("stages the changed fields only, a cleared one as null", () => {
    const saved = { repo_url: "https://github.com/a/b", branch: "main", root_dir: "", dockerfile_path: "" };
    expect(sourceUpdate(saved, saved)).toEqual({});
    expect(sourceUpdate(saved, { ...saved, branch: " dev ", root_dir: "web" })).toEqual({ branch: "dev", root_dir: "web" });
    expect(sourceUpdate(saved, { ...saved, repo_url: "" })).toEqual({ repo_url: null });
  });
});

describe("webhookSteps", () => {
  it.each(["github", "gitlab", "gitea"] as const)("%s names the URL, the secret and the push event", (p) => {
    const steps = webhookSteps(p, "https://dk.example.com/hooks/abc", "main").join("\n");
    expect(steps).toContain("https://dk.example.com/hooks/abc");
    expect(steps).toMatch(/[Ss]ecret/);
    expect(steps).toMatch(/[Pp]ush/);
  });
});
