import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { isSealed, parseSecretKey, SecretCipher } from "./secret-cipher.ts";

describe("SecretCipher", () => {
  const a = new SecretCipher(Buffer.alloc(32, 1));
  const b = new SecretCipher(Buffer.alloc(32, 2));

  it.each(["", "hunter2", "ünïcødé ✓", "x".repeat(70_000)])("round-trips %#", (plain) => {
    const sealed = a.seal(plain);
    expect(isSealed(sealed)).toBe(true);
    expect(sealed).not.toContain(plain || "\u0000");
    expect(a.open(sealed)).toBe(plain);
  });

  it("uses a fresh IV per value: the same plaintext seals differently", () => {
    expect(a.seal("same")).not.toBe(a.seal("same"));
  });

  it("refuses another key, a tampered value and an unknown format", () => {
    const sealed = a.seal("secret");
    expect(() => b.open(sealed)).toThrow("A stored secret cannot be decrypted with this secret key.");
    const raw = Buffer.from(sealed.slice(3), "base64");
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(() => a.open(`v1:${raw.toString("base64")}`)).toThrow("cannot be decrypted");
    expect(() => a.open("v9:abc")).toThrow("unknown format");
    expect(() => a.open("v1:AAAA")).toThrow("truncated");
  });

  it("refuses a key of the wrong length", () => {
    expect(() => new SecretCipher(Buffer.alloc(16))).toThrow("A secret key must be 32 bytes, not 16.");
  });
});

describe("parseSecretKey", () => {
  const key = Buffer.alloc(32, 9);
  it.each([key.toString("hex"), key.toString("base64"), key.toString("base64url"), ` ${key.toString("base64")}\n`])("reads %s", (text) => {
    expect(parseSecretKey(text).equals(key)).toBe(true);
  });

  it.each([
    ["abcd", "DEPLOYKIT_SECRET_KEY decodes to 2 bytes; it must be 32"],
    [Buffer.alloc(16).toString("base64"), "decodes to 16 bytes"],
    ["not a key!", "DEPLOYKIT_SECRET_KEY must be 32 bytes written as 64 hex digits or base64."],
  ])("refuses %s without echoing it", (text, message) => {
    let err: unknown;
    try {
      parseSecretKey(text);
    } catch (e) {
      err = e;
    }
    expect(deploykit.errorCode(err)).toBe(deploykit.EINVALID);
    expect(deploykit.errorMessage(err)).toContain(message);
    expect(deploykit.errorMessage(err)).not.toContain(text.trim());
  });
});
