import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { networkInterfaces } from "node:os";
import { gzipSync } from "node:zlib";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addressClass } from "../../src/index.ts";
import { Daemon } from "../harness/daemon.ts";
import { HOST_SOCKET } from "../harness/dockerd.ts";
import { removeInstanceObjects } from "../harness/images.ts";
import { apply, dbState, stageProject } from "../harness/invariants.ts";
import { sleep, waitFor } from "../harness/wait.ts";

// C08, registry SSRF: a reference whose registry is loopback, link-local, private or one of the
// host's own addresses is refused when staged (422 on `image`), on every staging route, and dockerd
// is never asked to pull it: no request reaches a registry listening there and Docker reports no
// image event. The control: the same registry, once an admin allow-lists it, is pulled from (the
// registry sees the requests, Docker reports the pull), so the test would see a pull if one happened.

const docker = new Docker({ socketPath: HOST_SOCKET });
/** A registry error message that would be a record of its own (and rewrite the terminal line) if logged raw. */
const FORGERY = '\n{"level":50,"msg":"forged"}\r\u001b[2K12:00:00.000 ERROR forged';
const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** A one-file tar archive (ustar), the layer of the fake registry's image. */
function tarOf(name: string, content: string): Buffer {
  const data = Buffer.from(content);
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write("0000644\0", 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  h.write(`${data.length.toString(8).padStart(11, "0")}\0`, 124);
  h.write("00000000000\0", 136);
  h.write("        ", 148);
  h.write("0", 156);
  h.write("ustar\0", 257);
  h.write("00", 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad, Buffer.alloc(1024)]);
}

/** The smallest registry dockerd pulls from: /v2/, one manifest for any name and tag, two blobs. Records every request. */
function fakeRegistry(): { server: Server; requests: string[] } {
  const tar = tarOf("hello.txt", "hi\n");
  const layer = gzipSync(tar);
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [sha(tar)] } }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: { mediaType: "application/vnd.docker.container.image.v1+json", size: config.length, digest: sha(config) },
      layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: layer.length, digest: sha(layer) }],
    }),
  );
  const blobs = new Map([
    [sha(config), config],
    [sha(layer), layer],
  ]);
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const url = req.url ?? "";
    const send = (type: string, body: Buffer, extra: Record<string, string> = {}) => {
      res.writeHead(200, { "content-type": type, "content-length": body.length, ...extra });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (url === "/v2/") return send("application/json", Buffer.from("{}"));
    // B12: a registry that answers with a message made to forge a log record (dockerd passes it on).
    if (url.startsWith("/v2/dk-b12/")) {
      const body = Buffer.from(JSON.stringify({ errors: [{ code: "DENIED", message: FORGERY }] }));
      res.writeHead(403, { "content-type": "application/json", "content-length": body.length });
      return res.end(req.method === "HEAD" ? undefined : body);
    }
    if (/\/manifests\//.test(url))
      return send("application/vnd.docker.distribution.manifest.v2+json", manifest, { "docker-content-digest": sha(manifest) });
    const blob = /\/blobs\/(sha256:[0-9a-f]+)$/.exec(url)?.[1];
    if (blob && blobs.has(blob)) return send("application/octet-stream", blobs.get(blob) as Buffer, { "docker-content-digest": blob });
    res.writeHead(404).end();
  });
  return { server, requests };
}

/** Image events Docker recorded between `since` (ms) and now. */
async function imageEvents(since: number): Promise<{ Action: string; id: string }[]> {
  const stream = (await docker.getEvents({
    since: Math.floor(since / 1000),
    until: Math.ceil(Date.now() / 1000),
    filters: { type: ["image"] },
  })) as unknown as NodeJS.ReadableStream;
  let text = "";
  for await (const chunk of stream) text += chunk.toString();
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
}

/** A non-loopback IPv4 address of this host (the registry listens on every interface). */
function ownAddress(): string {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  throw new Error("no non-loopback IPv4 address on this host");
}

let d: Daemon;
let registry: ReturnType<typeof fakeRegistry>;
let port = 0;
let projectID = "";
let serviceID = "";

beforeAll(async () => {
  execFileSync("bash", ["scripts/test-images.sh"], { stdio: "inherit" });
  registry = fakeRegistry();
  await new Promise<void>((r) => registry.server.listen(0, "0.0.0.0", r));
  port = (registry.server.address() as { port: number }).port;
  d = await Daemon.start();
  const p = await stageProject(d, "c08", [{ name: "web", image: "deploykit-test/greeter:1" }]);
  projectID = p.id;
  await apply(d, projectID);
  serviceID = dbState(d).services.find((s) => s.project_id === projectID)?.id as string;
});

afterAll(async () => {
  if (d) {
    const instance = d.instanceID();
    await d.stop();
    await removeInstanceObjects(HOST_SOCKET, instance);
    await d.destroy();
  }
  registry?.server.close();
  for (const img of await docker.listImages({ filters: { reference: [`127.0.0.1:${port}/*/*`] } }))
    await docker
      .getImage(img.Id)
      .remove({ force: true })
      .catch(() => {});
});

describe("registry SSRF (C08)", () => {
  it("refuses loopback, link-local, private and host-own registries on every staging route, and nothing is pulled", async () => {
    const since = Date.now();
    const own = ownAddress();
    const refused = [
      [`127.0.0.1:${port}/dk-c08/refused:1`, "a loopback address"],
      [`localhost:${port}/dk-c08/refused:1`, "a loopback address"],
      [`127.1:${port}/dk-c08/refused:1`, "a loopback address"],
      // A cloud VM's own address is often private too; then that is what the message says.
      [`${own}:${port}/dk-c08/refused:1`, addressClass(own) ?? "this host's own address"],
      ["169.254.169.254/latest", "a link-local address"],
      ["10.0.0.1:5000/x", "a private address"],
      ["192.168.0.1:5000/x", "a private address"],
    ] as const;
    for (const [image, kind] of refused) {
      const routes = [
        d.request("POST", `/api/projects/${projectID}/services`, { body: { name: "ssrf", image } }),
        d.request("PATCH", `/api/projects/${projectID}/services/${serviceID}`, { body: { image } }),
        d.request("POST", `/api/projects/${projectID}/services/${serviceID}/deployments`, { body: { image } }),
      ];
      for (const r of await Promise.all(routes)) {
        expect(r.status, `${image}: ${r.text}`).toBe(422);
        expect(r.body.error).toBe("invalid");
        expect(r.body.errors?.image?.[0], image).toContain(`is ${kind};`);
      }
    }
    expect(dbState(d).pending.filter((c) => c.project_id === projectID)).toEqual([]);
    expect((await apply(d, projectID)).applied_count).toBe(0);
    // Two resync periods (the daemon's is 2 s) for anything that would pull to show itself.
    await sleep(5_000);
    expect(registry.requests).toEqual([]);
    expect(
      (await imageEvents(since)).filter((e) => e.id.includes("dk-c08") || e.id.includes("169.254") || e.id.includes("10.0.0.1")),
    ).toEqual([]);
  });

  it("pulls from the same registry once an admin allow-lists it (the control: a pull would have been seen)", async () => {
    const since = Date.now();
    const settings = await d.must("PATCH", "/api/settings", 200, { body: { registry_allowlist: [`127.0.0.1:${port}`] } });
    expect(settings.registry_allowlist).toEqual([`127.0.0.1:${port}`]);
    const image = `127.0.0.1:${port}/dk-c08/allowed:1`;
    await d.must("PATCH", `/api/projects/${projectID}/services/${serviceID}`, 200, { body: { image } });
    await apply(d, projectID);
    await waitFor(() => registry.requests.some((r) => r.includes("/blobs/")), { timeoutMs: 30_000, what: "the registry to serve a blob" });
    const pulls = await waitFor(
      async () => {
        const found = (await imageEvents(since)).filter((e) => e.Action === "pull" && e.id === image);
        return found.length > 0 && found;
      },
      { timeoutMs: 30_000, what: "Docker's pull event" },
    );
    expect(pulls[0]?.id).toBe(image);
    expect(registry.requests.some((r) => r.includes("/dk-c08/refused/"))).toBe(false);
  });
});

describe("the daemon's own log cannot be forged by a registry's error text (B12)", () => {
  const failures = (lines: string[], name: string) =>
    lines.filter((l) => l.includes("deployment attempt failed") && l.includes(`dk-b12/${name}`));
  /** Stages `image` on a fresh project of `daemon` (registry allow-listed), applies, waits for the logged failure. */
  async function failPull(daemon: Daemon, name: string): Promise<string[]> {
    await daemon.must("PATCH", "/api/settings", 200, { body: { registry_allowlist: [`127.0.0.1:${port}`] } });
    const p = await stageProject(daemon, name, [{ name: "web", image: `127.0.0.1:${port}/dk-b12/${name}:1` }]);
    await apply(daemon, p.id);
    await waitFor(() => failures(daemon.log().split("\n"), name).length > 0, { timeoutMs: 30_000, what: "the failed pull to be logged" });
    return daemon.log().split("\n");
  }

  it("json: the registry's message stays inside one JSON record", async () => {
    const lines = await failPull(d, "b12json");
    const failed = failures(lines, "b12json");
    expect(failed.length).toBeGreaterThan(0);
    for (const l of lines) {
      expect(l).not.toMatch(/^\{"level":50,"msg":"forged"/);
      expect(l).not.toMatch(/^12:00:00\.000 ERROR forged/);
      if (!l.startsWith("{")) continue;
      const rec = JSON.parse(l);
      expect(rec.msg).not.toBe("forged");
    }
    const rec = JSON.parse(failed[0] as string);
    // The message reached the log (so the test would see a forgery), as data inside the record.
    expect(rec.reason).toContain('{"level":50,"msg":"forged"}');
  });

  it("text: the registry's message is escaped on its record's line", async () => {
    const t = await Daemon.start({ args: ["-log-format", "text"], env: { NO_COLOR: "1" } });
    try {
      const lines = await failPull(t, "b12text");
      const failed = failures(lines, "b12text");
      expect(failed.length).toBeGreaterThan(0);
      expect(failed[0]).toContain('\\n{\\"level\\":50,\\"msg\\":\\"forged\\"}\\r\\u001b[2K12:00:00.000 ERROR forged');
      for (const l of lines) {
        expect(l).not.toMatch(/^\{"level":50/);
        expect(l).not.toMatch(/^12:00:00\.000 ERROR forged/);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence.
        expect(l).not.toMatch(/[\r\u001b]/);
      }
    } finally {
      const instance = t.instanceID();
      await t.stop();
      await removeInstanceObjects(HOST_SOCKET, instance);
      await t.destroy();
    }
  });
});
