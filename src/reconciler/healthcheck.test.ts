import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { healthyStatus, httpProbe, type ProbeResult, probeURL } from "./healthcheck.ts";
import { Reconciler } from "./reconciler.ts";
import { Clock, FakeRuntime, RecordingBus, RecordingLogger, TestStore } from "./testutil.ts";

describe("health check settings", () => {
  const check = (input: deploykit.ServiceUpdate) => {
    try {
      deploykit.validateServiceUpdate(input);
      return {};
    } catch (err) {
      return (err as deploykit.DeployKitError).fields ?? {};
    }
  };

  it.each([["/"], ["/healthz"], ["/api/health?full=1"], [null], ["/" + "a".repeat(511)]])("accepts %j", (path) => {
    expect(check({ healthcheck_path: path })).toEqual({});
  });

  it.each([["healthz"], [""], ["/health z"], ["/health\nHost: evil"], ["/\u0000"], ["/é"], ["/" + "a".repeat(512)], [42]])(
    "refuses the path %j with a field error",
    (path) => {
      expect(check({ healthcheck_path: path as string })).toHaveProperty("healthcheck_path");
    },
  );

  it.each([[0], [3601], [1.5], [-1], ["60"]])("refuses the timeout %j", (t) => {
    expect(check({ healthcheck_timeout_seconds: t as number })).toHaveProperty("healthcheck_timeout_seconds");
  });

  it("accepts timeouts from 1 to 3600 seconds", () => {
    expect(check({ healthcheck_timeout_seconds: 1 })).toEqual({});
    expect(check({ healthcheck_timeout_seconds: 3600 })).toEqual({});
  });
});

describe("httpProbe against a real HTTP server", () => {
  let server: http.Server;
  let base: string;
  const sockets = new Set<import("node:net").Socket>();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const code = Number((req.url ?? "/").split("/")[1]);
      if (req.url === "/hang") return; // never answers
      res.writeHead(Number.isInteger(code) && code >= 100 ? code : 200, code >= 300 && code < 400 ? { location: "/login" } : {});
      res.end("body");
    });
    server.on("connection", (s) => sockets.add(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it.each([
    [200, true],
    [204, true],
    [302, true],
    [399, true],
    [404, false],
    [500, false],
    [503, false],
  ])("status %i → ok %s, with the status", async (code, ok) => {
    expect(await httpProbe(`${base}/${code}`, 2_000)).toEqual({ ok, status: code });
  });

  it("a refused connection is a failure with the error", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const r = await httpProbe(`http://127.0.0.1:${port}/`, 2_000);
    expect(r.ok).toBe(false);
    expect(r.status).toBeUndefined();
    expect(r.error).toMatch(/ECONNREFUSED/);
  });

  it("no answer within the per-request timeout is a failure, and returns in about that time", async () => {
    const t0 = Date.now();
    const r = await httpProbe(`${base}/hang`, 300);
    expect(r).toEqual({ ok: false, error: "no answer within 0.3 s" });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it("builds probe URLs and judges statuses", () => {
    expect(healthyStatus(200)).toBe(true);
    expect(probeURL("172.18.0.2", 8080, "/healthz")).toBe("http://172.18.0.2:8080/healthz");
    expect(probeURL("fd00::2", 80, "/")).toBe("http://[fd00::2]:80/");
  });
});

describe("the readiness gate with a health check (fake Docker, fake probe)", () => {
  const INSTANCE = "inst-hc";
  const running: Reconciler[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => r.stop()));
  });

  function setup(answer: (url: string) => ProbeResult) {
    const clock = new Clock();
    const rt = new FakeRuntime(INSTANCE, clock);
    const store = new TestStore(clock.now);
    const probes: string[] = [];
    const make = () => {
      const r = new Reconciler({
        projects: store.projects,
        services: store.services,
        deployments: store.deployments,
        containers: store.containers,
        runtime: rt,
        provisioner: rt,
        bus: new RecordingBus(),
        instanceID: INSTANCE,
        logger: new RecordingLogger(),
        now: clock.now,
        probe: async (url) => {
          probes.push(url);
          return answer(url);
        },
      });
      running.push(r);
      return r;
    };
    const project = store.addProject("shop");
    return { clock, rt, store, probes, make, rec: make(), project };
  }

  const web = { image: "app:1", ports: [{ container_port: 8080 }] };

  /** A deployment with a health path, starting after one pass; its path refuses until `answer()`. */
  async function startingBehindPath() {
    let up = false;
    const h = setup(() => (up ? { ok: true, status: 200 } : { ok: false, error: "connect ECONNREFUSED" }));
    const svc = h.store.addService(h.project.id, "web");
    const dep = h.store.addDeployment(svc.id, { ...web, healthcheck_path: "/healthz" });
    await h.rec.reconcileOnce();
    expect(h.store.dep(dep.id).status).toBe("starting");
    const answer = () => {
      up = true;
    };
    return { h, dep, c: h.rt.ofService(svc.id)[0]!, answer };
  }

  it("promotes as soon as the path answers 2xx/3xx (no stable window) and attaches the service name then", async () => {
    const { h, dep, c, answer } = await startingBehindPath();
    expect(h.probes).toEqual([`http://${c.ip}:8080/healthz`]);
    // Not ready yet: nobody resolves "web" to it.
    expect(c.aliases).toEqual([]);
    answer();
    h.clock.advance(1_000);
    await h.rec.reconcileOnce();
    expect(h.store.dep(dep.id).status).toBe("healthy");
    expect(c.aliases).toEqual(["web"]);
  });

  it("probes a replica that restarted once at its next observation, not after the stable window", async () => {
    const { h, dep, c, answer } = await startingBehindPath();
    // Its first run crashes (say, the database was not up yet) and Docker restarts it.
    c.restart_count++;
    c.started_at = new Date(h.clock.now()).toISOString();
    h.clock.advance(2_000);
    await h.rec.reconcileOnce();
    expect(h.store.dep(dep.id).status).toBe("starting");
    answer();
    h.clock.advance(2_000);
    await h.rec.reconcileOnce();
    // 2 s into the new run, well inside the 10 s stable window: probed, answered, promoted.
    expect(h.store.dep(dep.id).status).toBe("healthy");
  });

  it("fails the deployment with the last status after the timeout, and the old one keeps serving with its name", async () => {
    const h = setup((url) => (url.endsWith("/ok") ? { ok: true, status: 200 } : { ok: false, status: 500 }));
    const svc = h.store.addService(h.project.id, "web");
    const old = h.store.addDeployment(svc.id, { ...web, healthcheck_path: "/ok" });
    await h.rec.reconcileOnce();
    expect(h.store.dep(old.id).status).toBe("healthy");
    const oldC = h.rt.ofService(svc.id)[0]!;

    const next = h.store.addDeployment(svc.id, { ...web, healthcheck_path: "/broken", healthcheck_timeout_seconds: 5 });
    await h.rec.reconcileOnce();
    expect(h.store.dep(next.id).status).toBe("starting");
    // While it starts, only the old container answers to the name.
    const newC = h.rt.ofService(svc.id).find((c) => c.labels[deploykit.LABEL_DEPLOYMENT_ID] === next.id)!;
    expect(newC.aliases).toEqual([]);
    expect(oldC.aliases).toEqual(["web"]);
    for (let i = 0; i < 3 && h.store.dep(next.id).status === "starting"; i++) {
      h.clock.advance(2_000);
      await h.rec.reconcileOnce();
    }
    const failed = h.store.dep(next.id);
    expect(failed.status).toBe("failed");
    expect(failed.failure_reason).toBe("health check failed: GET /broken on port 8080 answered 500 (no 2xx/3xx within 5 s)");
    await h.rec.reconcileOnce();
    expect(h.store.svc(svc.id).active_deployment_id).toBe(old.id);
    expect(h.rt.ofService(svc.id).map((c) => c.docker_id)).toEqual([oldC.docker_id]);
    expect(oldC.aliases).toEqual(["web"]);
  });

  it("fails a health-checked deployment without a port, saying so", async () => {
    const h = setup(() => ({ ok: true, status: 200 }));
    const svc = h.store.addService(h.project.id, "worker");
    const dep = h.store.addDeployment(svc.id, { image: "app:1", healthcheck_path: "/healthz" });
    await h.rec.reconcileOnce();
    expect(h.store.dep(dep.id)).toMatchObject({ status: "failed" });
    expect(h.store.dep(dep.id).failure_reason).toMatch(/no TCP container port to probe/);
  });

  it("a serving container without the service name gets it back (a daemon restart, a cut-short promotion)", async () => {
    const h = setup(() => ({ ok: true, status: 200 }));
    h.rt.startedAgoMs = 60_000;
    const svc = h.store.addService(h.project.id, "api");
    const dep = h.store.addDeployment(svc.id, { image: "app:1" });
    await h.rec.reconcileOnce();
    expect(h.store.dep(dep.id).status).toBe("healthy");
    const c = h.rt.ofService(svc.id)[0]!;
    c.aliases = [];
    const fresh = h.make();
    await fresh.reconcileOnce();
    expect(c.aliases).toEqual(["api"]);
    expect(h.rt.ofService(svc.id)).toHaveLength(1);
    // Already named: nothing more to do.
    const before = h.rt.count("setNetworkAliases");
    await fresh.reconcileOnce();
    expect(h.rt.count("setNetworkAliases")).toBe(before);
  });

  it.for([
    ["the default", undefined, deploykit.DEFAULT_DRAIN_SECONDS],
    ["a longer drain_seconds", 12, 12],
    ["drain_seconds 0", 0, 0],
  ] as const)(
    "a redeploy moves the name: the new containers get it at promotion, the old ones lose it and drain %s before their stop signal",
    async ([, setting, seconds]) => {
      const h = setup(() => ({ ok: true, status: 200 }));
      const svc = h.store.addService(h.project.id, "web", setting === undefined ? {} : { drain_seconds: setting });
      const old = h.store.addDeployment(svc.id, { ...web, healthcheck_path: "/" });
      await h.rec.reconcileOnce();
      expect(h.store.dep(old.id).status).toBe("healthy");
      const oldC = h.rt.ofService(svc.id)[0]!;
      const next = h.store.addDeployment(svc.id, { ...web, healthcheck_path: "/" });
      await h.rec.reconcileOnce();
      expect(h.store.dep(next.id).status).toBe("healthy");
      const newC = h.rt.ofService(svc.id).find((c) => c.labels[deploykit.LABEL_DEPLOYMENT_ID] === next.id)!;
      expect(newC.aliases).toEqual(["web"]);
      // Still running (removed on a later pass) but no longer resolvable by the name.
      expect(h.rt.containers.has(oldC.docker_id)).toBe(true);
      expect(oldC.aliases).toEqual([]);
      // It drains for drain_seconds (a client that resolved the name just before still gets an answer), then goes.
      if (seconds > 0) {
        h.clock.advance(seconds * 1000 - 1);
        await h.rec.reconcileOnce();
        expect(h.rt.containers.has(oldC.docker_id)).toBe(true);
        expect(h.store.rowsOf(svc.id)).toHaveLength(2);
      }
      h.clock.advance(1);
      await h.rec.reconcileOnce();
      expect(h.rt.containers.has(oldC.docker_id)).toBe(false);
    },
  );

  it("a renamed service's serving containers answer to the new name and keep the old one", async () => {
    const h = setup(() => ({ ok: true, status: 200 }));
    h.rt.startedAgoMs = 60_000;
    const svc = h.store.addService(h.project.id, "web");
    h.store.addDeployment(svc.id, { image: "app:1" });
    await h.rec.reconcileOnce();
    const c = h.rt.ofService(svc.id)[0]!;
    expect(c.aliases).toEqual(["web"]);
    await h.store.services.updateService(svc.id, { name: "front" });
    await h.rec.reconcileOnce();
    expect(c.aliases).toEqual(["web", "front"]);
  });
});
