import { spawn } from "node:child_process";

// A latency probe in a process of its own, so the test process's own load (parsing floods of SSE,
// hundreds of sockets) does not inflate the API latencies it reports.
const SCRIPT = `
const [url, token, ms, gap] = process.argv.slice(1);
const out = []; const statuses = {};
const end = Date.now() + Number(ms);
(async () => {
  while (Date.now() < end) {
    const t0 = performance.now();
    try {
      const r = await fetch(url, { headers: { authorization: "Bearer " + token }, signal: AbortSignal.timeout(30000) });
      await r.arrayBuffer();
      statuses[r.status] = (statuses[r.status] || 0) + 1;
    } catch (e) { statuses.error = (statuses.error || 0) + 1; }
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, Number(gap)));
  }
  process.stdout.write(JSON.stringify({ latencies: out, statuses }));
})();
`;

/** GETs `url` every `gapMs` for `ms` from a separate Node process; resolves with every latency (ms) and the status counts. */
export function pingFromChild(
  url: string,
  token: string,
  ms: number,
  gapMs = 100,
): Promise<{ latencies: number[]; statuses: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["-e", SCRIPT, url, token, String(ms), String(gapMs)], { stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    p.stdout.on("data", (b: Buffer) => {
      text += b.toString();
    });
    p.on("error", reject);
    p.on("exit", () => {
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(err);
      }
    });
  });
}
