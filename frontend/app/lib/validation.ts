/**
 * The forms' checks, on the domain's own rules (src/service.ts, src/deployment.ts, src/envvar.ts) so
 * a form and the server never disagree; the server re-checks everything.
 */
import { IMAGE_MAX, IMAGE_MESSAGE, IMAGE_PATTERN, MAX_REPLICAS, VOLUME_NAME_PATTERN } from "../../../src/deployment.ts";
import { ENV_KEY_MESSAGE, ENV_KEY_PATTERN } from "../../../src/envvar.ts";
import { SERVICE_NAME_MESSAGE, SERVICE_NAME_PATTERN, validateIconURL } from "../../../src/service.ts";

export {
  ENV_KEY_MESSAGE,
  ENV_KEY_PATTERN,
  IMAGE_MESSAGE,
  IMAGE_PATTERN,
  MAX_REPLICAS,
  SERVICE_NAME_MESSAGE,
  SERVICE_NAME_PATTERN,
  VOLUME_NAME_PATTERN,
};

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
  if (i.length > IMAGE_MAX || !IMAGE_PATTERN.test(i)) return IMAGE_MESSAGE;
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

/** The domain's icon URL rule (src/service.ts validateIconURL); "" clears the icon. */
export function iconURLError(icon: string): string | null {
  return firstError((v) => validateIconURL(icon, v));
}

/** The first message a domain validator reports (a form shows one per field). */
export function firstError(check: (v: { add: (field: string, message: string) => void }) => void): string | null {
  let message: string | null = null;
  check({ add: (_field, m) => (message ??= m) });
  return message;
}
