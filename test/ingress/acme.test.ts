/**
 * The full ACME flow (issue 12) with real components: Pebble (Let's Encrypt's RFC 8555 test CA,
 * Debian's package, in deploykit-test/caddy:1) on a test network, the proxy joined to it under the
 * domain's name, so Pebble's HTTP-01/TLS-ALPN-01 validation reaches the proxy. The proxy orders a real
 * certificate from the directory set in the admin settings; the domain turns active with Pebble's issuer.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../src/http/index.ts";
import type * as deploykit from "../../src/index.ts";
import { Daemon, freePort } from "../harness/daemon.ts";
import { waitFor } from "../harness/wait.ts";

/** Debian's pebble ships in the proxy's test image (scripts/test-images.sh). */
const PEBBLE_IMAGE = "deploykit-test/caddy:1";
const docker = new Docker();
const tag = randomBytes(4).toString("hex");
const container = `dk-test-proxy-${tag}`;
const network = `acme-test-${tag}`;
const hostname = `shop-${tag}.acme.test`;
const dir = mkdtempSync(join(tmpdir(), "dk-acme-"));
let d: Daemon;
let c: Client;
let httpsPort = 0;
let mgmtPort = 0;
let instanceID = "";
let pebble: Docker.Container | null = null;

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
}

beforeAll(async () => {
  execFileSync("bash", ["scripts/test-images.sh"], { stdio: "inherit" });
  // Pebble's own HTTPS (directory and management) with a certificate from a throwaway CA the proxy trusts.
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "root.pem",
    "-days",
    "2",
    "-subj",
    "/CN=dk test CA",
  );
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "req.csr", "-subj", "/CN=pebble");
  writeFileSync(join(dir, "ext.cnf"), "subjectAltName=DNS:pebble,DNS:localhost,IP:127.0.0.1\n");
  openssl(
    "x509",
    "-req",
    "-in",
    "req.csr",
    "-CA",
    "root.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "cert.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  );
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify({
      pebble: {
        listenAddress: "0.0.0.0:14000",
        managementListenAddress: "0.0.0.0:15000",
        certificate: "/pebble/cert.pem",
        privateKey: "/pebble/key.pem",
        httpPort: 80,
        tlsPort: 443,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );
  execFileSync("chmod", ["-R", "a+rX", dir]);
  await docker.createNetwork({ Name: network, Driver: "bridge" });
  mgmtPort = await freePort();
  pebble = await docker.createContainer({
    name: `dk-test-pebble-${tag}`,
    Image: PEBBLE_IMAGE,
    Cmd: ["pebble", "-config", "/pebble/config.json"],
    Env: ["PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"],
    ExposedPorts: { "15000/tcp": {} },
    HostConfig: {
      Binds: [`${dir}:/pebble:ro`],
      NetworkMode: network,
      PortBindings: { "15000/tcp": [{ HostIp: "127.0.0.1", HostPort: String(mgmtPort) }] },
    },
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: ["pebble"] } } },
  });
  await pebble.start();

  httpsPort = await freePort();
  d = await Daemon.start({
    proxy: { httpPort: await freePort(), httpsPort, container },
    env: { DEPLOYKIT_TEST_PROXY_TRUST_DIR: dir },
  });
  c = new Client(d.url, { token: d.token });
  instanceID = d.instanceID();
  // Pebble validates the name at the proxy: the proxy answers to it on Pebble's network.
  await waitFor(
    async () =>
      (
        await docker
          .getContainer(container)
          .inspect()
          .catch(() => null)
      )?.State.Running,
    {
      timeoutMs: 60_000,
      what: "the proxy container",
    },
  );
  await docker.getNetwork(network).connect({ Container: container, EndpointConfig: { Aliases: [hostname] } });
});

afterAll(async () => {
  await d?.stop();
  if (instanceID) {
    const label = [`deploykit.instance=${instanceID}`];
    for (const x of await docker.listContainers({ all: true, filters: { label } })) await docker.getContainer(x.Id).remove({ force: true });
    for (const n of await docker.listNetworks({ filters: { label } }))
      await docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => {});
  }
  await pebble?.remove({ force: true }).catch(() => {});
  await docker
    .getNetwork(network)
    .remove()
    .catch(() => {});
  await d?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function get(opts: {
  port: number;
  path: string;
  servername?: string;
  host?: string;
  ca: string;
}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: opts.port,
        path: opts.path,
        ca: opts.ca,
        timeout: 5000,
        ...(opts.servername ? { servername: opts.servername, headers: { host: opts.host ?? opts.servername } } : {}),
      },
      (res) => {
        let body = "";
        res.on("data", (b: Buffer) => {
          body += b.toString("utf8");
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

describe("ACME", () => {
  it("orders a certificate from the admin's ACME directory, validated by Pebble at the proxy (HTTP-01 or TLS-ALPN-01), and serves the domain with it", async () => {
    await c.updateSettings({ acme_directory: "https://pebble:14000/dir", acme_email: "ops@example.com" });
    const p = await c.createProject(`acme ${tag}`);
    await c.createService(p.id, {
      name: "web",
      image: "deploykit-test/greeter:1",
      ports: [{ container_port: 8080 }],
      env_vars: [{ key: "GREETING", value: "acme" }],
    });
    await c.deploy(p.id);
    const svc = (await c.findServices(p.id)).items[0] as deploykit.Service;
    await c.createDomain(p.id, svc.id, { hostname });
    await c.deploy(p.id);

    const active = await waitFor(
      async () => {
        const [dom] = await c.findDomains(p.id, svc.id);
        return dom?.status === "active" ? dom : null;
      },
      { timeoutMs: 120_000, intervalMs: 1000, what: "the ACME domain to be active" },
    );
    expect(active).toMatchObject({ hostname, tls: "acme", last_error: null });
    expect(active.cert_issuer).toMatch(/^Pebble Intermediate CA/);

    // The served chain verifies against Pebble's root (from its management API).
    const root = (await get({ port: mgmtPort, path: "/roots/0", ca: execFileSync("cat", [join(dir, "root.pem")]).toString() })).body;
    expect(root).toMatch(/BEGIN CERTIFICATE/);
    const res = await waitFor(
      async () => {
        const r = await get({ port: httpsPort, path: "/", servername: hostname, ca: root }).catch(() => null);
        return r?.status === 200 ? r : null;
      },
      { timeoutMs: 30_000, what: "the greeting over the ACME certificate" },
    );
    expect(res.body.trim()).toBe("acme");
  });
});
