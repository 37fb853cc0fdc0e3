import { execFileSync } from "node:child_process";
import Docker from "dockerode";
import { demuxAll } from "../../src/docker/demux.ts";
import type { Daemon } from "./daemon.ts";
import { TEST_IMAGE } from "./dockerd.ts";
import { sleep, waitFor } from "./wait.ts";

/** Built by scripts/test-images.sh: Debian's PostgreSQL 15 / Redis 7.0 with the presets' env conventions. */
export const DEBIAN_DB_IMAGE = "deploykit-test/debian-db:1";
export const POSTGRES_IMAGE = "deploykit-test/postgres:1";
export const REDIS_IMAGE = "deploykit-test/redis:1";
/** What a volume test copies into its own dockerd (one archive: the three share their layers). */
export const DATABASE_IMAGES = [TEST_IMAGE, DEBIAN_DB_IMAGE, POSTGRES_IMAGE, REDIS_IMAGE];

const LABEL_SERVICE_ID = "deploykit.service-id";

// A writer commits one row per round and prints `ACK <id> <ms epoch> <server>` only after the
// server confirmed it (psql exit 0 after an autocommitted INSERT; an integer reply to RPUSH), so the
// ACK lines are the writes a client was promised. `<server>` is pg_postmaster_start_time(): it tells
// apart two PostgreSQL servers answering in turn. Ids carry a per-container run prefix.
const PG_WRITER = `trap 'exit 0' TERM INT
run=$(head -c 8 /proc/sys/kernel/random/uuid)
export PGPASSWORD="$DB_PASSWORD" PGCONNECT_TIMEOUT=2
q() { timeout 5 psql -h "$DB_HOST" -U "$DB_USER" -d "$DB_NAME" -qAtX -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
until out=$(q 'CREATE TABLE IF NOT EXISTS acks (id text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())'); do
  echo "WAIT $(date +%s%3N) $(echo "$out" | tr '\\n' ' ' | cut -c1-160)"
  sleep 0.5
done
echo "READY $run"
i=0
while :; do
  i=$((i+1))
  if out=$(q "INSERT INTO acks (id) VALUES ('$run-$i') RETURNING pg_postmaster_start_time()"); then
    echo "ACK $run-$i $(date +%s%3N) $out"
  else
    echo "ERR $run-$i $(date +%s%3N) $(echo "$out" | tr '\\n' ' ' | cut -c1-160)"
  fi
  sleep "\${WRITE_INTERVAL:-0.2}"
done`;

const REDIS_WRITER = `trap 'exit 0' TERM INT
run=$(head -c 8 /proc/sys/kernel/random/uuid)
export REDISCLI_AUTH="$REDIS_PASSWORD"
echo "READY $run"
i=0
while :; do
  i=$((i+1))
  out=$(timeout 5 redis-cli -h "$REDIS_HOST" RPUSH acks "$run-$i" 2>&1)
  case "$out" in
    ''|*[!0-9]*) echo "ERR $run-$i $(date +%s%3N) $(echo "$out" | tr '\\n' ' ' | cut -c1-160)" ;;
    *) echo "ACK $run-$i $(date +%s%3N) $out" ;;
  esac
  sleep "\${WRITE_INTERVAL:-0.2}"
done`;

/**
 * The two writers, built inside a test's dockerd with `docker build -` (a script as the entrypoint
 * needs no build context).
 */
export const DB_WORKLOADS = {
  pgWriter: { tag: "dk-vol/pg-writer:1", from: DEBIAN_DB_IMAGE, entrypoint: ["sh", "-c", PG_WRITER] },
  redisWriter: { tag: "dk-vol/redis-writer:1", from: DEBIAN_DB_IMAGE, entrypoint: ["sh", "-c", REDIS_WRITER] },
} as const;

export async function buildDbWorkloads(socketPath: string): Promise<void> {
  for (const { tag, from, entrypoint } of Object.values(DB_WORKLOADS)) {
    const dockerfile = `FROM ${from}\nENTRYPOINT ${JSON.stringify(entrypoint)}\nCMD []\n`;
    execFileSync("docker", ["build", "-q", "-t", tag, "-"], {
      input: dockerfile,
      env: { ...process.env, DOCKER_HOST: `unix://${socketPath}`, DOCKER_BUILDKIT: "0" },
      stdio: ["pipe", "ignore", "pipe"],
    });
  }
}

export interface Ack {
  id: string;
  /** ms epoch, the writer's clock right after the server confirmed. */
  at: number;
  /** PostgreSQL: the answering server's start time; Redis: the list length. */
  server: string;
}

/** Output of a container (stdout and stderr, in order). */
export async function containerOutput(docker: Docker, containerID: string): Promise<string> {
  const buf = (await docker.getContainer(containerID).logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  return demuxAll(buf).toString("utf8");
}

export function parseAcks(output: string): Ack[] {
  const out: Ack[] = [];
  for (const line of output.split("\n")) {
    const m = /^ACK (\S+) (\d+) ?(.*)$/.exec(line);
    if (m) out.push({ id: m[1] as string, at: Number(m[2]), server: (m[3] ?? "").trim() });
  }
  return out;
}

/** Every ACK the writer service's containers (any state, any deployment) printed, oldest first. */
export async function writerAcks(docker: Docker, writerServiceID: string): Promise<Ack[]> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABEL_SERVICE_ID}=${writerServiceID}`] } });
  const acks: Ack[] = [];
  for (const c of containers) {
    // A container being removed has no readable output any more; its ACKs were read before.
    const out = await containerOutput(docker, c.Id).catch(() => "");
    acks.push(...parseAcks(out));
  }
  return acks.sort((a, b) => a.at - b.at);
}

/** The last lines of every container of the services, for failure messages. */
export async function serviceOutputs(docker: Docker, serviceIDs: string[]): Promise<string> {
  const out: string[] = [];
  for (const id of serviceIDs) {
    for (const c of await docker.listContainers({ all: true, filters: { label: [`${LABEL_SERVICE_ID}=${id}`] } })) {
      const text = await containerOutput(docker, c.Id).catch((err: Error) => err.message);
      const lines = text.split("\n");
      const shown = lines.length > 40 ? [...lines.slice(0, 20), `… ${lines.length - 40} lines …`, ...lines.slice(-20)] : lines;
      out.push(`--- ${c.Names[0]} (${c.State}, ${c.Status}):\n${shown.join("\n")}`);
    }
  }
  return out.join("\n");
}

/** Runs a command in a container and returns its stdout (throws with stderr on a non-zero exit). */
export function dockerExec(socketPath: string, containerID: string, cmd: string[]): string {
  return execFileSync("docker", ["exec", containerID, ...cmd], {
    env: { ...process.env, DOCKER_HOST: `unix://${socketPath}` },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 30_000,
  });
}

/** The running containers of a service. */
export async function runningContainers(docker: Docker, serviceID: string): Promise<Docker.ContainerInfo[]> {
  return await docker.listContainers({ filters: { label: [`${LABEL_SERVICE_ID}=${serviceID}`], status: ["running"] } });
}

export interface Overlap {
  at: number;
  /** How the watcher saw it: a 100 ms sample of `docker ps -a`, or the create/destroy event stream. */
  via: "sample" | "events";
  containers: string[];
}

/**
 * Watches one service's containers, in every state, two ways: `docker ps -a` filtered by the
 * service label every 100 ms, and Docker's create/destroy events (which also catch an overlap shorter
 * than a sample). Records the most containers seen at once and every moment there were two or more.
 */
export class ServiceWatcher {
  maxSampled = 0;
  maxRunningSampled = 0;
  maxByEvents = 0;
  samples = 0;
  /** Longest time between two samples (a loaded machine stretches the 100 ms). */
  maxSampleGapMs = 0;
  readonly overlaps: Overlap[] = [];
  /** Set when the event stream broke: the samples alone watched from then on. */
  eventsError: string | undefined;
  private readonly alive = new Map<string, string>();
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private events: NodeJS.ReadableStream | null = null;

  private readonly docker: Docker;
  /** No timeout: an event stream is quiet for long stretches (a client timeout would end it unseen). */
  private readonly eventsClient: Docker;
  readonly serviceID: string;

  constructor(socketPath: string, serviceID: string) {
    this.docker = new Docker({ socketPath, timeout: 15_000 });
    this.eventsClient = new Docker({ socketPath });
    this.serviceID = serviceID;
  }

  async start(): Promise<void> {
    const filters = { label: [`${LABEL_SERVICE_ID}=${this.serviceID}`] };
    for (const c of await this.docker.listContainers({ all: true, filters })) this.alive.set(c.Id, c.Names[0] ?? c.Id);
    this.maxByEvents = this.alive.size;
    const stream = (await this.eventsClient.getEvents({
      filters: { type: ["container"], event: ["create", "destroy"], ...filters },
    })) as unknown as NodeJS.ReadableStream;
    this.events = stream;
    let buf = "";
    stream.on("data", (chunk: Buffer) => {
      buf += chunk.toString("utf8");
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
        if (!line) continue;
        const ev = JSON.parse(line) as { Action: string; id: string; Actor?: { Attributes?: Record<string, string> } };
        if (ev.Action === "create") this.alive.set(ev.id, ev.Actor?.Attributes?.name ?? ev.id);
        else if (ev.Action === "destroy") this.alive.delete(ev.id);
        this.maxByEvents = Math.max(this.maxByEvents, this.alive.size);
        if (this.alive.size > 1) this.overlaps.push({ at: Date.now(), via: "events", containers: [...this.alive.values()] });
      }
    });
    stream.on("error", (err: Error) => {
      this.eventsError = err.message;
    });
    stream.on("end", () => {
      if (!this.stopped) this.eventsError ??= "event stream ended";
    });
    this.loop = this.sample(filters);
  }

  private async sample(filters: { label: string[] }): Promise<void> {
    let last = Date.now();
    while (!this.stopped) {
      const t = Date.now();
      this.maxSampleGapMs = Math.max(this.maxSampleGapMs, t - last);
      last = t;
      try {
        const list = await this.docker.listContainers({ all: true, filters });
        this.samples++;
        this.maxSampled = Math.max(this.maxSampled, list.length);
        this.maxRunningSampled = Math.max(this.maxRunningSampled, list.filter((c) => c.State === "running").length);
        if (list.length > 1) this.overlaps.push({ at: t, via: "sample", containers: list.map((c) => `${c.Names[0]} (${c.State})`) });
      } catch {
        // dockerd busy; the next sample tries again
      }
      await sleep(Math.max(0, 100 - (Date.now() - t)));
    }
  }

  /** Most containers of the service seen at once, by either method. */
  get maxSeen(): number {
    return Math.max(this.maxSampled, this.maxByEvents);
  }

  summary(): string {
    const first = this.overlaps.slice(0, 3).map((o) => `${new Date(o.at).toISOString()} ${o.via}: ${o.containers.join(", ")}`);
    return `max ${this.maxSeen} at once (samples ${this.maxSampled}, running ${this.maxRunningSampled}, events ${this.maxByEvents}${this.eventsError ? ` until: ${this.eventsError}` : ""}; ${this.samples} samples, longest gap ${this.maxSampleGapMs} ms)${first.length ? `; first overlaps: ${first.join(" | ")}` : ""}`;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    (this.events as unknown as { destroy?: () => void } | null)?.destroy?.();
  }
}

export interface Preset {
  image: string;
  ports?: { container_port: number; protocol?: string }[];
  volumes?: { name: string; mount_path: string }[];
  start_command?: string[];
  env_vars: { key: string; value: string }[];
}

export interface DatabaseFixture {
  projectID: string;
  dbID: string;
  writerID: string;
  /** The db service's DK_REVISION env var, changed by each redeploy. */
  revisionVarID: string;
  firstDeploymentID: string;
  env: Record<string, string>;
}

/**
 * Creates a project with the `presetID` database preset (its ports, volume, start command and
 * generated secrets; the image overridden to the local build) named
 * `db`, plus a writer service reaching it by name, applies, and waits for the first acknowledged write.
 */
export async function deployPresetWithWriter(
  d: Daemon,
  docker: Docker,
  opts: {
    project: string;
    presetID: string;
    image: string;
    writer: string;
    writerEnv: (env: Record<string, string>) => Record<string, string>;
    /** The db service's stop grace (default: DeployKit's, 30 s). */
    stopGraceSeconds?: number;
  },
): Promise<DatabaseFixture> {
  const preset = await d.must<Preset>("GET", `/api/presets/databases/${opts.presetID}`, 200);
  const env = Object.fromEntries(preset.env_vars.map((e) => [e.key, e.value]));
  const p = await d.must<{ id: string }>("POST", "/api/projects", 201, { body: { name: opts.project } });
  const dbChange = await d.must<{ target_temp_id: string }>("POST", `/api/projects/${p.id}/services`, 201, {
    body: {
      name: "db",
      image: opts.image,
      ports: preset.ports,
      volumes: preset.volumes,
      ...(preset.start_command ? { start_command: preset.start_command } : {}),
      ...(opts.stopGraceSeconds !== undefined ? { stop_grace_seconds: opts.stopGraceSeconds } : {}),
      env_vars: [...preset.env_vars, { key: "DK_REVISION", value: "0" }],
    },
  });
  const writerChange = await d.must<{ target_temp_id: string }>("POST", `/api/projects/${p.id}/services`, 201, {
    body: {
      name: "writer",
      image: opts.writer,
      env_vars: Object.entries(opts.writerEnv(env)).map(([key, value]) => ({ key, value })),
    },
  });
  const applied = await d.must<{ temp_id_to_service_id: Record<string, string> }>("POST", `/api/projects/${p.id}/deploy`, 200);
  const dbID = applied.temp_id_to_service_id[dbChange.target_temp_id];
  const writerID = applied.temp_id_to_service_id[writerChange.target_temp_id];
  if (!dbID || !writerID) throw new Error(`apply did not create both services: ${JSON.stringify(applied)}`);
  const vars = await d.must<{ data: { id: string; key: string }[] }>("GET", `/api/projects/${p.id}/services/${dbID}/env-vars`, 200);
  const revisionVarID = vars.data.find((v) => v.key === "DK_REVISION")?.id;
  if (!revisionVarID) throw new Error("DK_REVISION env var not found");
  try {
    await waitFor(async () => (await writerAcks(docker, writerID)).length > 0, {
      timeoutMs: 90_000,
      intervalMs: 500,
      what: "the writer's first acknowledged write",
    });
  } catch (err) {
    throw new Error(
      `${(err as Error).message}\n${await serviceOutputs(docker, [dbID, writerID])}\n--- daemon log:\n${d.log().slice(-3000)}`,
    );
  }
  // Redeploys start from a promoted deployment (a starting one would be cancelled, not switched from).
  const first = await waitFor(
    async () => {
      const list = await d.must<{ data: DeploymentView[] }>("GET", `/api/projects/${p.id}/services/${dbID}/deployments`, 200);
      return list.data.find((x) => x.status === "healthy");
    },
    { timeoutMs: 60_000, intervalMs: 250, what: "the first db deployment to be healthy" },
  );
  return { projectID: p.id, dbID, writerID, revisionVarID, firstDeploymentID: first.id, env };
}

export interface DeploymentView {
  id: string;
  status: string;
  image: string;
  failure_reason?: string;
  env_vars: Record<string, string>;
}

/** Stages `patch` (env var value and/or service settings) on the db service and applies; returns the new deployment. */
export async function stageAndDeploy(
  d: Daemon,
  fx: DatabaseFixture,
  patch: { revision?: string; service?: Record<string, unknown> },
): Promise<DeploymentView> {
  if (patch.revision !== undefined)
    await d.must("PATCH", `/api/projects/${fx.projectID}/services/${fx.dbID}/env-vars/${fx.revisionVarID}`, 200, {
      body: { value: patch.revision },
    });
  if (patch.service) await d.must("PATCH", `/api/projects/${fx.projectID}/services/${fx.dbID}`, 200, { body: patch.service });
  const r = await d.must<{ created_deployments: DeploymentView[] }>("POST", `/api/projects/${fx.projectID}/deploy`, 200);
  const dep = r.created_deployments.find((x) => (x as unknown as { service_id: string }).service_id === fx.dbID);
  if (!dep) throw new Error(`deploy created no deployment for the db service: ${JSON.stringify(r)}`);
  return dep;
}

export async function deploymentOf(d: Daemon, fx: DatabaseFixture, id: string): Promise<DeploymentView> {
  return await d.must<DeploymentView>("GET", `/api/projects/${fx.projectID}/services/${fx.dbID}/deployments/${id}`, 200);
}

/** Waits for a deployment to reach `status` (healthy by default); fails at once on another final status. */
export async function waitDeployment(
  d: Daemon,
  fx: DatabaseFixture,
  id: string,
  status = "healthy",
  timeoutMs = 90_000,
): Promise<DeploymentView> {
  return await waitFor(
    async () => {
      const dep = await deploymentOf(d, fx, id).catch(() => null);
      if (!dep) return null;
      if (dep.status === status) return dep;
      if (["failed", "cancelled", "superseded"].includes(dep.status))
        throw new Error(`deployment ${id} is ${dep.status} (${dep.failure_reason ?? ""}), expected ${status}`);
      return null;
    },
    { timeoutMs, intervalMs: 250, what: `deployment ${id} to be ${status}` },
  );
}

/** Waits until the writer has `n` acknowledged writes stamped after `since` (the database serves again). */
export async function waitWritesAfter(docker: Docker, fx: DatabaseFixture, since: number, n = 3, timeoutMs = 60_000): Promise<Ack[]> {
  return await waitFor(
    async () => {
      const acks = await writerAcks(docker, fx.writerID);
      return acks.filter((a) => a.at > since).length >= n ? acks : null;
    },
    { timeoutMs, intervalMs: 250, what: `${n} acknowledged writes after ${new Date(since).toISOString()}` },
  );
}

/** Longest time without an acknowledged write within [from, to] (from the last ack before `from`). */
export function longestWriteGap(acks: Ack[], from: number, to: number): number {
  let prev = acks.filter((a) => a.at <= from).at(-1)?.at ?? from;
  let gap = 0;
  for (const a of acks) {
    if (a.at <= from || a.at > to) continue;
    gap = Math.max(gap, a.at - prev);
    prev = a.at;
  }
  return gap;
}
