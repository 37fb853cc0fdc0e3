import * as deploykit from "../index.ts";
import { fromJSON, type Tx, toJSON } from "./db.ts";

function assertDeployment(tx: Tx, id: string): void {
  if (!tx.get("SELECT 1 FROM deployments WHERE id = ?", id)) throw deploykit.errorf(deploykit.ENOTFOUND, "Deployment not found.");
}

/** The lines kept with a deployment at teardown, oldest first. Throws ENOTFOUND. */
export function findDeploymentLogs(tx: Tx, id: string): deploykit.LogLine[] {
  assertDeployment(tx, id);
  const row = tx.get<{ lines: string }>("SELECT lines FROM deployment_logs WHERE deployment_id = ?", id);
  return row ? fromJSON<deploykit.LogLine[]>(row.lines, []) : [];
}

/** Merges `lines` into what earlier replicas left, bounded by keepLogLines. Throws ENOTFOUND. */
export function keepDeploymentLogs(tx: Tx, id: string, lines: deploykit.LogLine[]): void {
  const kept = deploykit.keepLogLines(findDeploymentLogs(tx, id), lines);
  tx.run(
    "INSERT INTO deployment_logs (deployment_id, lines, updated_at) VALUES (?, ?, ?) " +
      "ON CONFLICT (deployment_id) DO UPDATE SET lines = excluded.lines, updated_at = excluded.updated_at",
    id,
    toJSON(kept),
    tx.now,
  );
}
