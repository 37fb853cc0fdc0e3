import * as deploykit from "../index.ts";
import { fromJSON, type Tx, toJSON } from "./db.ts";

/** Moves a deployment to `phase`: closes the running span and opens the new one, in the caller's transaction. */
export function moveToPhase(tx: Tx, id: string, phase: deploykit.DeploymentPhase): void {
  const row = tx.get<{ phases: string | null }>("SELECT phases FROM deployments WHERE id = ?", id);
  if (!row) throw deploykit.errorf(deploykit.ENOTFOUND, "Deployment not found.");
  const phases = deploykit.advancePhases(fromJSON<deploykit.PhaseSpan[]>(row.phases, []), phase, tx.now);
  tx.run("UPDATE deployments SET phase = ?, phases = ? WHERE id = ?", phase, toJSON(phases), id);
}
