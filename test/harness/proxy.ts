import { request } from "node:https";

/**
 * GET / through the proxy's HTTPS port on 127.0.0.1 with `hostname` as SNI and Host, trusting only
 * `ca`; null when no answer came (refused, reset, 5 s timeout).
 */
export function getViaProxy(httpsPort: number, hostname: string, ca: string): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port: httpsPort, path: "/", servername: hostname, headers: { host: hostname }, ca, timeout: 5000 },
      (res) => {
        let body = "";
        res.on("data", (b: Buffer) => {
          body += b.toString("utf8");
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(null));
    req.end();
  });
}
