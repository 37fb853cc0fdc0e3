import type * as deploykit from "../index.ts";
import type { Tx } from "./db.ts";

const SOURCE_KEYS = ["repo_url", "branch", "root_dir", "dockerfile_path"] as const;

/** The stored form of a source setting: blank means unset. */
function orNull(v: string | null | undefined): string | null {
  return typeof v === "string" && v.trim() !== "" ? v.trim() : null;
}

/** A service row's source columns as the domain sees them. */
export function sourceOf(r: Partial<Record<(typeof SOURCE_KEYS)[number], string | null>>): deploykit.ServiceSource {
  return {
    repo_url: r.repo_url ?? null,
    branch: r.branch ?? null,
    root_dir: r.root_dir ?? null,
    dockerfile_path: r.dockerfile_path ?? null,
  };
}

/** Copies the update's source settings onto `next`; true when one changed. */
export function applySourceUpdate(next: deploykit.Service, svc: deploykit.Service, upd: deploykit.ServiceUpdate): boolean {
  let changed = false;
  for (const key of SOURCE_KEYS) {
    if (upd[key] === undefined) continue;
    const v = orNull(upd[key]);
    if (v !== svc[key]) {
      next[key] = v;
      changed = true;
    }
  }
  return changed;
}

export function writeSource(tx: Tx, id: string, s: Partial<deploykit.ServiceSource>): void {
  tx.run(
    "UPDATE services SET repo_url = ?, branch = ?, root_dir = ?, dockerfile_path = ? WHERE id = ?",
    orNull(s.repo_url),
    orNull(s.branch),
    orNull(s.root_dir),
    orNull(s.dockerfile_path),
    id,
  );
}
