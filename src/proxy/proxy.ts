import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import * as tls from "node:tls";
import Dockerode from "dockerode";
import * as deploykit from "../index.ts";
import { CaddyAdmin } from "./admin.ts";
import { buildConfig, canonicalJSON, INITIAL_CONFIG_IN_CONTAINER, initialConfig, MOUNT, routesOf } from "./caddy.ts";

export const DEFAULT_PROXY_IMAGE = "caddy:2";
export const DEFAULT_PROXY_CONTAINER = "deploykit-proxy";
export const LABEL_PROXY_SPEC = "deploykit.proxy-spec";
/** An ACME certificate may take this long before a failing handshake counts as an error. */
const ISSUE_GRACE_MS = 10 * 60_000;
const PROBE_TIMEOUT_MS = 5_000;
/** Active domains are re-checked this often (expiry, renewals); others on every sync. */
const ACTIVE_RECHECK_MS = 5 * 60_000;

export interface ListenAddr {
  /** "" = every interface. */
  host: string;
  /** 0 = a free port Docker picks. */
  port: number;
}

export interface ProxyOptions {
  dockerSocket: string;
  instanceID: string;
  image: string;
  /** The container's name (default deploykit-proxy; tests running several daemons on one dockerd give their own). */
  containerName: string;
  http: ListenAddr;
  https: ListenAddr;
  /** Daemon-owned directory (created 0700): the admin socket, the initial config and Caddy's data (certificates, CA). */
  dir: string;
  domains: Pick<deploykit.DomainService, "findRoutes" | "findProjectNetworks" | "setDomainStatus">;
  settings: Pick<deploykit.SettingsService, "getSettings">;
  logger: deploykit.Logger;
  /** How often the proxy is checked and its config compared (ms). */
  intervalMs?: number;
  /** In-container PEM files the ACME client trusts (tests: Pebble's root). */
  acmeTrustedRoots?: string[];
  /** Host directory mounted read-only at /deploykit-trust in the proxy (tests: Pebble's root). */
  trustDir?: string;
}

interface Probe {
  at: number;
  status: deploykit.DomainStatus;
}

/**
 * The Caddy data plane: one container, configured only through its admin API on a unix socket in
 * a directory only the daemon owns. The container outlives the daemon: on start it is adopted (its
 * running config is read back, so routes keep their upstreams until the reconciler reports new
 * ones) and a config is pushed only when it differs from what the proxy runs.
 */
export class CaddyProxy implements deploykit.IngressRoutes, deploykit.ProxyControl {
  readonly #o: ProxyOptions;
  readonly #docker: Dockerode;
  readonly #admin: CaddyAdmin;
  readonly #log: deploykit.Logger;
  /**
   * Serving container addresses per service, from the reconciler (or the adopted config's dial
   * names until it reports): a service listed here serves, and its routes dial its proxy alias.
   */
  readonly #hosts = new Map<string, string[]>();
  /** When each service's route last moved away from some container. */
  readonly #switchedAt = new Map<string, number>();
  readonly #routeLoadedAt = new Map<string, number>();
  readonly #probes = new Map<string, Probe>();
  #servicesWithDomains = new Set<string>();
  #pushed: string | null = null;
  #containerID: string | null = null;
  #httpsPort = 0;
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #failures = 0;
  /** Counts /load calls (tests: an adopted proxy with an unchanged config gets none). */
  loads = 0;

  constructor(o: ProxyOptions) {
    this.#o = o;
    this.#docker = new Dockerode({ socketPath: o.dockerSocket, timeout: 60_000 });
    this.#admin = new CaddyAdmin(join(o.dir, "admin", "admin.sock"));
    this.#log = o.logger;
  }

  get containerID(): string | null {
    return this.#containerID;
  }

  /** The host port the proxy's HTTPS listener is published on (known once the container runs). */
  get httpsPort(): number {
    return this.#httpsPort;
  }

  /**
   * First sync (adopting or creating the container; not awaited: an image pull must not hold up the
   * daemon), then one every intervalMs. Never throws.
   */
  start(): void {
    void this.sync();
    const tick = () => {
      if (this.#closed) return;
      void this.sync().finally(() => {
        // A proxy that keeps failing (no image, a port taken) is retried less and less often, up to a minute.
        const every = (this.#o.intervalMs ?? 2000) * 2 ** Math.min(this.#failures, 5);
        if (!this.#closed) this.#timer = setTimeout(tick, Math.min(every, 60_000));
        this.#timer?.unref();
      });
    };
    this.#timer = setTimeout(tick, this.#o.intervalMs ?? 2000);
    this.#timer.unref();
  }

  /** Stops managing; the container keeps serving (the data plane survives the daemon). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#chain.catch(() => {});
  }

  async setServiceUpstreams(serviceID: string, hosts: string[]): Promise<void> {
    const next = [...new Set(hosts)].sort();
    const prev = this.#hosts.get(serviceID);
    if (prev && prev.length === next.length && prev.every((h, i) => h === next[i])) return;
    if (prev?.some((h) => !next.includes(h))) this.#switchedAt.set(serviceID, Date.now());
    if (next.length === 0) this.#hosts.delete(serviceID);
    else this.#hosts.set(serviceID, next);
    // Routes dial the service's alias, so the config changes only when the service starts or stops
    // serving; the reload is awaited, the certificate checks are not.
    const servingChanged = (prev !== undefined) !== next.length > 0;
    if (servingChanged && this.#servicesWithDomains.has(serviceID)) await this.sync(false);
  }

  drainLeftMs(serviceID: string, seconds: number): number {
    if (!this.#servicesWithDomains.has(serviceID)) return 0;
    const at = this.#switchedAt.get(serviceID);
    if (at === undefined) return 0;
    return Math.max(0, at + seconds * 1000 - Date.now());
  }

  async rootCertificate(): Promise<string> {
    return this.#admin.rootCertificate();
  }

  /** One serialized round: container, networks, config, then (`probe`) domain statuses. Errors are logged, never thrown. */
  sync(probe = true): Promise<void> {
    const run = this.#chain.then(() => this.#syncOnce(probe));
    this.#chain = run.catch(() => {});
    return this.#chain;
  }

  async #syncOnce(probe: boolean): Promise<void> {
    if (this.#closed) return;
    try {
      const info = await this.#ensureContainer();
      await this.#ensureNetworks(info);
      const routes = await this.#o.domains.findRoutes();
      this.#servicesWithDomains = new Set(routes.map((r) => r.domain.service_id));
      await this.#push(routes);
      if (probe) await this.#probeAll(routes);
      this.#failures = 0;
    } catch (err) {
      this.#failures++;
      this.#log.warn({ err: deploykit.errorMessage(err), failures: this.#failures }, "proxy sync failed; retrying");
    }
  }

  #spec(): string {
    const o = this.#o;
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    return createHash("sha256")
      .update(JSON.stringify([o.image, o.http, o.https, o.dir, uid, gid, o.trustDir ?? ""]))
      .digest("hex")
      .slice(0, 16);
  }

  async #ensureContainer(): Promise<Dockerode.ContainerInspectInfo> {
    const c = this.#docker.getContainer(this.#o.containerName);
    let info: Dockerode.ContainerInspectInfo | null = await c.inspect().catch((err) => {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw err;
    });
    if (info && !deploykit.ownedBy(info.Config.Labels, this.#o.instanceID))
      throw deploykit.errorf(deploykit.ECONFLICT, `Container ${this.#o.containerName} exists and is not this instance's proxy.`);
    if (info && info.Config.Labels?.[LABEL_PROXY_SPEC] !== this.#spec()) {
      this.#log.info({ container: this.#o.containerName }, "proxy settings changed (image, addresses); recreating the proxy");
      await c.remove({ force: true });
      info = null;
    }
    if (info && !info.State.Running) {
      this.#log.warn({ container: this.#o.containerName, status: info.State.Status }, "proxy not running; starting it");
      try {
        await c.start();
        info = await c.inspect();
      } catch (err) {
        this.#log.warn({ err: deploykit.errorMessage(err) }, "proxy did not start; recreating it");
        await c.remove({ force: true }).catch(() => {});
        info = null;
      }
    }
    let created = false;
    if (!info) {
      info = await this.#create();
      created = true;
      this.#pushed = null;
    }
    if (this.#containerID !== info.Id) {
      if (!created) this.#log.info({ container: this.#o.containerName, id: info.Id.slice(0, 12) }, "proxy adopted");
      this.#containerID = info.Id;
      this.#pushed = null;
    }
    this.#httpsPort = Number(info.NetworkSettings.Ports?.["443/tcp"]?.[0]?.HostPort ?? 0);
    return info;
  }

  async #create(): Promise<Dockerode.ContainerInspectInfo> {
    const o = this.#o;
    const admin = join(o.dir, "admin");
    for (const d of [o.dir, admin, join(o.dir, "data"), join(o.dir, "config")]) {
      mkdirSync(d, { recursive: true, mode: 0o700 });
      chmodSync(d, 0o700);
    }
    // A socket left by a previous container would make Caddy's listen fail.
    rmSync(join(admin, "admin.sock"), { force: true });
    writeFileSync(join(admin, "caddy.json"), JSON.stringify(initialConfig()), { mode: 0o600 });
    const binds = [`${o.dir}:${MOUNT}`];
    if (o.trustDir) binds.push(`${o.trustDir}:/deploykit-trust:ro`);
    const spec: Dockerode.ContainerCreateOptions = {
      name: o.containerName,
      Image: o.image,
      // --resume: a proxy restarted by Docker comes back with the last config the daemon pushed.
      Cmd: ["caddy", "run", "--resume", "--config", INITIAL_CONFIG_IN_CONTAINER],
      // The daemon's own user: the socket and data stay the daemon's; no root in the proxy.
      User: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
      Env: [`HOME=${MOUNT}`, `XDG_DATA_HOME=${MOUNT}/data`, `XDG_CONFIG_HOME=${MOUNT}/config`],
      Labels: { ...deploykit.instanceLabels(o.instanceID), [LABEL_PROXY_SPEC]: this.#spec(), "deploykit.role": "proxy" },
      ExposedPorts: { "80/tcp": {}, "443/tcp": {} },
      HostConfig: {
        Binds: binds,
        PortBindings: {
          "80/tcp": [{ HostIp: o.http.host, HostPort: o.http.port === 0 ? "" : String(o.http.port) }],
          "443/tcp": [{ HostIp: o.https.host, HostPort: o.https.port === 0 ? "" : String(o.https.port) }],
        },
        RestartPolicy: { Name: "unless-stopped" },
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        Sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" },
      },
    };
    let created: Dockerode.Container;
    try {
      created = await this.#docker.createContainer(spec);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      this.#log.info({ image: o.image }, "pulling the proxy image");
      await this.#pull(o.image);
      created = await this.#docker.createContainer(spec);
    }
    try {
      await created.start();
    } catch (err) {
      await created.remove({ force: true }).catch(() => {});
      throw err;
    }
    this.#log.info({ container: o.containerName, image: o.image }, "proxy container created");
    // Caddy opens its admin socket within moments; the first push waits for it rather than failing a round.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (
        await this.#admin.getConfig().then(
          () => true,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return created.inspect();
  }

  async #pull(image: string): Promise<void> {
    const stream = await this.#docker.pull(image);
    await new Promise<void>((resolve, reject) =>
      this.#docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
    );
  }

  /** Joins every project network (names resolve, addresses route) and leaves those of deleted projects. */
  async #ensureNetworks(info: Dockerode.ContainerInspectInfo): Promise<void> {
    const want = new Set(await this.#o.domains.findProjectNetworks());
    const have = new Set(Object.keys(info.NetworkSettings.Networks ?? {}));
    for (const name of want) {
      if (have.has(name)) continue;
      try {
        await this.#docker.getNetwork(name).connect({ Container: info.Id });
      } catch (err) {
        // The reconciler creates project networks; a missing one is joined on a later round.
        const code = (err as { statusCode?: number }).statusCode;
        if (code !== 404) this.#log.warn({ network: name, err: deploykit.errorMessage(err) }, "proxy could not join a network");
      }
    }
    for (const name of have) {
      if (want.has(name) || !name.startsWith("dk-")) continue;
      await this.#docker
        .getNetwork(name)
        .disconnect({ Container: info.Id, Force: true })
        .catch(() => {});
    }
  }

  async #push(routes: deploykit.DomainRoute[]): Promise<void> {
    if (this.#pushed === null) await this.#adopt(routes);
    const settings = await this.#o.settings.getSettings();
    const input = {
      routes: routes.map((r) => ({
        hostname: r.domain.hostname,
        tls: r.domain.tls,
        // The serving containers answer to the service's proxy alias, moved at promotion: a
        // switch-over changes no config, so no load closes client connections.
        upstreams: this.#hosts.has(r.domain.service_id) ? [`${deploykit.proxyAlias(r.domain.service_id)}:${r.domain.target_port}`] : [],
      })),
      acmeEmail: settings.acme_email,
      acmeDirectory: settings.acme_directory,
      ...(this.#o.acmeTrustedRoots ? { acmeTrustedRoots: this.#o.acmeTrustedRoots } : {}),
    };
    const config = buildConfig(input);
    const want = canonicalJSON(config);
    if (want === this.#pushed) return;
    const running = canonicalJSON(await this.#admin.getConfig());
    if (running !== want) {
      await this.#admin.load(config);
      this.loads++;
      this.#log.info({ domains: routes.length }, "proxy config loaded");
    }
    this.#pushed = want;
    const now = Date.now();
    const current = new Set(routes.map((r) => r.domain.hostname));
    for (const h of current) if (!this.#routeLoadedAt.has(h)) this.#routeLoadedAt.set(h, now);
    for (const h of [...this.#routeLoadedAt.keys()]) if (!current.has(h)) this.#routeLoadedAt.delete(h);
  }

  /**
   * Reads the running proxy's config back (after a daemon restart): each service keeps the
   * upstreams its routes dial until the reconciler reports the containers serving now.
   */
  async #adopt(routes: deploykit.DomainRoute[]): Promise<void> {
    const running = await this.#admin.getConfig();
    const dials = routesOf(running);
    for (const r of routes) {
      if (this.#hosts.has(r.domain.service_id)) continue;
      const list = dials.get(r.domain.hostname);
      if (!list || list.length === 0) continue;
      const hosts = list.map((d) => d.slice(0, d.lastIndexOf(":")));
      this.#hosts.set(r.domain.service_id, [...new Set(hosts)].sort());
    }
    this.#pushed = "";
  }

  async #probeAll(routes: deploykit.DomainRoute[]): Promise<void> {
    if (this.#httpsPort === 0) return;
    const now = Date.now();
    for (const r of routes) {
      const prev = this.#probes.get(r.domain.id);
      const due =
        r.domain.status !== deploykit.DOMAIN_ACTIVE ||
        !prev ||
        prev.status !== deploykit.DOMAIN_ACTIVE ||
        now - prev.at > ACTIVE_RECHECK_MS;
      if (!due) continue;
      const upd = await this.#probe(r.domain);
      this.#probes.set(r.domain.id, { at: now, status: upd.status });
      await this.#o.domains.setDomainStatus(r.domain.id, upd);
    }
  }

  /** A TLS handshake with the hostname's SNI through the published HTTPS port: the served certificate decides. */
  async #probe(d: deploykit.ServiceDomain): Promise<deploykit.DomainStatusUpdate> {
    const host =
      this.#o.https.host === "" || this.#o.https.host === "0.0.0.0" || this.#o.https.host === "::" ? "127.0.0.1" : this.#o.https.host;
    try {
      const cert = await new Promise<tls.PeerCertificate>((resolve, reject) => {
        const opts: tls.ConnectionOptions = { host, port: this.#httpsPort, rejectUnauthorized: false, timeout: PROBE_TIMEOUT_MS };
        if (isIP(d.hostname) === 0) opts.servername = d.hostname;
        const s = tls.connect(opts, () => {
          const c = s.getPeerCertificate();
          s.destroy();
          resolve(c);
        });
        s.on("timeout", () => s.destroy(new Error("TLS handshake timed out")));
        s.on("error", reject);
      });
      if (!cert?.subject) throw new Error("the proxy served no certificate");
      const names = (cert.subjectaltname ?? "").split(",").map((n) => n.trim().replace(/^(DNS|IP Address):/, ""));
      if (!names.includes(d.hostname)) throw new Error(`the proxy served a certificate for ${names.join(", ") || "other names"}`);
      const issuer = cert.issuer?.CN;
      return {
        status: deploykit.DOMAIN_ACTIVE,
        cert_issuer: (Array.isArray(issuer) ? issuer[0] : issuer) ?? null,
        cert_expires_at: new Date(cert.valid_to).toISOString(),
        last_error: null,
      };
    } catch (err) {
      const msg = deploykit.errorMessage(err);
      const loaded = this.#routeLoadedAt.get(d.hostname) ?? Date.now();
      const waiting = d.tls === deploykit.TLS_ACME && Date.now() - loaded < ISSUE_GRACE_MS;
      return { status: waiting ? deploykit.DOMAIN_PENDING : deploykit.DOMAIN_ERROR, last_error: `TLS handshake failed: ${msg}` };
    }
  }
}
