import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import * as deploykit from "../index.ts";

/** Bytes of an AES-256 key. */
export const SECRET_KEY_BYTES = 32;
/** The prefix of a value sealed with format version 1: `v1:` + base64(iv ‖ tag ‖ ciphertext). */
export const SEALED_V1 = "v1:";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * SecretCipher encrypts variable values at rest with AES-256-GCM: a random 12-byte IV per value, the
 * 16-byte tag checked on every read, so a value altered in the file (or read with another key) is an
 * error, never garbage. The format is versioned (`v1:`) so a later scheme can coexist with it.
 */
export class SecretCipher {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== SECRET_KEY_BYTES)
      throw deploykit.errorf(deploykit.EINVALID, `A secret key must be ${SECRET_KEY_BYTES} bytes, not ${key.length}.`);
    this.#key = Buffer.from(key);
  }

  /** A random key that lives as long as the process: for in-memory databases (tests). */
  static ephemeral(): SecretCipher {
    return new SecretCipher(randomBytes(SECRET_KEY_BYTES));
  }

  seal(plain: string): string {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv("aes-256-gcm", this.#key, iv);
    const ct = Buffer.concat([c.update(plain, "utf8"), c.final()]);
    return SEALED_V1 + Buffer.concat([iv, c.getAuthTag(), ct]).toString("base64");
  }

  /** Throws EINTERNAL when the value was sealed with another key or altered. */
  open(sealed: string): string {
    if (!sealed.startsWith(SEALED_V1)) throw deploykit.errorf(deploykit.EINTERNAL, "A stored secret has an unknown format.");
    const raw = Buffer.from(sealed.slice(SEALED_V1.length), "base64");
    if (raw.length < IV_BYTES + TAG_BYTES) throw deploykit.errorf(deploykit.EINTERNAL, "A stored secret is truncated.");
    const d = createDecipheriv("aes-256-gcm", this.#key, raw.subarray(0, IV_BYTES));
    d.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([d.update(raw.subarray(IV_BYTES + TAG_BYTES)), d.final()]).toString("utf8");
    } catch {
      throw deploykit.errorf(deploykit.EINTERNAL, "A stored secret cannot be decrypted with this secret key.");
    }
  }
}

/** Whether a stored string is in a sealed format this build reads. */
export function isSealed(stored: string): boolean {
  return stored.startsWith(SEALED_V1);
}

/**
 * A key given as text (DEPLOYKIT_SECRET_KEY): 64 hex digits or base64 of 32 bytes. Throws EINVALID
 * saying what was wrong, never echoing the text.
 */
export function parseSecretKey(text: string, from = "DEPLOYKIT_SECRET_KEY"): Buffer {
  const s = text.trim();
  let key: Buffer | null = null;
  if (/^[0-9a-fA-F]+$/.test(s) && s.length % 2 === 0) key = Buffer.from(s, "hex");
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(s)) key = Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (!key) throw deploykit.errorf(deploykit.EINVALID, `${from} must be ${SECRET_KEY_BYTES} bytes written as 64 hex digits or base64.`);
  if (key.length !== SECRET_KEY_BYTES)
    throw deploykit.errorf(
      deploykit.EINVALID,
      `${from} decodes to ${key.length} bytes; it must be ${SECRET_KEY_BYTES} (64 hex digits or 44 base64 characters). ` +
        "Generate one with: openssl rand -base64 32",
    );
  return key;
}
