import type { FieldErrorCollector } from "./errors.ts";
import { hasControlChars } from "./validate.ts";

/**
 * Deploy from source (issue 13). A service runs either an image, or what DeployKit builds from a git
 * repository (`repo_url`, `branch`, `root_dir`, `dockerfile_path`: staged settings like the image),
 * or from an uploaded gzip tarball. A build belongs to one deployment: the deployment records where
 * its source came from, the commit, the phases it went through and its build log; the image it
 * builds is tagged per deployment so Rollback finds it again.
 */

export const PHASE_QUEUED = "queued";
export const PHASE_CLONING = "cloning";
export const PHASE_BUILDING = "building";
export const PHASE_STARTING = "starting";
export const PHASE_HEALTH_CHECK = "health_check";
export const PHASE_SERVING = "serving";
export const PHASE_FAILED = "failed";
export const PHASE_CANCELLED = "cancelled";
export type DeploymentPhase =
  | typeof PHASE_QUEUED
  | typeof PHASE_CLONING
  | typeof PHASE_BUILDING
  | typeof PHASE_STARTING
  | typeof PHASE_HEALTH_CHECK
  | typeof PHASE_SERVING
  | typeof PHASE_FAILED
  | typeof PHASE_CANCELLED;

/** Phases during which a deployment's image does not exist yet: the reconciler leaves it alone. */
export const BUILD_PHASES: readonly DeploymentPhase[] = [PHASE_QUEUED, PHASE_CLONING, PHASE_BUILDING];

/** One step of a deployment's timeline; `ended_at` is null while it runs. */
export interface PhaseSpan {
  name: DeploymentPhase;
  started_at: string;
  ended_at: string | null;
}

export const SOURCE_GIT = "git";
export const SOURCE_UPLOAD = "upload";

/** Where a build's files come from, frozen on its deployment. */
export type BuildSource =
  | { kind: typeof SOURCE_GIT; repo_url: string; branch: string; root_dir: string; dockerfile_path: string; commit_sha?: string }
  | { kind: typeof SOURCE_UPLOAD; upload_id: string; root_dir: string; dockerfile_path: string };

export type GitSource = Extract<BuildSource, { kind: typeof SOURCE_GIT }>;

export const DEFAULT_BRANCH = "main";
export const DEFAULT_DOCKERFILE = "Dockerfile";
export const REPO_URL_MAX = 2048;
export const BRANCH_MAX = 255;
export const SOURCE_PATH_MAX = 1024;
/** The build log kept with a deployment: its last MiB (the end explains a failure). */
export const BUILD_LOG_MAX_BYTES = 1024 * 1024;
/** What a failed deployment's failure log keeps of the build log. */
export const BUILD_FAILURE_TAIL_LINES = 40;
/** Image repository of built images; the tag is the deployment id. */
export const BUILD_IMAGE_REPOSITORY = "dk-build";
/** Label on every built image: the service it belongs to (pruning keeps the last N per service). */
export const LABEL_BUILD_SERVICE = "deploykit.build.service";

/** The staged source settings of a service; all null: it runs an image (or uploads). */
export interface ServiceSource {
  repo_url: string | null;
  branch: string | null;
  root_dir: string | null;
  dockerfile_path: string | null;
}

/** Per-deployment image tag: Docker repository names are lowercase, ids are UUIDs. */
export function buildImageTag(serviceID: string, deploymentID: string): string {
  return `${BUILD_IMAGE_REPOSITORY}/${serviceID.toLowerCase()}:${deploymentID.toLowerCase()}`;
}

export function isBuiltImage(image: string): boolean {
  return image.startsWith(`${BUILD_IMAGE_REPOSITORY}/`);
}

/**
 * A repository URL git may clone: https, http or ssh (`ssh://…` or scp-like `user@host:path`).
 * `ext::` runs a command, `file://` reads the host's disk, and anything starting with `-` would be
 * taken as an option: all refused. (Tests serve their repositories over HTTP, so no exception exists.)
 */
export function validateRepoURL(url: unknown, v: FieldErrorCollector): void {
  if (url === undefined || url === null) return;
  const field = "repo_url";
  if (typeof url !== "string" || url.trim() === "") {
    v.add(field, "Repository URL cannot be empty.");
    return;
  }
  if (url.length > REPO_URL_MAX) {
    v.add(field, `Repository URL is too long (max ${REPO_URL_MAX} characters).`);
    return;
  }

  if (url.startsWith("-")) {
    v.add(field, "Repository URL cannot start with '-'.");
    return;
  }
  if (/^[a-z][a-z0-9+.-]*::/i.test(url)) {
    v.add(field, "Repository URL cannot use a git remote helper (such as ext::).");
    return;
  }
  if (hasControlChars(url) || /\s/.test(url)) {
    v.add(field, "Repository URL cannot contain spaces or control characters.");
    return;
  }
  if (/^file:/i.test(url) || url.startsWith("/") || url.startsWith(".")) {
    v.add(field, "Local (file://) repositories are not allowed.");
    return;
  }
  const scp = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/\\][^\\]*$/.test(url) && !url.includes("://");
  if (scp) return;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    v.add(field, "Repository URL must be an https, http or ssh URL (or user@host:path).");
    return;
  }
  if (!["https:", "http:", "ssh:"].includes(u.protocol)) {
    v.add(field, "Repository URL must use https, http or ssh.");
    return;
  }
  if (u.hostname === "" || u.hostname.startsWith("-")) v.add(field, "Repository URL must include a host.");
}

/** A branch name git accepts as `--branch`, never one that reads as an option or walks up (`..`). */
export function validateBranch(branch: unknown, v: FieldErrorCollector): void {
  if (branch === undefined || branch === null) return;
  const field = "branch";
  if (typeof branch !== "string" || branch.trim() === "") {
    v.add(field, "Branch cannot be empty.");
    return;
  }
  if (branch.length > BRANCH_MAX) {
    v.add(field, `Branch is too long (max ${BRANCH_MAX} characters).`);
    return;
  }
  if (branch.startsWith("-")) {
    v.add(field, "Branch cannot start with '-'.");
    return;
  }
  if (branch.includes("..")) {
    v.add(field, "Branch cannot contain '..'.");
    return;
  }
  if (hasControlChars(branch) || /[\s~^:?*[\\]/.test(branch) || branch.includes("@{") || branch.endsWith(".lock") || branch.endsWith("/"))
    v.add(field, "Branch is not a valid git branch name.");
}

/**
 * `root_dir` / `dockerfile_path`: relative, inside the checkout. Absolute paths, `..` segments and
 * backslashes are refused here; the builder checks again on the real files (symlinks).
 */
export function validateSourcePath(p: unknown, field: "root_dir" | "dockerfile_path", v: FieldErrorCollector): void {
  if (p === undefined || p === null || p === "") return;
  if (typeof p !== "string") {
    v.add(field, "Path must be a string.");
    return;
  }
  if (p.length > SOURCE_PATH_MAX) {
    v.add(field, `Path is too long (max ${SOURCE_PATH_MAX} characters).`);
    return;
  }
  if (hasControlChars(p) || p.includes("\\")) {
    v.add(field, "Path cannot contain control characters or backslashes.");
    return;
  }
  if (p.startsWith("/") || p.startsWith("-")) {
    v.add(field, "Path must be relative to the repository and cannot start with '-'.");
    return;
  }
  if (p.split("/").includes("..")) v.add(field, "Path must stay inside the repository (no '..').");
}

export function validateServiceSource(s: Partial<ServiceSource>, v: FieldErrorCollector): void {
  validateRepoURL(s.repo_url, v);
  validateBranch(s.branch, v);
  validateSourcePath(s.root_dir, "root_dir", v);
  validateSourcePath(s.dockerfile_path, "dockerfile_path", v);
}

/** `a/./b//c/` → `a/b/c`; "" for the root. Assumes validateSourcePath passed. */
export function normalizeSourcePath(p: string | null | undefined): string {
  return (p ?? "")
    .split("/")
    .filter((s) => s !== "" && s !== ".")
    .join("/");
}

/** The Dockerfile a build uses, relative to the build context (root_dir). */
export function effectiveDockerfile(s: { dockerfile_path?: string | null }): string {
  return normalizeSourcePath(s.dockerfile_path) || DEFAULT_DOCKERFILE;
}

/** The git source a service's next build clones, or null when it runs an image. */
export function gitSourceOf(s: Partial<ServiceSource>): GitSource | null {
  if (!s.repo_url) return null;
  return {
    kind: SOURCE_GIT,
    repo_url: s.repo_url,
    branch: s.branch || DEFAULT_BRANCH,
    root_dir: normalizeSourcePath(s.root_dir),
    dockerfile_path: effectiveDockerfile(s),
  };
}

/** Closes the running span and opens `name` (a final phase opens closed). Pure. */
export function advancePhases(phases: readonly PhaseSpan[], name: DeploymentPhase, now: string): PhaseSpan[] {
  const out = phases.map((p) => (p.ended_at === null ? { ...p, ended_at: now } : p));
  const final = name === PHASE_SERVING || name === PHASE_FAILED || name === PHASE_CANCELLED;
  out.push({ name, started_at: now, ended_at: final ? now : null });
  return out;
}

/** The last `max` bytes of a log, cut at a line start when one is near. */
export function tailBytes(log: string, max: number): string {
  if (log.length <= max / 4) return log;
  const buf = new TextEncoder().encode(log);
  if (buf.length <= max) return log;
  const s = new TextDecoder().decode(buf.subarray(buf.length - max));
  const nl = s.indexOf("\n");
  return nl >= 0 && nl < 4096 ? s.slice(nl + 1) : s;
}

/** The last `n` lines of a build log, for a failed deployment's reason. */
export function tailLines(log: string, n: number): string {
  const lines = log.replace(/\n+$/, "").split("\n");
  return lines.slice(Math.max(0, lines.length - n)).join("\n");
}

/** One build log chunk as the SSE route sends it. */
export interface BuildLogChunk {
  deployment_id: string;
  text: string;
}

/** Build limits (admin settings). */
export interface BuildLimits {
  build_concurrency: number;
  build_cpus: number;
  build_memory_mb: number;
  build_timeout_minutes: number;
  images_kept: number;
  build_cache_max_mb: number;
}

export const DEFAULT_BUILD_LIMITS: BuildLimits = {
  build_concurrency: 1,
  build_cpus: 0,
  build_memory_mb: 0,
  build_timeout_minutes: 30,
  images_kept: 5,
  build_cache_max_mb: 10 * 1024,
};

/** The builder a build runs on: BuildKit inside dockerd, or dockerd's classic builder. */
export type BuildEngine = "buildkit" | "classic";

/**
 * BuildKit inside dockerd ignores the build API's `memory`, `memswap`, `cpuperiod`, `cpuquota` and
 * `cgroupparent` (moby/buildkit#593; measured on Engine 20.10: a RUN step sits in
 * `docker/buildkit/<id>` with no memory or CPU limit and allocates past the limit asked). The
 * classic builder gives each RUN step's container those limits, so a build with a CPU or memory
 * limit runs there; without limits it runs on BuildKit (cache mounts, parallel stages).
 */
export function buildEngineFor(limits: Pick<BuildLimits, "build_cpus" | "build_memory_mb">): BuildEngine {
  return limits.build_cpus > 0 || limits.build_memory_mb > 0 ? "classic" : "buildkit";
}

/**
 * A failed build's message, with the likely cause when a step was killed (exit code 137, SIGKILL:
 * the kernel's OOM killer, when the build memory limit is set) — the engine only says "returned a
 * non-zero code: 137".
 */
export function explainBuildFailure(message: string, limits: Pick<BuildLimits, "build_memory_mb">): string {
  if (limits.build_memory_mb > 0 && /returned a non-zero code: 137\b/.test(message))
    return `a build step was killed (exit code 137), most likely for going over the build memory limit of ${limits.build_memory_mb} MiB (admin settings): ${message}`;
  return message;
}

/** Secrets a clone uses: the service's deploy key (ssh URLs) or token (https URLs). */
export interface GitCredentials {
  deploy_key: string | null;
  git_token: string | null;
}

export const GIT_TOKEN_MAX = 4096;

/** A token https clones may use: 1 to GIT_TOKEN_MAX printable ASCII characters, no spaces (it goes into an HTTP header). */
export function isGitToken(token: unknown): token is string {
  return typeof token === "string" && token !== "" && token.length <= GIT_TOKEN_MAX && /^[\x21-\x7e]+$/.test(token);
}

/** A token stored for https clones (isGitToken), or null to remove it. */
export function validateGitToken(token: unknown, v: FieldErrorCollector): void {
  if (token === null) return;
  if (!isGitToken(token)) v.add("token", `Token must be 1 to ${GIT_TOKEN_MAX} printable characters without spaces, or null to remove it.`);
}

/** A push a git host reported, as far as a deploy needs it. */
export interface PushEvent {
  /** `refs/heads/<branch>` etc. */
  ref: string;
  after: string | null;
}

/** The branch a push ref names, or null for tags and other refs. */
export function branchOfRef(ref: string): string | null {
  return ref.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : null;
}
