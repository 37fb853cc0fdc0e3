import { envKeyError } from "../../../lib/validation.ts";

/**
 * Why `next` cannot become the key of the variable now called `current`, or null. Keeping the
 * current key is not an error (nothing is staged); `taken` holds the owner's other keys.
 */
export function renameKeyError(next: string, current: string, taken: ReadonlySet<string>): string | null {
  if (next === current) return null;
  return envKeyError(next) ?? (taken.has(next) ? `Env var "${next}" already exists.` : null);
}
