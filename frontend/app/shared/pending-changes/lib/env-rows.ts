import type { MaskedEnvVar } from "../../../../../src/envvar.ts";
import type { PendingChange } from "../../../../../src/pending-change.ts";
import { payloadText } from "./staged.ts";

// A variables table's rows (project, group or service scope): the applied variables with the staged
// entries for them merged in.

export type EnvRowState = "unchanged" | "add" | "edit" | "remove";

export interface EnvRow {
  key: string;
  /**
   * The value the row will have after Deploy (the old one for removals), when known: applied values
   * are masked by the API (revealed one at a time) and sealed ones are never sent.
   */
  value?: string;
  sealed: boolean;
  state: EnvRowState;
  /** The applied variable, when there is one. */
  envVar?: MaskedEnvVar;
  /** The applied key when a rename is staged (`key` is then the new one). */
  renamedFrom?: string;
  /** Staged entries that make up the row's pending state (undo removes them all). */
  changeIds: string[];
}

/**
 * Merges applied variables of one owner with the staged entries for it. Delete-then-create of the
 * same key is an edit. Pending rows come after unchanged ones, then by key.
 */
export function mergeEnvRows(
  applied: readonly MaskedEnvVar[],
  changes: readonly PendingChange[],
  scope: string,
  ownerID: string,
): EnvRow[] {
  const rows = new Map<string, EnvRow>();
  const opt = (v: unknown) => (typeof v === "string" ? v : undefined);
  for (const v of applied) rows.set(v.key, { key: v.key, sealed: v.sealed, state: "unchanged", envVar: v, changeIds: [] });
  for (const c of changes) {
    const p = c.payload;
    if (payloadText(p.scope) !== scope) continue;
    const key = payloadText(p.key);
    if (c.op === "env_var.create") {
      if (c.target_id !== ownerID && c.parent_temp_id !== ownerID) continue;
      const prev = rows.get(key);
      const sealed = p.sealed === true;
      if (prev && prev.state === "remove")
        rows.set(key, { ...prev, value: opt(p.value), sealed, state: "edit", changeIds: [...prev.changeIds, c.id] });
      else rows.set(key, { key, value: opt(p.value), sealed, state: "add", changeIds: [...(prev?.changeIds ?? []), c.id] });
    } else if (c.op === "env_var.update" || c.op === "env_var.delete") {
      if (payloadText(p.scope_id) !== ownerID) continue;
      // By id first: the payload names the applied key, which a staged rename has moved off the row.
      const prev = [...rows.values()].find((r) => r.envVar && r.envVar.id === c.target_id) ?? rows.get(key);
      const base: EnvRow = prev ?? { key, value: opt(p.old_value), sealed: p.sealed === true, state: "unchanged", changeIds: [] };
      rows.delete(base.key);
      if (c.op === "env_var.update") {
        const next = typeof p.new_key === "string" && p.new_key !== "" ? p.new_key : base.key;
        const from = base.renamedFrom ?? base.key;
        rows.set(next, {
          ...base,
          key: next,
          value: opt(p.value),
          state: base.state === "add" ? "add" : "edit",
          changeIds: [...base.changeIds, c.id],
          ...(next !== from ? { renamedFrom: from } : { renamedFrom: undefined }),
        });
      } else rows.set(base.key, { ...base, value: opt(p.old_value), state: "remove", changeIds: [...base.changeIds, c.id] });
    }
  }
  const order = (r: EnvRow) => (r.state === "unchanged" ? 0 : 1);
  return [...rows.values()].sort((a, b) => order(a) - order(b) || a.key.localeCompare(b.key));
}
