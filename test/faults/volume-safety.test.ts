import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../harness/daemon.ts";
import {
  buildDbWorkloads,
  DATABASE_IMAGES,
  type DatabaseFixture,
  DB_WORKLOADS,
  deployPresetWithWriter,
  dockerExec,
  longestWriteGap,
  POSTGRES_IMAGE,
  REDIS_IMAGE,
  runningContainers,
  ServiceWatcher,
  serviceOutputs,
  stageAndDeploy,
  waitDeployment,
  waitWritesAfter,
  writerAcks,
} from "../harness/databases.ts";
import { Dockerd } from "../harness/dockerd.ts";
import { waitFor } from "../harness/wait.ts";

// Issue 18: a volume is mounted by at most one container, ever. Real PostgreSQL 15 and Redis 7.0
// (Debian's, scripts/test-images.sh) run from their presets while a writer in another container
// commits continuously and prints an ACK per confirmed write. Through redeploys, a rollback, a
// failed deployment, a daemon SIGKILL mid-switch and a `docker rm -f` of the serving container:
// every acknowledged write is in the database afterwards, and a watcher (a 100 ms `docker ps -a`
// of the service plus its create/destroy events) never saw two containers of the service at once.
// The two databases run side by side, one daemon each, on one disposable dockerd.

// Both servers shut down cleanly in well under a second; 10 s (not the default 30) only bounds how long
// a container stopped before its server runs can hold up a switch on this loaded machine.
const STOP_GRACE_SECONDS = 10;

let dockerd: Dockerd;
const daemons: Daemon[] = [];

beforeAll(async () => {
  dockerd = await Dockerd.start({ images: DATABASE_IMAGES });
  await buildDbWorkloads(dockerd.socketPath);
}, 240_000);

afterAll(async () => {
  await Promise.all(daemons.map((d) => d.destroy()));
  await dockerd?.destroy();
});

async function startDaemon(): Promise<Daemon> {
  // A 4 s stability window instead of 10 s: what is proven (one container per volume, no lost ACK)
  // does not depend on it, and the suite's 13 switch-overs per database are CI time.
  const d = await Daemon.start({ dockerSocket: dockerd.socketPath, args: ["-stable-window", "4s"] });
  daemons.push(d);
  return d;
}

interface StepResult {
  step: string;
  ms: number;
  acked: number;
  missing: string[];
  writeGapMs: number;
  watcher: string;
}

/**
 * One scenario: a database service with its writer and watcher; `step` runs an action, waits for the
 * service to be back, then checks every ACK so far against what the database holds.
 */
class Scenario {
  readonly results: StepResult[] = [];
  readonly watcher: ServiceWatcher;
  readonly d: Daemon;
  readonly fx: DatabaseFixture;
  private readonly storedIDs: (containerID: string) => string[];

  constructor(d: Daemon, fx: DatabaseFixture, storedIDs: (containerID: string) => string[]) {
    this.d = d;
    this.fx = fx;
    this.storedIDs = storedIDs;
    this.watcher = new ServiceWatcher(dockerd.socketPath, fx.dbID);
  }

  /**
   * Runs `action`, waits for the service to be back (the writer acknowledged again), then checks.
   * A failing action or a database that does not come back is reported with the same figures, so a
   * regression shows what it did to the data.
   */
  async step(name: string, action: () => Promise<void>): Promise<void> {
    const t0 = Date.now();
    const problems: string[] = [];
    await action().catch((err: Error) => problems.push(`action failed: ${err.message}`));
    const acks = await waitWritesAfter(dockerd.docker, this.fx, Date.now(), 3, problems.length > 0 ? 20_000 : 90_000).catch(
      async (err: Error) => {
        problems.push(`writes did not resume: ${err.message}`);
        return await writerAcks(dockerd.docker, this.fx.writerID);
      },
    );
    const now = Date.now();
    const acked = acks.filter((a) => a.at <= now);
    const running = await runningContainers(dockerd.docker, this.fx.dbID);
    if (running.length !== 1) problems.push(`${running.length} running containers of the service after the step`);
    // What every running server holds; with none running the loss cannot be read (reported as such).
    const stored = new Set<string>();
    for (const c of running) {
      try {
        for (const id of this.storedIDs(c.Id)) stored.add(id);
      } catch (err) {
        problems.push(`cannot read the data from ${c.Names[0]}: ${(err as Error).message.slice(0, 300)}`);
      }
    }
    const missing = running.length > 0 ? acked.filter((a) => !stored.has(a.id)).map((a) => a.id) : [];
    if (missing.length > 0)
      problems.push(`${missing.length} of ${acked.length} acknowledged writes missing: ${missing.slice(0, 20).join(", ")}`);
    if (this.watcher.maxSeen > 1) problems.push(`the watcher saw ${this.watcher.maxSeen} containers of the service at once`);
    if (this.watcher.eventsError) problems.push(`the watcher's Docker event stream broke: ${this.watcher.eventsError}`);
    this.results.push({
      step: name,
      ms: now - t0,
      acked: acked.length,
      missing,
      writeGapMs: longestWriteGap(acked, t0, now),
      watcher: this.watcher.summary(),
    });
    console.log(`[volume-safety] ${name}: ${JSON.stringify({ ...this.results.at(-1), missing: missing.length, problems })}`);
    if (problems.length > 0) {
      throw new Error(
        `${name}:\n  ${problems.join("\n  ")}\nsteps so far:\n${this.report()}\n${await serviceOutputs(dockerd.docker, [this.fx.dbID])}\n--- daemon log:\n${this.d.log().slice(-2000)}`,
      );
    }
  }

  report(): string {
    return this.results
      .map((r) => `  ${r.step}: ${r.ms} ms, ${r.acked} acked, ${r.missing.length} missing, write gap ${r.writeGapMs} ms; ${r.watcher}`)
      .join("\n");
  }

  /** Stages a new DK_REVISION, deploys and waits for the new deployment to serve. */
  async redeploy(revision: string): Promise<string> {
    const dep = await stageAndDeploy(this.d, this.fx, { revision });
    await waitDeployment(this.d, this.fx, dep.id);
    return dep.id;
  }
}

function pgStoredIDs(containerID: string): string[] {
  const out = dockerExec(dockerd.socketPath, containerID, [
    "sh",
    "-c",
    'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -qAtX -v ON_ERROR_STOP=1 -c "SELECT id FROM acks"',
  ]);
  return out.split("\n").filter(Boolean);
}

function redisStoredIDs(containerID: string): string[] {
  const out = dockerExec(dockerd.socketPath, containerID, ["sh", "-c", 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli LRANGE acks 0 -1']);
  return out.split("\n").filter(Boolean);
}

/** The first Docker event of the service's containers matching `actions`, from now on. */
async function nextEvent(serviceID: string, actions: string[]): Promise<{ action: string; id: string }> {
  const stream = (await new Docker({ socketPath: dockerd.socketPath }).getEvents({
    filters: { type: ["container"], event: actions, label: [`deploykit.service-id=${serviceID}`] },
  })) as unknown as NodeJS.ReadableStream & { destroy(): void };
  return await new Promise((resolve, reject) => {
    let buf = "";
    stream.on("data", (chunk: Buffer) => {
      buf += chunk.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      const ev = JSON.parse(buf.slice(0, nl)) as { Action: string; id: string };
      stream.destroy();
      resolve({ action: ev.Action, id: ev.id });
    });
    stream.on("error", reject);
  });
}

describe("never two containers on one volume", () => {
  it.concurrent("PostgreSQL preset: 10 redeploys, a rollback, a failed deployment, a daemon SIGKILL mid-switch and docker rm -f lose no acknowledged write", async () => {
    const d = await startDaemon();
    const fx = await deployPresetWithWriter(d, dockerd.docker, {
      project: "vol-pg",
      presetID: "postgres",
      image: POSTGRES_IMAGE,
      writer: DB_WORKLOADS.pgWriter.tag,
      stopGraceSeconds: STOP_GRACE_SECONDS,
      writerEnv: (env) => ({
        DB_HOST: "${{db.HOST}}",
        DB_USER: env.POSTGRES_USER as string,
        DB_PASSWORD: env.POSTGRES_PASSWORD as string,
        DB_NAME: env.POSTGRES_DB as string,
      }),
    });
    const s = new Scenario(d, fx, pgStoredIDs);
    await s.watcher.start();
    try {
      const byRevision = new Map<number, string>([[0, fx.firstDeploymentID]]);
      for (let i = 1; i <= 10; i++) {
        await s.step(`redeploy ${i}`, async () => {
          byRevision.set(i, await s.redeploy(String(i)));
        });
      }

      await s.step("rollback to redeploy 5", async () => {
        await d.must("POST", `/api/projects/${fx.projectID}/services/${fx.dbID}/rollback`, 200, {
          body: { deployment_id: byRevision.get(5) },
        });
        const dep = await latestDeployment(d, fx);
        expect(dep.env_vars.DK_REVISION).toBe("5");
        await waitDeployment(d, fx, dep.id);
      });

      await s.step("failed deployment (a bad start command: the server exits at once)", async () => {
        const bad = await stageAndDeploy(d, fx, { service: { start_command: ["--no-such-option"] } });
        await waitDeployment(d, fx, bad.id, "failed");
      });

      await s.step("redeploy after the failure", async () => {
        const dep = await stageAndDeploy(d, fx, { service: { start_command: null }, revision: "11" });
        await waitDeployment(d, fx, dep.id);
      });

      await s.step("daemon SIGKILL mid-switch", async () => {
        // The switch's first move: the old container told to stop (stop-first) or the new one started (start-first).
        const ev = nextEvent(fx.dbID, ["kill", "stop", "die", "start"]);
        const dep = await stageAndDeploy(d, fx, { revision: "12" });
        await ev;
        await d.kill("SIGKILL");
        await d.restart();
        await waitDeployment(d, fx, dep.id);
      });

      await s.step("docker rm -f of the serving container", async () => {
        const [serving] = await runningContainers(dockerd.docker, fx.dbID);
        if (!serving) throw new Error("no serving container");
        await dockerd.docker.getContainer(serving.Id).remove({ force: true });
        await waitFor(async () => (await runningContainers(dockerd.docker, fx.dbID)).some((c) => c.Id !== serving.Id), {
          timeoutMs: 60_000,
          what: "a replacement container",
        });
      });
    } finally {
      await s.watcher.stop();
      console.log(`[volume-safety] postgres:\n${s.report()}`);
    }
  }, 720_000);

  it.concurrent("Redis preset: the password is enforced and appendonly data survives redeploys and docker rm -f", async () => {
    const d = await startDaemon();
    const fx = await deployPresetWithWriter(d, dockerd.docker, {
      project: "vol-redis",
      presetID: "redis",
      image: REDIS_IMAGE,
      writer: DB_WORKLOADS.redisWriter.tag,
      stopGraceSeconds: STOP_GRACE_SECONDS,
      writerEnv: (env) => ({ REDIS_HOST: "${{db.HOST}}", REDIS_PASSWORD: env.REDIS_PASSWORD as string }),
    });
    const [serving] = await runningContainers(dockerd.docker, fx.dbID);
    if (!serving) throw new Error("no redis container");
    expect(dockerExec(dockerd.socketPath, serving.Id, ["redis-cli", "PING"])).toMatch(/NOAUTH/);
    expect(dockerExec(dockerd.socketPath, serving.Id, ["sh", "-c", "ls /data/appendonlydir"])).toMatch(/appendonly\.aof/);

    const s = new Scenario(d, fx, redisStoredIDs);
    await s.watcher.start();
    try {
      for (let i = 1; i <= 3; i++) await s.step(`redeploy ${i}`, async () => void (await s.redeploy(String(i))));
      await s.step("docker rm -f of the serving container", async () => {
        const [c] = await runningContainers(dockerd.docker, fx.dbID);
        if (!c) throw new Error("no serving container");
        await dockerd.docker.getContainer(c.Id).remove({ force: true });
        await waitFor(async () => (await runningContainers(dockerd.docker, fx.dbID)).some((x) => x.Id !== c.Id), {
          timeoutMs: 60_000,
          what: "a replacement container",
        });
      });
    } finally {
      await s.watcher.stop();
      console.log(`[volume-safety] redis:\n${s.report()}`);
    }
  }, 300_000);
});

async function latestDeployment(d: Daemon, fx: DatabaseFixture): Promise<{ id: string; env_vars: Record<string, string> }> {
  const list = await d.must("GET", `/api/projects/${fx.projectID}/services/${fx.dbID}/deployments`, 200);
  return list.data[0];
}
