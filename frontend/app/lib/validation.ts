/**
 * Client-side copies of the domain's validation rules (src/service.ts, src/deployment.ts). The SPA
 * may import the domain for types only, so these are duplicated here; the server re-checks them.
 */
export const SERVICE_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const SERVICE_NAME_MESSAGE =
  "Name must be a DNS label: lowercase letters, digits and hyphens, at most 63 characters, starting and ending with a letter or digit.";
export const IMAGE_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/;
export const IMAGE_MESSAGE = "Image must be a Docker image reference such as nginx:1.27 or ghcr.io/org/app:tag.";
export const ENV_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const ENV_KEY_MESSAGE = "Key must contain only letters, digits and underscores, and cannot start with a digit.";
export const VOLUME_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
export const MAX_REPLICAS = 20;

export function serviceNameError(name: string, taken: ReadonlySet<string>, own?: string): string | null {
  const n = name.trim();
  if (n === "") return "Name is required.";
  if (!SERVICE_NAME_PATTERN.test(n)) return SERVICE_NAME_MESSAGE;
  if (taken.has(n.toLowerCase()) && n.toLowerCase() !== own?.toLowerCase()) return `A service named "${n}" already exists.`;
  return null;
}

export function imageError(image: string): string | null {
  const i = image.trim();
  if (i === "") return "Image is required.";
  if (i.length > 512 || !IMAGE_PATTERN.test(i)) return IMAGE_MESSAGE;
  return null;
}

export function envKeyError(key: string): string | null {
  if (key === "") return "Key is required.";
  if (!ENV_KEY_PATTERN.test(key)) return ENV_KEY_MESSAGE;
  return null;
}

/** Parses a port field: "" → undefined, otherwise an integer 1–65535 or an error message. */
export function parsePort(raw: string, what: string): { value?: number; error?: string } {
  const s = raw.trim();
  if (s === "") return {};
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > 65535) return { error: `${what} must be between 1 and 65535.` };
  return { value: n };
}

export function iconURLError(icon: string): string | null {
  if (icon === "") return null;
  if (icon.length > 2048) return "Icon URL is too long (max 2048 characters).";
  let url: URL;
  try {
    url = new URL(icon);
  } catch {
    return "Icon URL is not a valid URL.";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "Icon URL must use http or https.";
  return null;
}
