import type { ReferenceCatalog } from "../../../../../src/envvar.ts";

/** The namespace of shared variables in references (`${{shared.KEY}}`). */
const SHARED_NAMESPACE = "shared";

/** One suggestion: the text that replaces what was typed since `${{`, and what to show. */
export interface Suggestion {
  label: string;
  insert: string;
  /** Resolved value preview; absent for a service or when masked. */
  preview?: string;
  masked?: boolean;
  /** A service or "shared": picking it lists its variables next. */
  group?: boolean;
}

/**
 * What to suggest at the caret: after an unclosed `${{` the services (and `shared`), after
 * `${{name.` that service's variables. `null` when the caret is not inside a reference.
 */
export function suggestAt(
  text: string,
  caret: number,
  catalog: ReferenceCatalog | undefined,
): { from: number; items: Suggestion[] } | null {
  if (!catalog) return null;
  const before = text.slice(0, caret);
  const open = before.lastIndexOf("${{");
  if (open < 0 || before.slice(open).includes("}}") || (open > 0 && before[open - 1] === "$")) return null;
  const typed = before.slice(open + 3).trimStart();
  const from = caret - typed.length;
  const dot = typed.indexOf(".");
  if (dot < 0) {
    const q = typed.toLowerCase();
    const groups: Suggestion[] = [
      ...catalog.services.map((s) => ({ label: s.name, insert: `${s.name}.`, group: true })),
      ...(catalog.shared.length > 0 ? [{ label: SHARED_NAMESPACE, insert: `${SHARED_NAMESPACE}.`, group: true }] : []),
    ];
    return { from, items: groups.filter((g) => g.label.toLowerCase().startsWith(q)) };
  }
  const name = typed.slice(0, dot);
  const q = typed.slice(dot + 1).toLowerCase();
  const vars = name === SHARED_NAMESPACE ? catalog.shared : catalog.services.find((s) => s.name === name)?.variables;
  if (!vars) return { from, items: [] };
  return {
    from,
    items: vars
      .filter((v) => v.key.toLowerCase().startsWith(q))
      .map((v) => ({
        label: v.key,
        insert: `${name}.${v.key}}}`,
        ...(v.masked ? { masked: true } : v.value !== undefined ? { preview: v.value } : {}),
      })),
  };
}

/** The text with the suggestion applied at the caret, and where the caret goes. */
export function applySuggestion(text: string, caret: number, from: number, s: Suggestion): { text: string; caret: number } {
  let after = text.slice(caret);
  // Picking a variable completes the reference: drop a closing `}}` the user already typed.
  if (!s.group && after.startsWith("}}")) after = after.slice(2);
  const next = text.slice(0, from) + s.insert + after;
  return { text: next, caret: from + s.insert.length };
}

/** Who references a variable: `owner.key` of every direct reference to `target.key`. */
export function referencedBy(catalog: ReferenceCatalog | undefined, target: string, key: string): string[] {
  if (!catalog) return [];
  return [
    ...new Set(
      catalog.uses.filter((u) => u.target === target && u.target_key === key && u.owner !== target).map((u) => `${u.owner}.${u.key}`),
    ),
  ];
}
