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
