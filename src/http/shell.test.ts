/**
 * The shell socket's rules without Docker: a fake exec that echoes its input stands in for the
 * container. The real exec is proven in test/e2e-api/shell.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { ADMIN_TOKEN, type Harness, MEMBER_TOKEN, startServer, waitUntil } from "../../test/http/harness.ts";
import * as deploykit from "../index.ts";
import * as mock from "../mock/index.ts";

const CONTAINER: deploykit.Container = {
  id: "c1",
  service_id: "s1",
  deployment_id: "d1",
  docker_container_id: "ab".repeat(32),
  replica_index: 0,
  status: "running",
  created_at: "2026-01-01T00:00:00.000Z",
};

/** A process that writes back what it is sent, records resizes, and exits on "exit". */
class EchoProcess implements deploykit.ShellProcess {
  readonly resizes: [number, number][] = [];
  readonly written: string[] = [];
  closed = false;
  private data: (b: Buffer) => void = () => {};
  private exit: (code: number | null) => void = () => {};
  write(b: Buffer): boolean {
    this.written.push(b.toString());
    if (b.toString() === "exit") setTimeout(() => this.exit(7), 0);
    else this.data(Buffer.from(`echo:${b.toString()}:${this.resizes.at(-1)?.join("x") ?? "-"}`));
    return true;
  }
  onDrain(): void {}
  async resize(cols: number, rows: number): Promise<void> {
    await new Promise((r) => setTimeout(r, 20));
    this.resizes.push([cols, rows]);
  }
  onData(fn: (b: Buffer) => void): void {
    this.data = fn;
  }
  onExit(fn: (code: number | null) => void): void {
    this.exit = fn;
  }
  pause(): void {}
  resume(): void {}
  close(): void {
    this.closed = true;
  }
}

let h: Harness;
let settings: deploykit.Settings;
let procs: EchoProcess[];
let opened: deploykit.ShellOpenOptions[];
let audit: { started: deploykit.ShellSessionCreate[]; ended: [string, number | null][] };
const sockets: WebSocket[] = [];

async function start(corsOrigin = "*") {
  settings = { ...deploykit.DEFAULT_SETTINGS };
  procs = [];
  opened = [];
  audit = { started: [], ended: [] };
  h = await startServer({
    corsOrigin,
    limits: { revocationCheckMs: 100 },
    settings: mock.SettingsService({ getSettings: async () => settings }),
    services: mock.ServiceService({
      findServiceByID: async (id) => {
        if (id !== "s1") throw deploykit.errorf(deploykit.ENOTFOUND, "Service not found.");
        return { id: "s1", project_id: "p1", active_deployment_id: "d1" } as deploykit.Service;
      },
    }),
    containers: mock.ContainerService({ findContainers: async () => ({ items: [CONTAINER], total: 1 }) }),
    exec: mock.ContainerExec({
      openShell: async (_id, opts) => {
        opened.push(opts);
        const p = new EchoProcess();
        procs.push(p);
        return p;
      },
    }),
    shellSessions: mock.ShellSessionService({
      startShellSession: async (input) => {
        audit.started.push(input);
        return { ...input, id: `sh${audit.started.length}` } as deploykit.ShellSession;
      },
      endShellSession: async (id, code) => {
        audit.ended.push([id, code]);
      },
    }),
  });
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await h?.close();
});

interface Conn {
  ws: WebSocket;
  text: { type: string; payload: Record<string, unknown> }[];
  out: string;
  status: number | null;
  code: number | null;
  closed: Promise<void>;
}

function connect(query = "", headers: Record<string, string> = {}, sid = "s1"): Conn {
  const ws = new WebSocket(`${h.url.replace(/^http/, "ws")}/api/projects/p1/services/${sid}/shell${query}`, { headers });
  sockets.push(ws);
  const c: Conn = { ws, text: [], out: "", status: null, code: null, closed: Promise.resolve() };
  ws.on("message", (d, bin) => {
    if (bin) c.out += d.toString();
    else c.text.push(JSON.parse(d.toString()));
  });
  ws.on("unexpected-response", (_q, res) => {
    c.status = res.statusCode ?? 0;
    ws.terminate();
  });
  ws.on("error", () => {});
  c.closed = new Promise((r) =>
    ws.on("close", (code) => {
      c.code = code;
      r();
    }),
  );
  return c;
}

async function auth(c: Conn, token: string, extra: Record<string, unknown> = {}): Promise<void> {
  await new Promise<void>((r, j) => {
    c.ws.once("open", () => r());
    c.ws.once("close", () => j(new Error(`closed (HTTP ${c.status})`)));
  });
  c.ws.send(JSON.stringify({ type: "auth", payload: { token, ...extra } }));
}

const ready = (c: Conn) => waitUntil(() => c.text.some((m) => m.type === "shell:ready") || c.code !== null, 3000, "shell:ready");

describe("shell socket", () => {
  it("runs the argv of ?command= on the chosen replica at the auth frame's size; input, resize and exit in order", async () => {
    await start();
    const c = connect(`?command=${encodeURIComponent(JSON.stringify(["bash", "-l"]))}&replica=0`);
    await auth(c, ADMIN_TOKEN, { cols: 120, rows: 30 });
    await ready(c);
    expect(opened[0]).toEqual({ project_id: "p1", service_id: "s1", command: ["bash", "-l"], cols: 120, rows: 30 });
    expect(c.text[0]).toEqual({
      type: "shell:ready",
      payload: {
        session_id: "sh1",
        container_id: CONTAINER.docker_container_id.slice(0, 12),
        replica_index: 0,
        replicas: [0],
        command: ["bash", "-l"],
      },
    });
    c.ws.send(JSON.stringify({ type: "resize", payload: { cols: 100, rows: 40 } }));
    c.ws.send(Buffer.from("ls"), { binary: true });
    await waitUntil(() => c.out.includes("echo:ls:100x40"), 3000, "echo after the resize");
    c.ws.send(JSON.stringify({ type: "resize", payload: { cols: 0, rows: 40 } }));
    await waitUntil(() => c.text.some((m) => m.type === "error"), 3000, "bad size refused");
    c.ws.send(Buffer.from("exit"), { binary: true });
    await c.closed;
    expect(c.code).toBe(1000);
    expect(c.text.at(-1)).toEqual({ type: "shell:exit", payload: { exit_code: 7 } });
    expect(audit.started[0]).toMatchObject({ user_id: "u-admin", container_id: CONTAINER.docker_container_id, command: ["bash", "-l"] });
    await waitUntil(() => audit.ended.length === 1, 3000, "end recorded");
    expect(audit.ended).toEqual([["sh1", 7]]);
  });

  it("refuses bad parameters (422) and a foreign Origin (403) before the upgrade", async () => {
    await start("");
    for (const q of ["?command=sh", "?command=%5B%5D", `?command=${encodeURIComponent(JSON.stringify(["a\0"]))}`, "?replica=-1", "?x=1"]) {
      const c = connect(q);
      await c.closed;
      expect(c.status, q).toBe(422);
    }
    const cross = connect("", { Origin: "https://evil.example" });
    await cross.closed;
    expect(cross.status).toBe(403);
    const same = connect("", { Origin: h.url });
    await auth(same, ADMIN_TOKEN);
    await ready(same);
    expect(same.code).toBeNull();
  });

  it("closes 4001 without a valid auth frame, and never execs for it", async () => {
    await start();
    const noAuth = connect();
    await new Promise((r) => noAuth.ws.once("open", r));
    noAuth.ws.send(Buffer.from("ls"), { binary: true });
    await noAuth.closed;
    expect(noAuth.code).toBe(4001);
    const forged = connect();
    await auth(forged, "dka_forged");
    await forged.closed;
    expect(forged.code).toBe(4001);
    expect(opened).toHaveLength(0);
  });

  it("lets members in only while the admin setting allows it", async () => {
    await start();
    const refused = connect();
    await auth(refused, MEMBER_TOKEN);
    await refused.closed;
    expect(refused.code).toBe(4003);
    expect(refused.text[0]?.payload).toMatchObject({ code: "forbidden" });
    expect(opened).toHaveLength(0);

    settings.shell_members_allowed = true;
    const c = connect();
    await auth(c, MEMBER_TOKEN);
    await ready(c);
    expect(c.code).toBeNull();
    settings.shell_members_allowed = false;
    await c.closed;
    expect(c.code).toBe(4003);
    expect(procs[0]?.closed).toBe(true);
  });

  it("caps shells per user, bounds frames, answers a missing service or replica, and closes on revocation", async () => {
    await start();
    const mine: Conn[] = [];
    for (let i = 0; i < deploykit.MAX_SHELLS_PER_USER; i++) {
      const c = connect();
      await auth(c, ADMIN_TOKEN);
      mine.push(c);
    }
    await Promise.all(mine.map(ready));
    const over = connect();
    await auth(over, ADMIN_TOKEN);
    await over.closed;
    expect(over.code).toBe(4029);

    const big = mine.pop() as Conn;
    big.ws.send(Buffer.alloc(16 * 1024 + 1), { binary: true });
    await big.closed;
    expect(big.code).toBe(1009);

    for (const [q, sid] of [
      ["?replica=3", "s1"],
      ["", "s2"],
    ] as const) {
      const c = connect(q, {}, sid);
      await auth(c, ADMIN_TOKEN);
      await c.closed;
      expect(c.code, `${sid}${q}`).toBe(4004);
    }

    h.tokens.delete(ADMIN_TOKEN);
    await Promise.all(mine.map((c) => c.closed));
    expect(mine.map((c) => c.code)).toEqual(mine.map(() => 4001));
    expect(procs.slice(0, 3).every((p) => p.closed)).toBe(true);
  });
});
