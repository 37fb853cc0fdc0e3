import * as deploykit from "../index.ts";
import { fromJSON, newID, type Tx, toJSON } from "./db.ts";
import { openPayload, sealPayload } from "./secret-rows.ts";

/** The staged-change log's storage: one row per entry, ordered by `seq` within a project. */

export interface PendingRow {
  id: string;
  project_id: string;
  seq: number;
  op: deploykit.PendingOp;
  target_type: deploykit.TargetType;
  target_id: string | null;
  target_temp_id: string | null;
  parent_temp_id: string | null;
  payload: string;
  user_id: string | null;
  created_at: string;
}

export function toChange(tx: Tx, r: PendingRow): deploykit.PendingChange {
  const c: deploykit.PendingChange = {
    id: r.id,
    project_id: r.project_id,
    seq: r.seq,
    op: r.op,
    target_type: r.target_type,
    payload: openPayload(tx, fromJSON<deploykit.Payload>(r.payload, {})),
    created_at: r.created_at,
  };
  if (r.target_id !== null) c.target_id = r.target_id;
  if (r.target_temp_id !== null) c.target_temp_id = r.target_temp_id;
  if (r.parent_temp_id !== null) c.parent_temp_id = r.parent_temp_id;
  if (r.user_id !== null) c.user_id = r.user_id;
  return c;
}

export function loadLog(tx: Tx, projectID: string): deploykit.PendingChange[] {
  return tx.all<PendingRow>("SELECT * FROM pending_changes WHERE project_id = ? ORDER BY seq", projectID).map((r) => toChange(tx, r));
}

export function findEntry(tx: Tx, projectID: string, id: string): deploykit.PendingChange {
  const r = tx.get<PendingRow>("SELECT * FROM pending_changes WHERE id = ? AND project_id = ?", id, projectID);
  if (!r) throw deploykit.errorf(deploykit.ENOTFOUND, "Pending change not found.");
  return toChange(tx, r);
}

export function insertEntry(tx: Tx, projectID: string, userID: string | null, c: deploykit.PendingChangeAppend): deploykit.PendingChange {
  const seq = (tx.get<{ m: number | null }>("SELECT MAX(seq) AS m FROM pending_changes WHERE project_id = ?", projectID)?.m ?? 0) + 1;
  const row: PendingRow = {
    id: newID(),
    project_id: projectID,
    seq,
    op: c.op,
    target_type: c.target_type,
    target_id: c.target_id ?? null,
    target_temp_id: c.target_temp_id ?? null,
    parent_temp_id: c.parent_temp_id ?? null,
    payload: toJSON(sealPayload(tx, c.payload ?? {})),
    user_id: userID && tx.get("SELECT 1 FROM users WHERE id = ?", userID) ? userID : null,
    created_at: tx.now,
  };
  tx.run(
    `INSERT INTO pending_changes (id, project_id, seq, op, target_type, target_id, target_temp_id, parent_temp_id, payload, user_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    row.id,
    row.project_id,
    row.seq,
    row.op,
    row.target_type,
    row.target_id,
    row.target_temp_id,
    row.parent_temp_id,
    row.payload,
    row.user_id,
    row.created_at,
  );
  return toChange(tx, row);
}
