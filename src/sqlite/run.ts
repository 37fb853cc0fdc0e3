import * as deploykit from "../index.ts";
import { type DB, newID, type Param, queryPage, type Tx } from "./db.ts";

interface RunRow {
  id: string;
  service_id: string;
  deployment_id: string;
  trigger: deploykit.RunTrigger;
  status: deploykit.RunStatus;
  started_at: string;
  finished_at: string | null;
  exit_code: number | null;
  reason: string | null;
  timed_out: number;
  log_tail: string | null;
  docker_container_id: string | null;
}

/** Cron runs (issue 16). Only the scheduler writes; every change is published for the canvas. */
export class ServiceRunService implements deploykit.ServiceRunService {
  readonly #db: DB;

  constructor(db: DB) {
    this.#db = db;
  }

  async findRuns(filter: deploykit.ServiceRunFilter): Promise<deploykit.PageResult<deploykit.ServiceRun>> {
    return this.#db.read((tx) => {
      const conds: string[] = [];
      const params: Param[] = [];
      if (filter.service_id !== undefined) {
        conds.push("service_id = ?");
        params.push(filter.service_id);
      }
      if (filter.status && filter.status.length > 0) {
        conds.push(`status IN (${filter.status.map(() => "?").join(", ")})`);
        params.push(...filter.status);
      }
      const { rows, total } = queryPage<RunRow>(tx, {
        select: "*",
        from: "service_runs",
        conds,
        params,
        order: "started_at DESC, rowid DESC",
        page: filter,
      });
      return { items: rows.map(toRun), total };
    });
  }

  async findRunByID(id: string): Promise<deploykit.ServiceRun> {
    return this.#db.read((tx) => findRun(tx, id));
  }

  async findRunningRuns(): Promise<deploykit.ServiceRun[]> {
    return this.#db.read((tx) => tx.all<RunRow>("SELECT * FROM service_runs WHERE status = 'running' ORDER BY started_at").map(toRun));
  }

  async beginRun(input: { service_id: string; deployment_id: string; trigger: deploykit.RunTrigger }): Promise<deploykit.ServiceRun> {
    return this.#db.write((tx) => {
      const svc = tx.get<{ project_id: string }>("SELECT project_id FROM services WHERE id = ?", input.service_id);
      if (!svc) throw deploykit.errorf(deploykit.ENOTFOUND, "Service not found.");
      // One run at a time per service (Railway's rule): decided inside the write transaction, so two
      // ticks (or a tick and Run now) can never both start one.
      const busy = tx.get("SELECT 1 FROM service_runs WHERE service_id = ? AND status = 'running'", input.service_id);
      const id = newID();
      if (busy) {
        tx.run(
          `INSERT INTO service_runs (id, service_id, deployment_id, trigger, status, started_at, finished_at, reason)
           VALUES (?, ?, ?, ?, 'skipped', ?, ?, ?)`,
          id,
          input.service_id,
          input.deployment_id,
          input.trigger,
          tx.now,
          tx.now,
          "Skipped: the previous run was still going.",
        );
      } else {
        tx.run(
          `INSERT INTO service_runs (id, service_id, deployment_id, trigger, status, started_at) VALUES (?, ?, ?, ?, 'running', ?)`,
          id,
          input.service_id,
          input.deployment_id,
          input.trigger,
          tx.now,
        );
      }
      const run = findRun(tx, id);
      const type = busy ? deploykit.EVENT_RUN_SKIPPED : deploykit.EVENT_RUN_STARTED;
      this.#db.publish(tx, deploykit.newEvent(type, svc.project_id, { service_id: input.service_id, run }));
      return run;
    });
  }

  async attachContainer(id: string, dockerID: string): Promise<void> {
    this.#db.write((tx) => {
      findRun(tx, id);
      tx.run("UPDATE service_runs SET docker_container_id = ? WHERE id = ?", dockerID, id);
    });
  }

  async finishRun(id: string, result: deploykit.ServiceRunFinish): Promise<deploykit.ServiceRun> {
    return this.#db.write((tx) => {
      const run = findRun(tx, id);
      if (run.status !== deploykit.RUN_RUNNING) return run;
      tx.run(
        "UPDATE service_runs SET status = ?, finished_at = ?, exit_code = ?, reason = ?, timed_out = ?, log_tail = ? WHERE id = ?",
        result.status,
        tx.now,
        result.exit_code ?? null,
        result.reason ?? null,
        result.timed_out ? 1 : 0,
        result.log_tail === undefined ? null : deploykit.lastLines(result.log_tail),
        id,
      );
      const done = findRun(tx, id);
      const svc = tx.get<{ project_id: string }>("SELECT project_id FROM services WHERE id = ?", run.service_id);
      if (svc)
        this.#db.publish(tx, deploykit.newEvent(deploykit.EVENT_RUN_FINISHED, svc.project_id, { service_id: run.service_id, run: done }));
      return done;
    });
  }
}

function findRun(tx: Tx, id: string): deploykit.ServiceRun {
  const row = tx.get<RunRow>("SELECT * FROM service_runs WHERE id = ?", id);
  if (!row) throw deploykit.errorf(deploykit.ENOTFOUND, "Run not found.");
  return toRun(row);
}

function toRun(r: RunRow): deploykit.ServiceRun {
  const run: deploykit.ServiceRun = {
    id: r.id,
    service_id: r.service_id,
    deployment_id: r.deployment_id,
    trigger: r.trigger,
    status: r.status,
    started_at: r.started_at,
  };
  if (r.finished_at !== null) run.finished_at = r.finished_at;
  if (r.exit_code !== null) run.exit_code = r.exit_code;
  if (r.reason !== null) run.reason = r.reason;
  if (r.timed_out) run.timed_out = true;
  if (r.log_tail !== null) run.log_tail = r.log_tail;
  if (r.docker_container_id !== null) run.docker_container_id = r.docker_container_id;
  return run;
}
