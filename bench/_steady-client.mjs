// Steady-rate GET load for bench/ingress-redeploy.ts, run as a process of its own: on the host
// (through the proxy, HTTPS with SNI) or in a container on a project network (plain JavaScript, so
// the test Node image runs it as is; by service name). Open loop: a request is due every 1000/rate
// ms whatever the answers do, up to `max` in flight. SIGTERM ends the run: it waits for the requests
// in flight and prints one JSON line: sent, ok, failed (by kind), p50/p99/max latency and the
// longest stretch without a successful answer (`gap`).
//   node bench/_steady-client.mjs '{"url":"http://web:8080/","rate":200}'
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";

const cfg = JSON.parse(process.argv[2] ?? "{}");
const url = new URL(cfg.url);
const tls = url.protocol === "https:";
const max = cfg.max ?? 256;
const keepAlive = cfg.keepAlive !== false;
const agent = tls
  ? new https.Agent({ keepAlive, maxSockets: max, ca: cfg.caFile ? readFileSync(cfg.caFile) : undefined })
  : new http.Agent({ keepAlive, maxSockets: max });

const started = performance.now();
const w = { sent: 0, ok: 0, failed: 0, skipped: 0, kinds: {}, lat: [], lastOk: started, gap: 0 };
let inflight = 0;
let sent = 0;
let stopping = false;

function fail(kind) {
  w.failed++;
  w.kinds[kind] = (w.kinds[kind] ?? 0) + 1;
}

function one() {
  if (inflight >= max) {
    w.skipped++;
    return;
  }
  inflight++;
  w.sent++;
  const t0 = performance.now();
  let done = false;
  const finish = (kind) => {
    if (done) return;
    done = true;
    inflight--;
    const now = performance.now();
    if (kind === null) {
      w.ok++;
      w.lat.push(now - t0);
      w.gap = Math.max(w.gap, now - w.lastOk);
      w.lastOk = now;
    } else fail(kind);
  };
  const headers = cfg.hostHeader ? { host: cfg.hostHeader } : {};
  const opts = { host: url.hostname, port: url.port, path: url.pathname, headers, agent, timeout: 120_000 };
  if (tls && cfg.servername) opts.servername = cfg.servername;
  const req = (tls ? https : http).request(opts, (res) => {
    res.resume();
    res.on("end", () => finish(res.statusCode === 200 ? null : `status ${res.statusCode}`));
    res.on("error", (e) => finish(e.code ?? e.message));
  });
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", (e) => finish(e.code ?? e.message.slice(0, 60)));
  req.end();
}

function pct(a, p) {
  if (a.length === 0) return 0;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const timer = setInterval(() => {
  const due = Math.floor(((performance.now() - started) * cfg.rate) / 1000);
  while (sent < due) {
    one();
    sent++;
  }
}, 2);

process.on("SIGTERM", stop);

function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  const end = Date.now() + 130_000;
  const wait = () => {
    if (inflight > 0 && Date.now() < end) return setTimeout(wait, 20);
    const out = {
      rate: cfg.rate,
      seconds: (performance.now() - started) / 1000,
      inflightLeft: inflight,
      sent: w.sent,
      ok: w.ok,
      failed: w.failed,
      skipped: w.skipped,
      kinds: w.kinds,
      p50: pct(w.lat, 50),
      p99: pct(w.lat, 99),
      max: pct(w.lat, 100),
      gap: w.gap,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
  };
  wait();
}
