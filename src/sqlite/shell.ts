import * as deploykit from "../index.ts";
import { type DB, fromJSON, newID, queryPage, type Tx } from "./db.ts";

interface Row {
  id: string;
  user_id: string;
  user_email: string | null;
  project_id: string;
  service_id: string;
  container_id: string;
  replica_index: number;
  command: string;
  started_at: string;
  ended_at: string | null;
  duration_ms: number | null;
  exit_code: number | null;
}

const SELECT = "s.*, u.email AS user_email";
const FROM = "shell_sessions s LEFT JOIN users u ON u.id = s.user_id";

function fromRow(r: Row): deploykit.ShellSession {
  const command = fromJSON<unknown>(r.command, []);
  return {
    id: r.id,
    user_id: r.user_id,
    user_email: r.user_email ?? "",
    project_id: r.project_id,
    service_id: r.service_id,
    container_id: r.container_id,
    replica_index: r.replica_index,
    command: Array.isArray(command) ? command.filter((a): a is string => typeof a === "string") : [],
    started_at: r.started_at,
    ended_at: r.ended_at,
    duration_ms: r.duration_ms,
    exit_code: r.exit_code,
  };
}

function findByID(tx: Tx, id: string): deploykit.ShellSession {
  const r = tx.get<Row>(`SELECT ${SELECT} FROM ${FROM} WHERE s.id = ?`, id);
  if (!r) throw deploykit.errorf(deploykit.ENOTFOUND, "Shell session not found.");
  return fromRow(r);
}

/** The audit trail of browser shells (table shell_sessions). */
export class ShellSessionService implements deploykit.ShellSessionService {
  readonly #db: DB;

  constructor(db: DB) {
    this.#db = db;
  }

  async startShellSession(input: deploykit.ShellSessionCreate): Promise<deploykit.ShellSession> {
    const command = deploykit.validateShellCommand(input.command);
    return this.#db.write((tx) => {
      const id = newID();
      tx.run(
        `INSERT INTO shell_sessions (id, user_id, project_id, service_id, container_id, replica_index, command, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        id,
        input.user_id,
        input.project_id,
        input.service_id,
        input.container_id,
        input.replica_index,
        JSON.stringify(command),
        tx.now,
      );
      return findByID(tx, id);
    });
  }

  async endShellSession(id: string, exitCode: number | null): Promise<void> {
    this.#db.write((tx) => {
      const r = tx.get<{ started_at: string }>("SELECT started_at FROM shell_sessions WHERE id = ? AND ended_at IS NULL", id);
      if (!r) return;
      const ms = Math.max(0, tx.nowDate.getTime() - Date.parse(r.started_at));
      tx.run("UPDATE shell_sessions SET ended_at = ?, duration_ms = ?, exit_code = ? WHERE id = ?", tx.now, ms, exitCode, id);
    });
  }

  async findShellSessions(page: deploykit.Page): Promise<deploykit.PageResult<deploykit.ShellSession>> {
    return this.#db.read((tx) => {
      const { rows, total } = queryPage<Row>(tx, {
        select: SELECT,
        from: FROM,
        countFrom: "shell_sessions s",
        conds: [],
        params: [],
        order: "s.started_at DESC, s.rowid DESC",
        page,
      });
      return { items: rows.map(fromRow), total };
    });
  }
}
