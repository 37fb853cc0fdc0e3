import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../harness/daemon.ts";

// F01: an acknowledged write survives a SIGKILL that follows it at once. Each iteration sends a few
// concurrent writes (project creates), SIGKILLs the daemon the moment the first 2xx arrives (others
// may be in flight, committed or not), restarts it on the same database and checks: every
// acknowledged project is there exactly once, no name is there twice, integrity_check is ok.
//
// Profiles: CI runs 50 iterations; DEPLOYKIT_F01_ITERATIONS=1000 runs the catalogue's full loop
// (`DEPLOYKIT_F01_ITERATIONS=1000 npx vitest run test/faults/acknowledged-writes.test.ts`).
// Docker is not involved: each daemon is pointed at a socket that does not exist (it starts
// degraded), so the loop costs only process restarts and the shared engine is left alone. The
// iterations are shared by LANES daemons, each with its own database, killed and restarted
// independently: a restart is mostly waiting (module loading, the health poll), so lanes overlap.

const ITERATIONS = Number(process.env.DEPLOYKIT_F01_ITERATIONS ?? 50);
const LANES = 3;
const WRITES_PER_ITERATION = 4;

const daemons: Daemon[] = [];

beforeAll(async () => {
  const nowhere = join(mkdtempSync(join(tmpdir(), "dk-f01-")), "no-docker.sock");
  for (let l = 0; l < LANES; l++) daemons.push(await Daemon.start({ dockerSocket: nowhere, logLevel: "error" }));
});

afterAll(async () => {
  await Promise.all(daemons.map((d) => d.destroy()));
});

interface LaneResult {
  acknowledged: number;
  committedUnacknowledged: number;
}

/** `count` iterations on daemon `d`; names carry the lane so lanes never share one. */
async function lane(d: Daemon, l: number, count: number): Promise<LaneResult> {
  const acknowledged = new Set<string>();
  let committedUnacknowledged = 0;
  for (let i = 0; i < count; i++) {
    const at = `lane ${l} iteration ${i}`;
    const names = Array.from({ length: WRITES_PER_ITERATION }, (_, w) => `f01-${l}-${i}-${w}`);
    let killed: Promise<unknown> | null = null;
    const answers = names.map((name) =>
      d
        .request("POST", "/api/projects", { body: { name } })
        .then((r) => {
          if (r.status !== 201) throw new Error(`${at}: ${name} answered ${r.status} ${r.text}`);
          // The kill is sent the moment the first acknowledgement arrives.
          if (killed === null) killed = d.kill("SIGKILL");
          return name;
        })
        .catch((err: unknown) => {
          if (killed === null) throw err;
          return null;
        }),
    );
    const done = await Promise.all(answers);
    expect(killed, `${at}: no write was acknowledged`).not.toBeNull();
    await killed;
    // Every 201 received is an acknowledged write, whether it arrived before or after the kill was sent.
    for (const name of done) if (name) acknowledged.add(name);
    expect(d.integrity(), at).toEqual({ integrity: "ok", foreignKeyViolations: 0 });
    await d.restart();
    const rows = d.withDB(
      (db) =>
        db.prepare("SELECT name, count(*) AS n FROM projects WHERE name LIKE ? GROUP BY name").all(`f01-${l}-${i}-%`) as {
          name: string;
          n: number;
        }[],
    );
    for (const r of rows) expect(r.n, `${at}: ${r.name} stored ${r.n} times`).toBe(1);
    const stored = new Set(rows.map((r) => r.name));
    for (const name of names) if (acknowledged.has(name)) expect(stored.has(name), `${at}: acknowledged ${name} lost`).toBe(true);
    committedUnacknowledged += [...stored].filter((n) => !acknowledged.has(n)).length;
  }
  // Through the API too, once at the end: every acknowledged project is listed, exactly once.
  const listed: string[] = [];
  for (let offset = 0; ; offset += 100) {
    const page = (await d.must("GET", `/api/projects?limit=100&offset=${offset}`, 200)) as { data: { name: string }[] };
    listed.push(...page.data.map((p) => p.name).filter((n) => n.startsWith("f01-")));
    if (page.data.length < 100) break;
  }
  expect(new Set(listed).size, `lane ${l}: a project listed twice`).toBe(listed.length);
  for (const name of acknowledged) expect(listed, `lane ${l}`).toContain(name);
  return { acknowledged: acknowledged.size, committedUnacknowledged };
}

describe("acknowledged writes survive a SIGKILL right after the acknowledgement (F01)", () => {
  it(
    `${ITERATIONS} iterations: write, kill on the first 2xx, restart, check`,
    async () => {
      expect(Number.isInteger(ITERATIONS) && ITERATIONS > 0, "DEPLOYKIT_F01_ITERATIONS").toBe(true);
      const started = Date.now();
      const counts = daemons.map((_, l) => Math.floor(ITERATIONS / LANES) + (l < ITERATIONS % LANES ? 1 : 0));
      const results = await Promise.all(daemons.map((d, l) => lane(d, l, counts[l] as number)));
      const acked = results.reduce((n, r) => n + r.acknowledged, 0);
      const extra = results.reduce((n, r) => n + r.committedUnacknowledged, 0);
      console.log(
        `F01: ${ITERATIONS} iterations in ${LANES} lanes, ${acked} acknowledged writes, 0 lost, 0 duplicated; ${extra} unacknowledged writes were committed anyway; ${Math.round((Date.now() - started) / 1000)} s`,
      );
    },
    Math.max(180_000, ITERATIONS * 10_000),
  );
});
