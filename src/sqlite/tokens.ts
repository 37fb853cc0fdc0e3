import { createHash, randomBytes } from "node:crypto";

/** 32 random bytes, base64url, behind a prefix that secret scanners recognise. */
export function generateToken(prefix: string): string {
  return prefix + randomBytes(32).toString("base64url");
}

/** Only this digest is stored: a stolen database file yields no usable credential. */
export function tokenDigest(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
