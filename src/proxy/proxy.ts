import { join } from "node:path";
import Dockerode from "dockerode";
import * as deploykit from "../index.ts";
import { CaddyAdmin } from "./admin.ts";
import { buildConfig, canonicalJSON, routesOf } from "./caddy.ts";
import { LABEL_PROXY_SPEC, type ProxyContainerOptions, prepareProxyDir, proxyContainerSpec, proxySpec } from "./container.ts";
import { probeDomain } from "./probe.ts";

/** Active domains are re-checked this often (expiry, renewals); others on every sync. */
const ACTIVE_RECHECK_MS = 5 * 60_000;

export interface ProxyOptions extends ProxyContainerOptions {
  dockerSocket: string;
  domains: Pick<deploykit.DomainService, "findRoutes" | "findProjectNetworks" | "setDomainStatus">;
  settings: Pick<deploykit.SettingsService, "getSettings">;
  logger: deploykit.Logger;
  /** How often the proxy is checked and its config compared (ms). */
  intervalMs?: number;
  /** In-container PEM files the ACME client trusts (tests: Pebble's root). */
  acmeTrustedRoots?: string[];
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

  async #ensureContainer(): Promise<Dockerode.ContainerInspectInfo> {
    const c = this.#docker.getContainer(this.#o.containerName);
    let info: Dockerode.ContainerInspectInfo | null = await c.inspect().catch((err) => {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw err;
    });
    if (info && !deploykit.ownedBy(info.Config.Labels, this.#o.instanceID))
      throw deploykit.errorf(deploykit.ECONFLICT, `Container ${this.#o.containerName} exists and is not this instance's proxy.`);
    if (info && info.Config.Labels?.[LABEL_PROXY_SPEC] !== proxySpec(this.#o)) {
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
    prepareProxyDir(o);
    const spec = proxyContainerSpec(o);
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
      const upd = await probeDomain(this.#o.https.host, this.#httpsPort, r.domain, this.#routeLoadedAt.get(r.domain.hostname));
      this.#probes.set(r.domain.id, { at: now, status: upd.status });
      await this.#o.domains.setDomainStatus(r.domain.id, upd);
    }
  }
}
