import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startServer } from "../../test/http/harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
});

/** Opens a raw connection, writes `text` and resolves with what the server sent before it closed. */
function trickle(url: string, text: string, maxMs: number): Promise<{ data: string; closedAfterMs: number }> {
  const { hostname, port } = new URL(url);
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: hostname, port: Number(port) }, () => s.write(text));
    let data = "";
    s.on("data", (d) => {
      data += d.toString();
    });
    s.on("error", () => {});
    s.on("close", () => resolve({ data, closedAfterMs: Date.now() - start }));
    setTimeout(() => {
      s.destroy();
      reject(new Error(`connection still open after ${maxMs} ms`));
    }, maxMs);
  });
}

describe("slow clients", () => {
  it("closes a connection whose headers never finish", async () => {
    h = await startServer({ limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 } });
    const r = await trickle(h.url, "GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ", 5000);
    expect(r.data === "" || r.data.startsWith("HTTP/1.1 408")).toBe(true);
    expect(r.closedAfterMs).toBeLessThan(3000);
  });

  it("closes a connection whose body never finishes", async () => {
    h = await startServer({ limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 } });
    const r = await trickle(
      h.url,
      "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
      5000,
    );
    expect(r.data === "" || r.data.startsWith("HTTP/1.1 408")).toBe(true);
    expect(r.closedAfterMs).toBeLessThan(3000);
  });

  it("answers a complete request as usual", async () => {
    h = await startServer({ limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 } });
    expect(await (await fetch(`${h.url}/api/health`)).json()).toEqual({ status: "ok" });
  });
});

describe("idle keep-alive connections", () => {
  it("stay open well past Node's 5 s default and the headers timeout, so a reused socket is not closed under a client", async () => {
    h = await startServer({ limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 } });
    const { hostname, port } = new URL(h.url);
    const s = net.connect({ host: hostname, port: Number(port) });
    let data = "";
    let closed = false;
    s.on("data", (d) => {
      data += d.toString();
    });
    s.on("error", () => {});
    s.on("close", () => {
      closed = true;
    });
    const get = "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n";
    s.write(get);
    await new Promise((r) => setTimeout(r, 500));
    expect(data).toMatch(/^HTTP\/1\.1 200/);
    expect(data.toLowerCase()).toContain("keep-alive: timeout=72");
    // Idle for longer than the headers timeout: the connection is still there and answers.
    await new Promise((r) => setTimeout(r, 1500));
    expect(closed).toBe(false);
    s.write(get);
    await new Promise((r) => setTimeout(r, 500));
    expect(data.match(/HTTP\/1\.1 200/g)).toHaveLength(2);
    s.destroy();
  });
});
