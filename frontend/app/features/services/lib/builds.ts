import type { Deployment } from "../../../../../src/deployment.ts";
import type { Service } from "../../../../../src/service.ts";

/**
 * Issue 13's fields as the SPA reads them. The backend adds them to Service and Deployment; until
 * then the API simply does not return them, so every one is optional and read defensively.
 */
export interface SourceFields {
  repo_url?: string | null;
  branch?: string | null;
  root_dir?: string | null;
  dockerfile_path?: string | null;
}
export const SOURCE_KEYS = ["repo_url", "branch", "root_dir", "dockerfile_path"] as const;
export type SourceKey = (typeof SOURCE_KEYS)[number];

export interface Phase {
  name: string;
  started_at: string | null;
  ended_at: string | null;
}

export interface BuildFields {
  phase?: string | null;
  phases?: Phase[] | null;
  commit_sha?: string | null;
  commit_message?: string | null;
  /** The stored build log, when the API inlines it. */
  build_log?: string | null;
}

export type BuildDeployment = Deployment & BuildFields;
export type SourceService = Service & SourceFields;

/** The phases a built deployment goes through, in order (issue 13). */
export const PHASES = ["queued", "cloning", "building", "starting", "health_check", "serving"] as const;
/** Phases during which the build log is still being written. */
const BUILDING = new Set(["queued", "cloning", "building"]);

export function phaseLabel(name: string): string {
  return name.replace(/[_-]+/g, " ");
}

/** True when the deployment comes from source (it has phases or a commit): only those have a build log. */
export function isBuilt(d: BuildFields): boolean {
  return (d.phases?.length ?? 0) > 0 || !!d.commit_sha || (!!d.phase && d.phase !== "serving");
}

/** Whether the build log is live: a build phase, and the deployment not finished. */
export function isBuilding(d: Pick<Deployment, "status"> & BuildFields): boolean {
  if (d.status !== "pending" && d.status !== "starting") return false;
  return !!d.phase && BUILDING.has(d.phase);
}

export interface TimelineStep {
  name: string;
  state: "done" | "current" | "failed" | "todo";
  /** Seconds the phase took (or has taken so far); null when it has not started. */
  seconds: number | null;
}

/**
 * The timeline a deployment shows: the phases it went through with their durations, then the ones
 * still to come. A failed deployment ends at the phase it failed in.
 */
export function phaseTimeline(d: Pick<Deployment, "status"> & BuildFields, now: number = Date.now()): TimelineStep[] {
  const seen = (d.phases ?? []).filter((p) => p && typeof p.name === "string");
  const failed = d.status === "failed" || d.phase === "failed";
  const finished = d.status === "healthy" || d.status === "superseded";
  const current = d.phase && d.phase !== "failed" ? d.phase : seen.at(-1)?.name;
  const steps: TimelineStep[] = seen
    .filter((p) => p.name !== "failed")
    .map((p, i, all) => {
      const start = p.started_at ? Date.parse(p.started_at) : Number.NaN;
      const end = p.ended_at ? Date.parse(p.ended_at) : Number.NaN;
      const last = i === all.length - 1;
      const open = Number.isNaN(end);
      const state: TimelineStep["state"] =
        last && failed ? "failed" : open && !finished && d.status !== "cancelled" && p.name === current ? "current" : "done";
      const until = open ? (state === "current" ? now : Number.NaN) : end;
      const seconds = Number.isNaN(start) || Number.isNaN(until) ? null : Math.max(0, (until - start) / 1000);
      return { name: p.name, state, seconds };
    });
  if (!failed && !finished && d.status !== "cancelled") {
    const at = PHASES.indexOf((steps.at(-1)?.name ?? current ?? "") as (typeof PHASES)[number]);
    for (const name of PHASES.slice(at + 1)) steps.push({ name, state: "todo", seconds: null });
  }
  return steps;
}

export function shortSha(sha: string | null | undefined): string {
  return typeof sha === "string" ? sha.slice(0, 7) : "";
}

/** Hosts whose commit pages are at `/<owner>/<repo>/commit/<sha>` (Gitea and Forgejo instances). */
const GITEA_HOSTS = new Set(["gitea.com", "codeberg.org"]);

/**
 * The web page of a commit, for repositories on a host whose URL scheme is known: github.com,
 * gitlab.com, and Gitea (gitea.com, codeberg.org, or a host named gitea.*). Null otherwise, and
 * for anything that is not a plain owner/repo path: the link is built from user input.
 */
export function commitURL(repoURL: string | null | undefined, sha: string | null | undefined): string | null {
  if (!repoURL || !sha || !/^[0-9a-f]{7,64}$/i.test(sha)) return null;
  const repo = repoWebPath(repoURL);
  if (!repo) return null;
  const { host, path } = repo;
  if (host === "github.com") return `https://github.com/${path}/commit/${sha}`;
  if (host === "gitlab.com") return `https://gitlab.com/${path}/-/commit/${sha}`;
  if (GITEA_HOSTS.has(host) || host.startsWith("gitea.")) return `https://${host}/${path}/commit/${sha}`;
  return null;
}

/** Host and `owner/repo` (GitLab: `group/…/repo`) of an https, http, ssh or scp-style git URL. */
export function repoWebPath(repoURL: string): { host: string; path: string } | null {
  let host: string;
  let path: string;
  const scp = /^[\w.-]+@([\w.-]+):(?!\/)(.+)$/.exec(repoURL.trim());
  if (scp?.[1] && scp[2]) {
    host = scp[1];
    path = scp[2];
  } else {
    let u: URL;
    try {
      u = new URL(repoURL.trim());
    } catch {
      return null;
    }
    if (!["https:", "http:", "ssh:"].includes(u.protocol)) return null;
    host = u.hostname;
    path = u.pathname;
  }
  path = path.replace(/^\/+|\/+$/g, "").replace(/\.git$/, "");
  const parts = path.split("/");
  if (parts.length < 2 || parts.some((p) => !/^[\w.-]+$/.test(p) || p === "." || p === "..")) return null;
  return { host: host.toLowerCase(), path: parts.join("/") };
}

/** What a dropped file is: a gzip tarball is sent as is, a zip is converted, anything else refused. */
export function archiveKind(name: string): "tgz" | "zip" | null {
  const n = name.toLowerCase();
  if (n.endsWith(".tar.gz") || n.endsWith(".tgz")) return "tgz";
  if (n.endsWith(".zip")) return "zip";
  return null;
}

export type WebhookProvider = "github" | "gitlab" | "gitea";

/** The setup steps on each git host, with the values to paste. */
export function webhookSteps(provider: WebhookProvider, url: string, branch: string): string[] {
  switch (provider) {
    case "github":
      return [
        "In the repository: Settings → Webhooks → Add webhook.",
        `Payload URL: ${url}`,
        "Content type: application/json.",
        "Secret: the secret below (GitHub signs each delivery with it: X-Hub-Signature-256).",
        'Which events: "Just the push event". Add webhook.',
        `Pushes to ${branch} deploy; other branches are ignored.`,
      ];
    case "gitlab":
      return [
        "In the project: Settings → Webhooks → Add new webhook.",
        `URL: ${url}`,
        "Secret token: the secret below (GitLab sends it as X-Gitlab-Token).",
        `Trigger: Push events (optionally only for the branch ${branch}). Add webhook.`,
        "SSL verification: keep it on when DeployKit has a trusted certificate.",
      ];
    case "gitea":
      return [
        "In the repository: Settings → Webhooks → Add webhook → Gitea (Forgejo: Forgejo).",
        `Target URL: ${url}`,
        "HTTP method POST, POST content type application/json.",
        "Secret: the secret below (Gitea signs each delivery with it: X-Gitea-Signature).",
        `Trigger on: Push events; branch filter ${branch}. Add webhook.`,
      ];
  }
}

/**
 * Where the public half of a deploy key goes on each git host (read-only), and how the repository is
 * then named: DeployKit uses the key for ssh URLs and a token for https ones.
 */
export const DEPLOY_KEY_STEPS: readonly string[] = [
  'GitHub: repository → Settings → Deploy keys → Add deploy key; paste the key, leave "Allow write access" off.',
  'GitLab: project → Settings → Repository → Deploy keys → Add new key; paste the key, leave "Grant write permissions" off.',
  'Gitea: repository → Settings → Deploy Keys → Add Deploy Key; paste the key, leave "Enable write access" off.',
  "Set Repository above to the ssh URL (git@host:owner/repo.git), stage it and Deploy.",
];

type SourceValues = Record<SourceKey, string>;

/**
 * A service's source settings with its staged edits on top (the latest `service.update` payload
 * naming each field wins), as form strings: "" for unset.
 */
export function currentSource(
  service: SourceFields,
  changes: readonly { op: string; target_id?: string | null; payload: Record<string, unknown> }[],
  serviceID: string,
): SourceValues {
  const out = {} as SourceValues;
  for (const k of SOURCE_KEYS) out[k] = typeof service[k] === "string" ? (service[k] as string) : "";
  for (const c of changes) {
    if (c.op !== "service.update" || c.target_id !== serviceID) continue;
    for (const k of SOURCE_KEYS) if (c.payload[k] !== undefined) out[k] = typeof c.payload[k] === "string" ? (c.payload[k] as string) : "";
  }
  return out;
}

/**
 * What the form may not stage (the server checks again; this is for the message next to the
 * field). Keyed by field; empty when valid.
 */
export function sourceErrors(v: SourceValues): Partial<Record<SourceKey, string>> {
  const e: Partial<Record<SourceKey, string>> = {};
  const url = v.repo_url.trim();
  if (url !== "") {
    const scp = /^[\w.-]+@[\w.-]+:(?!\/)\S+$/.test(url);
    let ok = scp;
    if (!scp) {
      try {
        ok = ["https:", "http:", "ssh:"].includes(new URL(url).protocol);
      } catch {
        ok = false;
      }
    }
    if (!ok || url.startsWith("-") || /\s/.test(url)) e.repo_url = "An https://, http://, ssh:// or git@host:owner/repo URL.";
  }
  const branch = v.branch.trim();
  if (branch !== "" && (branch.startsWith("-") || /[\s~^:?*[\\]|\.\.|@\{|\/$|\.lock$/.test(branch)))
    e.branch = "A branch name such as main or release/1.2.";
  for (const k of ["root_dir", "dockerfile_path"] as const) {
    const p = v[k].trim();
    if (p === "") continue;
    if (p.startsWith("/") || p.startsWith("-") || p.split("/").includes("..") || p.includes("\\") || [...p].some((c) => c < " "))
      e[k] = "A path inside the repository, such as apps/web (no .., not absolute).";
  }
  if (url === "" && (v.root_dir.trim() !== "" || v.dockerfile_path.trim() !== "" || (branch !== "" && branch !== "main")))
    e.repo_url = "Set a repository URL first.";
  return e;
}

/** The staged update: changed fields only; a cleared repository URL turns the service back to its image. */
export function sourceUpdate(saved: SourceValues, edited: SourceValues): Partial<Record<SourceKey, string | null>> {
  const upd: Partial<Record<SourceKey, string | null>> = {};
  for (const k of SOURCE_KEYS) {
    const v = edited[k].trim();
    if (v !== saved[k]) upd[k] = v === "" ? null : v;
  }
  return upd;
}

/** A phase's duration: seconds under a minute, then minutes and seconds (a build is read to the second). */
export function phaseDuration(seconds: number): string {
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`;
}
