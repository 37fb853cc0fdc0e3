/**
 * Slugs name Docker objects (`dk-<slug>`), so they are DNS-safe: lowercase ASCII letters, digits and
 * single hyphens, at most 47 characters including the random suffix.
 */

export const SLUG_BASE_MAX = 40;
export const SLUG_SUFFIX_BYTES = 3;
export const SLUG_PATTERN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/**
 * The name part of a slug: accents folded to ASCII (é → e), runs of anything other than a–z and 0–9
 * become one hyphen, trimmed, cut to 40 characters; "project" when nothing is left.
 */
export function slugBase(name: string): string {
  const folded = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase();
  let base = folded.replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  if (base.length > SLUG_BASE_MAX) base = base.slice(0, SLUG_BASE_MAX).replace(/-+$/g, "");
  return base === "" ? "project" : base;
}

/**
 * A slug for a new project: `slugBase(name)` + "-" + 6 hex characters from `randomHex`, which the
 * caller provides (crypto in production, fixed in tests) so the domain stays dependency-free.
 */
export function generateSlug(name: string, randomHex: string): string {
  const suffix = randomHex
    .toLowerCase()
    .replace(/[^0-9a-f]/g, "")
    .slice(0, SLUG_SUFFIX_BYTES * 2);
  return `${slugBase(name)}-${suffix.padEnd(SLUG_SUFFIX_BYTES * 2, "0")}`;
}
