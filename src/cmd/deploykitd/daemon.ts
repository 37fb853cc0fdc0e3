import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as build from "../../build/index.ts";
import * as docker from "../../docker/index.ts";
import { EventBus } from "../../events/index.ts";
import { IptablesFirewall } from "../../firewall/index.ts";
import { Prometheus, Server } from "../../http/index.ts";
import type * as deploykit from "../../index.ts";
import { PortForwarder } from "../../ingress/index.ts";
import { Collector } from "../../metrics/index.ts";
import { CaddyProxy } from "../../proxy/index.ts";
import { CronScheduler, Reconciler } from "../../reconciler/index.ts";
import * as sqlite from "../../sqlite/index.ts";
import { hostAddresses, SystemService } from "../../sysinfo/index.ts";
import { type Config, splitAddr, VERSION } from "./config.ts";
import { tightenDataModes } from "./file-modes.ts";
import { capYoungGeneration, resumeOptimizers, trimWhenIdle } from "./idle-memory.ts";
import { SetupToken, setupURL } from "./setup-token.ts";

export const SESSION_PURGE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * The built SPA: `dist/public` next to the compiled server (dist/server/cmd/deploykitd/main.js), or
 * the repository's dist/public when running from source.
 */
export function defaultSPADir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, "../../../public"), resolve(here, "../../../dist/public")];
  return candidates.find((d) => existsSync(join(d, "index.html"))) ?? (candidates[0] as string);
}

export interface DaemonOptions {
  logger: deploykit.Logger;
  env?: NodeJS.ProcessEnv;
}

export interface Daemon {
  readonly port: number;
  readonly instanceID: string;
  /** Graceful stop: close WebSockets and SSE, stop the reconciler, close the database. Idempotent. */
  close(): Promise<void>;
}

/** Test builds only: DEPLOYKIT_FAULT_POINT names a step at which the process kills itself. */
function faultPointFromEnv(env: NodeJS.ProcessEnv): ((name: string) => void) | undefined {
  const point = env.NODE_ENV === "test" ? env.DEPLOYKIT_FAULT_POINT : undefined;
  if (!point) return undefined;
  return (name: string) => {
    if (name === point) process.kill(process.pid, "SIGKILL");
  };
}

/**
 * Starts the daemon holding its data directory's lock (created 0700 when missing): a second daemon on
 * the same data directory refuses to start; the lock of one that was killed dies with it.
 */
export async function startDaemon(cfg: Config, opts: DaemonOptions): Promise<Daemon> {
  let lock: sqlite.DataDirLock | null = null;
  if (cfg.db !== ":memory:") {
    sqlite.ensureDataDir(cfg.dataDir);
    lock = sqlite.DataDirLock.acquire(cfg.dataDir, "daemon");
    if (lock.stale)
      opts.logger.warn(
        { previous: lock.stale, lock: lock.path },
        `${sqlite.describeOwner(lock.stale)} did not stop cleanly; its lock died with it and is taken over`,
      );
  }
  let d: Daemon;
  try {
    d = await startServing(cfg, opts);
  } catch (err) {
    lock?.release();
    throw err;
  }
  let closing: Promise<void> | null = null;
  return {
    port: d.port,
    instanceID: d.instanceID,
    close() {
      closing ??= d.close().finally(() => lock?.release());
      return closing;
    },
  };
}

/**
 * Wires every implementation together and starts serving (the startup order of original §13, with
 * Docker optional: an unreachable daemon is reported, retried by the reconciler, never fatal).
 */
async function startServing(cfg: Config, opts: DaemonOptions): Promise<Daemon> {
  const { logger } = opts;
  const env = opts.env ?? process.env;
  const faultPoint = faultPointFromEnv(env);
  const startedAt = new Date();

  // The bus exists before the database because the database publishes service events on it.
  const bus = new EventBus({ logger: logger.child({ component: "bus" }) });
  const loose = tightenDataModes(cfg.dataDir, cfg.db);
  // An in-memory database keeps a random key for its lifetime; a file's key outlives the process.
  const secret = cfg.db === ":memory:" ? null : sqlite.loadSecretKey(cfg.dataDir, env.DEPLOYKIT_SECRET_KEY);
  if (secret?.created)
    logger.info({ file: secret.file }, "secret key created: back it up with the database, values cannot be read without it");
  const db = new sqlite.DB(cfg.db, {
    ...(secret ? { cipher: secret.cipher } : {}),
    bus,
    logger: logger.child({ component: "sqlite" }),
    backupBeforeMigrate: true,
    // Test builds only: a migration set with a broken step, to prove a failed upgrade changes nothing.
    ...(env.NODE_ENV === "test" && env.DEPLOYKIT_TEST_MIGRATIONS_DIR ? { migrationsDir: env.DEPLOYKIT_TEST_MIGRATIONS_DIR } : {}),
  });
  db.open();
  if (loose.length > 0) logger.warn({ files: loose }, "data files were readable by others; tightened");
  const settings = new sqlite.SettingsService(db);
  const instanceID = await settings.instanceID();
  logger.info({ db: cfg.db, instance_id: instanceID, version: VERSION }, "database open");

  const projects = new sqlite.ProjectService(db);
  const users = new sqlite.UserService(db);
  const auth = new sqlite.AuthService(db, { sessionMaxAgeMs: cfg.sessionMaxAgeMs });
  const services = new sqlite.ServiceService(db);
  const deployments = new sqlite.DeploymentService(db, { hostAddresses });
  const containers = new sqlite.ContainerService(db);
  const runs = new sqlite.ServiceRunService(db);
  const canvas = new sqlite.CanvasService(db);
  const envVars = new sqlite.EnvVarService(db);
  const domains = new sqlite.DomainService(db);
  const listenPort = splitAddr(cfg.addr).port;
  const reservedHostPorts = new Map(listenPort > 0 ? [[listenPort, "the DeployKit daemon listens on it"]] : []);
  const pendingChanges = new sqlite.PendingChangeService(db, {
    hostAddresses,
    reservedHostPorts,
    ...(faultPoint ? { faultPoint } : {}),
  });
  const setup = SetupToken.prepare(cfg.dataDir, await auth.canRegister());

  const dockerOpts: docker.ClientOptions = { instanceID, logger };
  if (env.DOCKER_HOST) dockerOpts.socketPath = docker.defaultSocketPath(env);
  const dk = new docker.Client(dockerOpts);
  const about = await dk.introspector.about();
  if (about.reachable) logger.info({ socket: dk.socketPath, version: about.server_version }, "docker reachable");
  else logger.warn({ socket: dk.socketPath, error: about.error }, "docker unreachable; starting degraded, the reconciler will retry");

  // One collector samples every running container; routes and /metrics read it, never Docker (issue 15).
  const metricsStore = new sqlite.MetricsStore(db);
  const collector = new Collector({
    runtime: dk.runtime,
    stats: dk.stats,
    store: metricsStore,
    bus,
    intervalMs: cfg.metricsIntervalMs,
    logger,
  });
  // The reconciler feeds the registry and the registry reads the reconciler's queue: bound after both exist.
  let queueDepth = (): number => 0;
  const prometheus: Prometheus | undefined = cfg.metricsEndpoint
    ? new Prometheus({ projects, services, deployments, collector, busDropped: () => bus.dropped, queueDepth: () => queueDepth() })
    : undefined;

  const forwarder = new PortForwarder({ logger: logger.child({ component: "forwarder" }) });
  // Workload isolation (C06): containers on DeployKit's networks cannot open connections to the
  // daemon's port on any host address. Re-applied when a network is created and on every resync.
  const firewall = cfg.isolate ? new IptablesFirewall({ instanceID, logger: logger.child({ component: "firewall" }) }) : null;
  let daemonPort = listenPort;
  let isolating: Promise<void> = Promise.resolve();
  const isolate = (): Promise<void> => {
    if (!firewall || daemonPort <= 0) return Promise.resolve();
    isolating = isolating.then(async () => {
      const nets = await dk.provisioner.listNetworks().catch(() => null);
      if (nets)
        await firewall.isolate(
          nets.flatMap((n) => n.subnets ?? []),
          [daemonPort],
        );
    });
    return isolating;
  };
  // The proxy's directory is the daemon's own (never user input): admin socket, initial config, certificates.
  const proxy = cfg.proxy.enabled
    ? new CaddyProxy({
        dockerSocket: dk.socketPath,
        instanceID,
        image: cfg.proxy.image,
        containerName: cfg.proxy.container,
        http: splitAddr(cfg.proxy.httpAddr),
        https: splitAddr(cfg.proxy.httpsAddr),
        dir: resolve(cfg.dataDir, "proxy"),
        domains,
        settings,
        logger: logger.child({ component: "proxy" }),
        ...(env.NODE_ENV === "test" && env.DEPLOYKIT_TEST_PROXY_TRUST_DIR
          ? { trustDir: env.DEPLOYKIT_TEST_PROXY_TRUST_DIR, acmeTrustedRoots: ["/deploykit-trust/root.pem"] }
          : {}),
      })
    : null;
  const reconciler = new Reconciler({
    forwarder,
    ...(proxy ? { ingress: proxy } : {}),
    projects,
    services,
    deployments,
    containers,
    runtime: dk.runtime,
    provisioner: dk.provisioner,
    logs: dk.logs,
    bus,
    events: bus,
    instanceID,
    limitDefaults: () => settings.getSettings(),
    networkCreated: () => isolate(),
    logger: logger.child({ component: "reconciler" }),
    intervalMs: cfg.reconcileIntervalMs,
    stableWindowMs: cfg.stableWindowMs,
    ...(prometheus ? { onPass: (ms: number, ok: boolean) => prometheus.observePass(ms, ok) } : {}),
    ...(faultPoint ? { faultPoint } : {}),
  });
  queueDepth = () => reconciler.queueDepth;
  const cron = new CronScheduler({
    projects,
    services,
    deployments,
    runs,
    runtime: dk.runtime,
    instanceID,
    logger: logger.child({ component: "cron" }),
    now: Date.now,
    limitDefaults: () => settings.getSettings(),
  });
  // Deploy from source (issue 13): builds go to dockerd's BuildKit; checkouts and uploads live in the data dir.
  const builds = new sqlite.BuildService(db);
  const buildDir = resolve(cfg.dataDir, "builds");
  const builder = new build.Builder({
    deployments,
    services,
    builds,
    settings,
    reconciler,
    bus,
    instanceID,
    socketPath: dk.socketPath,
    workDir: buildDir,
    logger,
    // Test builds only: the build cache is dockerd-wide, and tests share one dockerd.
    pruneCache: !(env.NODE_ENV === "test" && env.DEPLOYKIT_TEST_KEEP_BUILD_CACHE === "1"),
  });
  const system = new SystemService({
    docker: dk.introspector,
    dbPath: cfg.db,
    version: VERSION,
    instanceID,
    startedAt,
    reconcileIntervalMs: cfg.reconcileIntervalMs,
    projects,
    services,
    containers,
    logger,
  });

  // Issue 20: scheduled state backups, online (a worker thread's own connection), shown in admin System.
  const backups =
    cfg.db === ":memory:"
      ? null
      : new sqlite.ScheduledBackups({ dbPath: cfg.db, dataDir: cfg.dataDir, settings, logger: logger.child({ component: "backup" }) });
  const server = new Server({
    projects,
    users,
    auth,
    services,
    deployments,
    containers,
    canvas,
    envVars,
    pendingChanges,
    domains,
    ...(proxy ? { proxy } : {}),
    settings,
    system,
    bus,
    logs: dk.logs,
    exec: dk.exec,
    shellSessions: new sqlite.ShellSessionService(db),
    reconciler,
    runs,
    cron,
    ...(backups ? { backups } : {}),
    metrics: { store: metricsStore, collector },
    ...(prometheus ? { prometheus } : {}),
    logger: logger.child({ component: "http" }),
    setup: setup.gate,
    corsOrigin: cfg.corsOrigin,
    trustProxy: cfg.trustProxy,
    spaDir: cfg.spaDir ?? defaultSPADir(),
    version: VERSION,
    limits: { wsPingIntervalMs: cfg.wsPingIntervalMs },
    build: {
      builds,
      builder,
      uploadMaxBytes: cfg.uploadMaxBytes,
      saveUpload: (id, body) => build.saveUpload(buildDir, id, body, cfg.uploadMaxBytes),
      pullImage: (image) => build.pullImage(dk.socketPath, image),
      imageID: (image) => build.imageID(dk.socketPath, image),
      generateDeployKey: (comment) => build.generateDeployKey(comment),
    },
  });
  let port: number;
  try {
    ({ port } = await server.listen(splitAddr(cfg.addr)));
  } catch (err) {
    await server.close().catch(() => {});
    db.close();
    throw err;
  }
  logger.info({ addr: cfg.addr, port }, "listening");
  daemonPort = port;
  await isolate();
  if (firewall) logger.info({ chain: firewall.chain, state: firewall.state() }, "workload isolation");
  const isolateTicker = firewall ? setInterval(() => void isolate(), cfg.reconcileIntervalMs) : null;
  isolateTicker?.unref();
  if (setup.token)
    logger.warn(
      { url: setupURL(splitAddr(cfg.addr).host, port, setup.token), file: setup.gate.path },
      "no admin yet: open this URL to create the first one (the token is also in the file)",
    );
  // The proxy is adopted (or created) before the reconciler reports upstreams; a failure is retried, never fatal.
  proxy?.start();
  reconciler.start();
  collector.start();
  await cron.start();
  backups?.start();
  await builder.start();

  const purge = async () => {
    try {
      const n = await auth.purgeExpiredSessions();
      if (n > 0) logger.info({ sessions: n }, "purged expired sessions");
    } catch (err) {
      logger.error({ err }, "session purge failed");
    }
  };
  void purge();
  const purgeTimer = setInterval(purge, SESSION_PURGE_INTERVAL_MS);
  purgeTimer.unref();
  capYoungGeneration();
  const stopTrimming = trimWhenIdle();
  resumeOptimizers(); // start-up is done: code hot from now on is worth optimizing

  let closing: Promise<void> | null = null;
  return {
    port,
    instanceID,
    close() {
      closing ??= (async () => {
        clearInterval(purgeTimer);
        stopTrimming();
        cron.stop();
        await backups?.stop();
        await builder.stop();
        await server.close().catch((err) => logger.error({ err }, "http close failed"));
        await reconciler.stop().catch((err) => logger.error({ err }, "reconciler stop failed"));
        await collector.stop().catch((err) => logger.error({ err }, "metrics collector stop failed"));
        await forwarder.close();
        if (isolateTicker) clearInterval(isolateTicker);
        await isolating.catch(() => {});
        await firewall?.close().catch((err) => logger.error({ err }, "firewall close failed"));
        // The proxy container keeps serving: only the daemon's management of it stops.
        await proxy?.close();
        db.close();
        logger.info("stopped");
      })();
      return closing;
    },
  };
}
