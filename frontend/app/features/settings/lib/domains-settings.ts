/** The admin settings of issue 12 (public domains): pure helpers of the General settings form. */

/** Mirrors LETS_ENCRYPT_PRODUCTION / LETS_ENCRYPT_STAGING in src/system.ts (the SPA imports only types from there). */
export const LETS_ENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory";
export const LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory";

export type DirectoryChoice = "production" | "staging" | "custom";

export function directoryChoice(url: string): DirectoryChoice {
  if (url === "" || url === LETS_ENCRYPT_PRODUCTION) return "production";
  if (url === LETS_ENCRYPT_STAGING) return "staging";
  return "custom";
}

/** The lines of a list setting: trimmed, lower-cased, blanks dropped. */
export function listLines(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((l) => l.trim().toLowerCase())
    .filter((l) => l !== "");
}
