import { describe, expect, it } from "vitest";
import { chunks, INPUT_CHUNK_BYTES, shellSocketURL } from "./shell.ts";

describe("shell socket helpers", () => {
  it("puts the argv in the URL as JSON (never a shell line) and the replica when chosen", () => {
    const u = new URL(shellSocketURL({ protocol: "https:", host: "dk.example:8443" }, "p 1", "s/1", ["sh", "-c", "ls && echo 'a b'"], 2));
    expect(u.protocol).toBe("wss:");
    expect(u.pathname).toBe("/api/projects/p%201/services/s%2F1/shell");
    expect(JSON.parse(u.searchParams.get("command") ?? "")).toEqual(["sh", "-c", "ls && echo 'a b'"]);
    expect(u.searchParams.get("replica")).toBe("2");
    const plain = new URL(shellSocketURL({ protocol: "http:", host: "localhost" }, "p", "s", ["sh"], null));
    expect(plain.protocol).toBe("ws:");
    expect(plain.searchParams.has("replica")).toBe(false);
  });

  it("cuts a paste into frames below the server's bound", () => {
    const data = new Uint8Array(INPUT_CHUNK_BYTES * 2 + 5);
    const parts = chunks(data);
    expect(parts.map((p) => p.length)).toEqual([INPUT_CHUNK_BYTES, INPUT_CHUNK_BYTES, 5]);
    expect(INPUT_CHUNK_BYTES).toBeLessThanOrEqual(16 * 1024);
    expect(chunks(new Uint8Array(0))).toEqual([]);
  });
});
