/**
 * Shell in the browser (issue 16), through deploykitd against the real dockerd: a deployed service,
 * a shell socket that runs `echo hello-shell` and sees its output, a chosen command (argv) with its
 * exit code, a member refused until the admin allows members, a cross-origin upgrade refused, the
 * audit table (admin only), and a container of another service refused by its labels.
 */
import { execFileSync } from "node:child_process";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import * as docker from "../../src/docker/index.ts";
import * as deploykit from "../../src/index.ts";
import { Daemon } from "../harness/daemon.ts";
import { HOST_SOCKET } from "../harness/dockerd.ts";
import { removeInstanceObjects } from "../harness/images.ts";
import { waitFor } from "../harness/wait.ts";

const IMAGE = "deploykit-test/greeter:1";
let d: Daemon;
let instanceID = "";
let projectID = "";
let serviceID = "";
let containerID = "";
let member = "";

/** A shell socket: raw output collected as text, control frames parsed. */
class Shell {
  readonly ws: WebSocket;
  output = "";
  readonly frames: { type: string; payload: Record<string, unknown> }[] = [];
  closeCode: number | null = null;
  httpStatus: number | null = null;
  readonly closed: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers });
    this.ws.on("message", (data, isBinary) => {
      if (isBinary) this.output += data.toString();
      else this.frames.push(JSON.parse(data.toString()));
    });
    this.ws.on("unexpected-response", (_req, res) => {
      this.httpStatus = res.statusCode ?? 0;
      this.ws.terminate();
    });
    this.ws.on("error", () => {});
    this.closed = new Promise((resolve) =>
      this.ws.on("close", (code) => {
        this.closeCode = code;
        resolve();
      }),
    );
  }

  static open(query: Record<string, string> = {}, headers: Record<string, string> = {}): Shell {
    const qs = new URLSearchParams(query).toString();
    return new Shell(`${d.url.replace(/^http/, "ws")}/api/projects/${projectID}/services/${serviceID}/shell${qs ? `?${qs}` : ""}`, headers);
  }

  async auth(token: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("close", () => reject(new Error(`closed before open (HTTP ${this.httpStatus})`)));
    });
    this.ws.send(JSON.stringify({ type: "auth", payload: { token, cols: 120, rows: 30 } }));
  }

  frame(type: string) {
    return this.frames.find((f) => f.type === type);
  }
}

beforeAll(async () => {
  execFileSync("bash", ["scripts/test-images.sh"], { stdio: "inherit" });
  d = await Daemon.start();
  instanceID = (await d.must("GET", "/api/system/about", 200)).deploykit.instance_id;
  projectID = (await d.must("POST", "/api/projects", 201, { body: { name: "shell" } })).id;
  const staged = await d.must("POST", `/api/projects/${projectID}/services`, 201, { body: { name: "web", image: IMAGE } });
  const applied = await d.must("POST", `/api/projects/${projectID}/deploy`, 200);
  serviceID = applied.temp_id_to_service_id[staged.target_temp_id];
  await waitFor(
    async () => {
      const page = await d.must("GET", `/api/projects/${projectID}/services/${serviceID}/containers?status=running`, 200);
      containerID = page.data[0]?.docker_container_id ?? "";
      return containerID !== "";
    },
    { timeoutMs: 90_000, intervalMs: 200, what: "a running container" },
  );
  await d.must("POST", "/api/users", 201, { body: { email: "m@shell.test", name: "M", password: "password-member-1", role: "member" } });
  member = (await d.login("m@shell.test", "password-member-1")).access_token;
}, 180_000);

afterAll(async () => {
  await d?.stop();
  if (instanceID) await removeInstanceObjects(HOST_SOCKET, instanceID);
  await d?.destroy();
});

describe("shell in the browser", () => {
  it("runs `echo hello-shell` in sh with a TTY and records the session (not the input)", async () => {
    const s = Shell.open();
    await s.auth(d.token);
    await waitFor(() => s.frame("shell:ready") !== undefined || s.closeCode !== null, { timeoutMs: 15_000, what: "shell:ready" });
    expect(s.frame("shell:ready")?.payload).toMatchObject({ replica_index: 0, command: ["sh"], container_id: containerID.slice(0, 12) });
    s.ws.send(Buffer.from("echo hello-shell\r"), { binary: true });
    // The TTY echoes the typed line too: the output line of its own is the proof.
    await waitFor(() => /(^|\n)hello-shell\r?\n/.test(s.output), { timeoutMs: 15_000, what: "hello-shell output" });
    const shells = async () =>
      ((await new Docker({ socketPath: HOST_SOCKET }).getContainer(containerID).top()) as { Processes: string[][] }).Processes.filter(
        (p) => p[p.length - 1] === "sh",
      ).length;
    expect(await shells()).toBe(1);
    // The user closes the tab: the session ends (the shell sees the end of its input) and is recorded.
    s.ws.close(1000);
    await s.closed;
    await waitFor(async () => (await shells()) === 0, { timeoutMs: 10_000, what: "the exec'd sh to exit" });
    await waitFor(async () => (await d.must("GET", "/api/system/shell-sessions", 200)).data[0]?.ended_at !== null, {
      timeoutMs: 10_000,
      what: "session end recorded",
    });
    const audit = await d.must("GET", "/api/system/shell-sessions", 200);
    expect(audit.total_count).toBe(1);
    expect(audit.data[0]).toMatchObject({
      user_email: "admin@faults.test",
      project_id: projectID,
      service_id: serviceID,
      container_id: containerID,
      command: ["sh"],
    });
    expect(audit.data[0].duration_ms).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(audit)).not.toContain("hello-shell");
    expect((await d.request("GET", "/api/system/shell-sessions", { token: member })).status).toBe(403);
  });

  it("runs the chosen argv (no shell on the host) and refuses a bad command or replica before the upgrade (422)", async () => {
    const s = Shell.open({ command: JSON.stringify(["sh", "-c", "echo $((6*7)); exit 5"]) });
    await s.auth(d.token);
    await s.closed;
    expect(s.output).toMatch(/(^|\n)42\r?\n/);
    expect(s.frame("shell:exit")?.payload).toEqual({ exit_code: 5 });

    // The TTY has the size of the auth frame once ready, and follows a resize (ordered with the input:
    // the key typed after the resize frame sees the new size).
    const sized = Shell.open({ command: JSON.stringify(["sh", "-c", "read a; stty size; read b; stty size"]) });
    await sized.auth(d.token);
    await waitFor(() => sized.frame("shell:ready") !== undefined, { timeoutMs: 15_000, what: "shell:ready" });
    sized.ws.send(Buffer.from("\r"), { binary: true });
    await waitFor(() => /30 120\r?\n/.test(sized.output), { timeoutMs: 15_000, what: "initial size" });
    sized.ws.send(JSON.stringify({ type: "resize", payload: { cols: 100, rows: 40 } }));
    sized.ws.send(Buffer.from("\r"), { binary: true });
    await sized.closed;
    expect(sized.output).toMatch(/30 120\r?\n[\s\S]*40 100\r?\n/);

    const bad: Record<string, string>[] = [{ command: "sh" }, { command: "[]" }, { replica: "x" }, { other: "1" }];
    for (const query of bad) {
      const refused = Shell.open(query);
      await refused.closed;
      expect(refused.httpStatus, JSON.stringify(query)).toBe(422);
    }
    const none = Shell.open({ replica: "7" });
    await none.auth(d.token);
    await none.closed;
    expect(none.closeCode).toBe(4004);
    expect(none.frame("error")?.payload).toMatchObject({ code: "not_found" });
  });

  it("refuses members until the admin allows them, then closes their shells when it is turned off again", async () => {
    const refused = Shell.open();
    await refused.auth(member);
    await refused.closed;
    expect(refused.closeCode).toBe(4003);
    expect(refused.frame("error")?.payload).toMatchObject({ code: "forbidden" });
    expect(refused.output).toBe("");

    await d.must("PATCH", "/api/settings", 200, { body: { shell_members_allowed: true } });
    const s = Shell.open();
    await s.auth(member);
    await waitFor(() => s.frame("shell:ready") !== undefined, { timeoutMs: 15_000, what: "member shell ready" });
    s.ws.send(Buffer.from("echo member-$((1+1))\r"), { binary: true });
    await waitFor(() => /(^|\n)member-2\r?\n/.test(s.output), { timeoutMs: 15_000, what: "member output" });

    await d.must("PATCH", "/api/settings", 200, { body: { shell_members_allowed: false } });
    await Promise.race([s.closed, new Promise((r) => setTimeout(r, 10_000))]);
    expect(s.closeCode).toBe(4003);
  });

  it("refuses a cross-origin upgrade and a missing or bad auth frame", async () => {
    const cross = Shell.open({}, { Origin: "https://evil.example" });
    await cross.closed;
    expect(cross.httpStatus).toBe(403);

    const forged = Shell.open();
    await forged.auth("dka_forged");
    await forged.closed;
    expect(forged.closeCode).toBe(4001);
    expect(forged.output).toBe("");
  });

  it("caps shells per user, bounds input frames and closes a shell on logout", async () => {
    const session = (await d.login()).access_token;
    const sleepy = { command: JSON.stringify(["sleep", "60"]) };
    const open: Shell[] = [];
    for (let i = 0; i < deploykit.MAX_SHELLS_PER_USER; i++) {
      const s = Shell.open(sleepy);
      await s.auth(session);
      open.push(s);
    }
    await waitFor(() => open.every((s) => s.frame("shell:ready")), { timeoutMs: 20_000, what: "4 shells ready" });
    const fifth = Shell.open(sleepy);
    await fifth.auth(session);
    await fifth.closed;
    expect(fifth.closeCode).toBe(4029);
    expect(fifth.frame("error")?.payload).toMatchObject({ code: "rate_limited" });

    const big = open.pop() as Shell;
    big.ws.send(Buffer.alloc(16 * 1024 + 1, 97), { binary: true });
    await big.closed;
    expect(big.closeCode).toBe(1009);

    await d.must("POST", "/api/auth/logout", 204, { token: session });
    await Promise.race([Promise.all(open.map((s) => s.closed)), new Promise((r) => setTimeout(r, 10_000))]);
    expect(open.map((s) => s.closeCode)).toEqual(open.map(() => 4001));
    // Docker would keep the closed sessions' processes running; the daemon interrupted them.
    const sleeping = async () =>
      ((await new Docker({ socketPath: HOST_SOCKET }).getContainer(containerID).top()) as { Processes: string[][] }).Processes.filter(
        (p) => p[p.length - 1] === "sleep 60",
      ).length;
    await waitFor(async () => (await sleeping()) === 0, { timeoutMs: 10_000, what: "the closed shells' processes to end" });
  });

  it("never execs in a container that is not this service's, whatever the database says", async () => {
    const execIDs = async () =>
      ((await new Docker({ socketPath: HOST_SOCKET }).getContainer(containerID).inspect()) as { ExecIDs?: string[] | null }).ExecIDs ?? [];
    const before = (await execIDs()).length;
    const client = new docker.Client({ instanceID, socketPath: HOST_SOCKET });
    // The real container, but claimed for another service or project: refused by its labels.
    for (const [p, s] of [
      [projectID, "another-service"],
      ["another-project", serviceID],
    ] as const) {
      const err = await client.exec
        .openShell(containerID, { project_id: p, service_id: s, command: ["sh"], cols: 80, rows: 24 })
        .catch((e) => e);
      expect(deploykit.errorCode(err)).toBe(deploykit.EFORBIDDEN);
    }
    // Another instance's view of the same container.
    const other = new docker.Client({ instanceID: "someone-else", socketPath: HOST_SOCKET });
    const err = await other.exec
      .openShell(containerID, { project_id: projectID, service_id: serviceID, command: ["sh"], cols: 80, rows: 24 })
      .catch((e) => e);
    expect(deploykit.errorCode(err)).toBe(deploykit.EFORBIDDEN);
    // And no exec was created by the refusals.
    expect((await execIDs()).length).toBeLessThanOrEqual(before);
  });
});
