import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Deployment } from "../../../../../src/deployment.ts";
import type { Service } from "../../../../../src/service.ts";
import { ApiError } from "../../../lib/api-client.ts";
import { deploymentsQueryOptions } from "../../../shared/services/api/deployments.ts";
import { buildLogEvent, generateDeployKey, setGitToken, streamBuildLogs } from "../api/builds.ts";
import type { BuildDeployment } from "../lib/builds.ts";
import { BuildLog, CommitLine, PhaseTimeline } from "./build-details.tsx";
import { DeploymentsTab } from "./deployments-tab.tsx";
import { DeployKeyShown } from "./private-repo-panel.tsx";
import { SourceCard } from "./source-card.tsx";
import { refusal, UploadProgress } from "./source-upload.tsx";
import { WebhookSetup } from "./webhook-panel.tsx";

// Issue 13's UI, rendered to markup (the frontend tests' style: no DOM library here) and its
// stream parsing fed real SSE bytes through a stubbed fetch.

const SHA = "89abcdef0123456789abcdef0123456789abcdef";
const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

function deployment(over: Partial<BuildDeployment>): BuildDeployment {
  return {
    id: "d1",
    service_id: "s1",
    image: "deploykit/s1:d1",
    env_vars: {},
    ports: [],
    volumes: [],
    replicas: 1,
    stop_grace_seconds: 30,
    restart_policy: "always",
    restart_max_retries: 10,
    cron_timeout_seconds: 3600,
    healthcheck_timeout_seconds: 60,
    status: "pending",
    attempt_count: 0,
    baseline_restart_count: 0,
    created_at: t(0),
    ...over,
  } as BuildDeployment;
}

const building = deployment({
  status: "pending",
  phase: "building",
  phases: [
    { name: "queued", started_at: t(0), ended_at: t(1) },
    { name: "cloning", started_at: t(1), ended_at: t(4) },
    { name: "building", started_at: t(4), ended_at: null },
  ],
  commit_sha: SHA,
  commit_message: "Fix the <b>header</b>\n\nLonger body",
});

const withClient = (node: ReactNode, qc = new QueryClient()) =>
  renderToStaticMarkup(<QueryClientProvider client={qc}>{node}</QueryClientProvider>);

describe("PhaseTimeline and CommitLine", () => {
  it("shows each phase with its state and duration", () => {
    const html = renderToStaticMarkup(<PhaseTimeline d={building} now={Date.parse(t(64))} />);
    expect(html.match(/data-phase="[a-z_]+" data-state="[a-z]+"/g)).toEqual([
      'data-phase="queued" data-state="done"',
      'data-phase="cloning" data-state="done"',
      'data-phase="building" data-state="current"',
      'data-phase="starting" data-state="todo"',
      'data-phase="health_check" data-state="todo"',
      'data-phase="serving" data-state="todo"',
    ]);
    expect(html).toContain("health check");
    expect(html).toContain("1m 0s");
  });

  it("links the short SHA on a known host and shows the message's first line as text", () => {
    const html = renderToStaticMarkup(<CommitLine d={building} repoURL="git@github.com:acme/web.git" />);
    expect(html).toContain(`href="https://github.com/acme/web/commit/${SHA}"`);
    expect(html).toContain(">89abcde<");
    expect(html).toContain("Fix the &lt;b&gt;header&lt;/b&gt;");
    expect(html).not.toContain("Longer body");
    const plain = renderToStaticMarkup(<CommitLine d={building} repoURL="https://git.internal/acme/web.git" />);
    expect(plain).not.toContain("href=");
    expect(renderToStaticMarkup(<CommitLine d={deployment({})} repoURL="https://github.com/a/b" />)).toBe("");
  });

  it("a live build log starts open; a stored one inlined by the API is shown inert", () => {
    expect(renderToStaticMarkup(<BuildLog projectID="p1" serviceID="s1" d={building} />)).toMatch(
      /<details[^>]*data-live="true"[^>]* open=""/,
    );
    const stored = renderToStaticMarkup(
      <BuildLog
        projectID="p1"
        serviceID="s1"
        d={deployment({ status: "failed", phase: "failed", build_log: "#1 step\n\x1b[31merror\x1b[0m <img>" })}
      />,
    );
    expect(stored).toContain("#1 step\nerror &lt;img&gt;");
    expect(stored).toContain("Download log");
  });
});

describe("DeploymentsTab with built deployments", () => {
  it("shows the source actions, the webhook panel for a git service, and each row's commit, phases and build log", () => {
    const qc = new QueryClient();
    qc.setQueryData(deploymentsQueryOptions("p1", "s1").queryKey, [building as Deployment]);
    const service = { id: "s1", active_deployment_id: null, repo_url: "https://github.com/acme/web", branch: "main" } as unknown as Service;
    const html = withClient(<DeploymentsTab projectID="p1" service={service} />, qc);
    expect(html).toContain('data-testid="source-drop"');
    expect(html).toContain("Redeploy");
    expect(html).toContain("Upload source");
    expect(html).toContain('data-testid="webhook-panel"');
    expect(html).toContain('data-testid="commit"');
    expect(html).toContain('data-testid="phase-timeline"');
    expect(html).toContain('data-testid="build-log"');
  });

  it("an image service's rows have no build details and no webhook panel", () => {
    const qc = new QueryClient();
    qc.setQueryData(deploymentsQueryOptions("p1", "s1").queryKey, [deployment({ status: "healthy" }) as Deployment]);
    const html = withClient(<DeploymentsTab projectID="p1" service={{ id: "s1", active_deployment_id: "d1" } as Service} />, qc);
    expect(html).toContain('data-testid="deployment-row"');
    expect(html).not.toContain("webhook-panel");
    expect(html).not.toContain("phase-timeline");
    expect(html).not.toContain("build-log");
  });
});

describe("source card, uploads and webhook setup", () => {
  it("the Source card shows the four staged fields", () => {
    const html = withClient(
      <SourceCard
        projectID="p1"
        serviceID="s1"
        current={{ repo_url: "https://github.com/a/b", branch: "main", root_dir: "", dockerfile_path: "" }}
      />,
    );
    for (const id of ["svc-repo_url", "svc-branch", "svc-root_dir", "svc-dockerfile_path"]) expect(html).toContain(`id="${id}"`);
    expect(html).toContain('value="https://github.com/a/b"');
  });

  it("refuses what is not an archive, and shows upload progress", () => {
    expect(refusal({ name: "app.tar.gz" })).toBeNull();
    expect(refusal({ name: "site.zip" })).toBeNull();
    expect(refusal({ name: "notes.txt" })).toMatch(/drop a \.tar\.gz, \.tgz or \.zip/);
    const html = renderToStaticMarkup(
      <UploadProgress state={{ phase: "uploading", name: "app.tgz", sent: 512 * 1024, total: 2 * 1024 * 1024 }} />,
    );
    expect(html).toContain("(25%)");
    expect(html).toContain('aria-valuenow="25"');
  });

  it("the webhook setup hides the secret and lists the chosen host's steps", () => {
    const hook = { url: "https://dk.example.com/api/hooks/s1", secret: "s3cr3t-value" };
    const html = renderToStaticMarkup(<WebhookSetup hook={hook} branch="main" initial="gitlab" />);
    expect(html).toContain(hook.url);
    expect(html).not.toContain(hook.secret);
    expect(html).toContain("X-Gitlab-Token");
  });
});

describe("private repository credentials", () => {
  afterEach(() => vi.unstubAllGlobals());
  const current = { repo_url: "git@github.com:a/b.git", branch: "main", root_dir: "", dockerfile_path: "" };

  it("only admins get the section: Generate deploy key and a password field for the token", () => {
    const member = withClient(<SourceCard projectID="p1" serviceID="s1" current={current} />);
    expect(member).not.toContain('data-testid="private-repo"');
    expect(member).not.toContain("Generate deploy key");
    const admin = withClient(<SourceCard projectID="p1" serviceID="s1" current={current} admin />);
    expect(admin).toContain('data-testid="private-repo"');
    expect(admin).toContain("Generate deploy key");
    expect(admin).toMatch(/<input[^>]*id="git-token-s1"[^>]*type="password"/);
    // Nothing is shown before a key is generated: the server never returns one.
    expect(admin).not.toContain("deploy-public-key");
    expect(admin).toMatch(/<button[^>]*disabled=""[^>]*>Save token</);
  });

  it("a generated key is shown with a copy button and read-only setup steps", () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC7 deploykit-web";
    const html = renderToStaticMarkup(<DeployKeyShown publicKey={key} />);
    expect(html).toContain(`>${key}</code>`);
    expect(html).toContain('aria-label="Copy public key"');
    for (const host of ["GitHub:", "GitLab:", "Gitea:"]) expect(html).toContain(host);
    expect(html).toContain("Allow write access&quot; off");
    expect(html).toContain("ssh URL");
  });

  it("generates the key and stores or removes the token through the admin routes", async () => {
    const calls: { url: string; method: string; body: string | null }[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit) => {
        calls.push({ url: String(url), method: init.method ?? "GET", body: (init.body as string | null) ?? null });
        if (String(url).endsWith("/deploy-key")) return Response.json({ public_key: "ssh-ed25519 AAAA k" }, { status: 201 });
        return new Response(null, { status: 204 });
      }),
    );
    expect(await generateDeployKey("p1", "s1")).toEqual({ public_key: "ssh-ed25519 AAAA k" });
    await setGitToken("p1", "s1", "ghp_x");
    await setGitToken("p1", "s1", null);
    expect(calls).toEqual([
      { url: "/api/projects/p1/services/s1/deploy-key", method: "POST", body: null },
      { url: "/api/projects/p1/services/s1/git-token", method: "PUT", body: '{"token":"ghp_x"}' },
      { url: "/api/projects/p1/services/s1/git-token", method: "PUT", body: '{"token":null}' },
    ]);
  });

  it("a refused token comes back as the field's error", async () => {
    const message = "Token must be 1 to 4096 printable characters without spaces, or null to remove it.";
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => Response.json({ error: "EINVALID", message: "Validation failed.", errors: { token: [message] } }, { status: 422 })),
    );
    const err = await setGitToken("p1", "s1", "x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).field("token")).toBe(message);
  });
});

describe("build log stream", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("parses the runtime logs' framing", () => {
    expect(buildLogEvent({ event: "message", data: '{"line":"#5 RUN npm ci"}' })).toEqual({
      kind: "line",
      text: "#5 RUN npm ci",
      stream: "stdout",
    });
    expect(buildLogEvent({ event: "message", data: '{"event":"dropped","count":3}' })).toEqual({ kind: "dropped", count: 3 });
    expect(buildLogEvent({ event: "end", data: "" })).toEqual({ kind: "end" });
    expect(buildLogEvent({ event: "message", data: "not json" })).toBeNull();
  });

  it("follows the build-logs route until the server ends it", async () => {
    const chunks = ['data: {"line":"#1 load"}\n\ndata: {"li', 'ne":"#2 build","stream":"stderr"}\n\n: ping\n\nevent: end\ndata: {}\n\n'];
    const fetch = vi.fn(
      async () => new Response(new Blob(chunks).stream(), { status: 200, headers: { "Content-Type": "text/event-stream" } }),
    );
    vi.stubGlobal("fetch", fetch);
    const got: unknown[] = [];
    await streamBuildLogs("p1", "s1", "d1", (e) => got.push(e), new AbortController().signal);
    expect(String((fetch.mock.calls[0] as unknown[])[0])).toContain("/api/projects/p1/services/s1/deployments/d1/build-logs");
    expect(got).toEqual([
      { kind: "line", text: "#1 load", stream: "stdout" },
      { kind: "line", text: "#2 build", stream: "stderr" },
      { kind: "end" },
    ]);
  });
});
