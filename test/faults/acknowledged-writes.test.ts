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
// Docker is not involved: the daemon is pointed at a socket that does not exist (it starts degraded),
// so the loop costs only process restarts and the shared engine is left alone.

const ITERATIONS = Number(process.env.DEPLOYKIT_F01_ITERATIONS ?? 50);
const WRITES_PER_ITERATION = 4;

let d: Daemon;

beforeAll(async () => {
  const nowhere = join(mkdtempSync(join(tmpdir(), "dk-f01-")), "no-docker.sock");
  d = await Daemon.start({ dockerSocket: nowhere, logLevel: "error" });
});

afterAll(async () => {
  await d?.destroy();
});

describe("acknowledged writes survive a SIGKILL right after the acknowledgement (F01)", () => {
  it(
    `${ITERATIONS} iterations: write, kill on the first 2xx, restart, check`,
    async () => {
      expect(Number.isInteger(ITERATIONS) && ITERATIONS > 0, "DEPLOYKIT_F01_ITERATIONS").toBe(true);
      const acknowledged = new Set<string>();
      let inFlightCommitted = 0;
      const started = Date.now();
      for (let i = 0; i < ITERATIONS; i++) {
        const names = Array.from({ length: WRITES_PER_ITERATION }, (_, w) => `f01-${i}-${w}`);
        let killed: Promise<unknown> | null = null;
        const answers = names.map((name) =>
          d
            .request("POST", "/api/projects", { body: { name } })
            .then((r) => {
              if (r.status !== 201) throw new Error(`iteration ${i}: ${name} answered ${r.status} ${r.text}`);
              // Acknowledged only if the answer arrived before the kill was sent.
              if (killed === null) {
                acknowledged.add(name);
                killed = d.kill("SIGKILL");
              }
              return name;
            })
            .catch((err: unknown) => {
              if (killed === null) throw err;
              return null;
            }),
        );
        const done = await Promise.all(answers);
        expect(killed, `iteration ${i}: no write was acknowledged`).not.toBeNull();
        await killed;
        // A 201 that arrived after the kill was sent was acknowledged too (the kill could not undo it).
        for (const name of done) if (name) acknowledged.add(name);
        const check = d.integrity();
        expect(check, `iteration ${i}`).toEqual({ integrity: "ok", foreignKeyViolations: 0 });
        await d.restart();
        const rows = d.withDB(
          (db) =>
            db.prepare("SELECT name, count(*) AS n FROM projects WHERE name LIKE ? GROUP BY name").all(`f01-${i}-%`) as {
              name: string;
              n: number;
            }[],
        );
        for (const r of rows) expect(r.n, `iteration ${i}: ${r.name} stored ${r.n} times`).toBe(1);
        const stored = new Set(rows.map((r) => r.name));
        for (const name of names)
          if (acknowledged.has(name)) expect(stored.has(name), `iteration ${i}: acknowledged ${name} lost`).toBe(true);
        inFlightCommitted += [...stored].filter((n) => !acknowledged.has(n)).length;
      }
      // Through the API too, once at the end: every acknowledged project is listed, exactly once.
      const listed: string[] = [];
      for (let offset = 0; ; offset += 100) {
        const page = (await d.must("GET", `/api/projects?limit=100&offset=${offset}`, 200)) as { data: { name: string }[] };
        listed.push(...page.data.map((p) => p.name).filter((n) => n.startsWith("f01-")));
        if (page.data.length < 100) break;
      }
      expect(new Set(listed).size).toBe(listed.length);
      for (const name of acknowledged) expect(listed, name).toContain(name);
      console.log(
        `F01: ${ITERATIONS} iterations, ${acknowledged.size} acknowledged writes, 0 lost, 0 duplicated; ${inFlightCommitted} unacknowledged writes were committed anyway; ${Math.round((Date.now() - started) / 1000)} s`,
      );
    },
    Math.max(120_000, ITERATIONS * 10_000),
  );
});
