// Canvas broadcast latency (PRODUCT.md §5): 50 clients in one project; one of them moves a node
// (node:move → canvas.moveNodes in SQLite → node:moved to the 49 others). Latency is measured from
// the send to each receipt, all clients in this process, the server in its own child process
// (bench/_http-server.ts, real SQLite file + EventBus). Budget: p99 ≤ 50 ms.
//   node bench/canvas.ts [moves=300] [intervalMs=20]
import { spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";

const MOVES = Number(process.argv[2] ?? 300);
const INTERVAL = Number(process.argv[3] ?? 20);
const CLIENTS = 50;
const here = dirname(fileURLToPath(import.meta.url));

const proc = spawn(process.execPath, ["--max-semi-space-size=2", join(here, "_http-server.ts"), "0"], {
  stdio: ["ignore", "pipe", "inherit"],
});
const rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
const [line] = (await once(rl, "line")) as [string];
rl.close();
const { port, token, projectID } = JSON.parse(line) as { port: number; token: string; projectID: string };

const sent = new Map<number, number>();
const latencies: number[] = [];

async function connect(i: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/projects/${projectID}/canvas/ws`);
  await once(ws, "open");
  const ready = new Promise<void>((resolve) => {
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as { type: string; payload: { positions?: { position_x: number }[] } };
      if (msg.type === "pending-changes:state") resolve();
      if (msg.type === "node:moved" && i !== 0) {
        const at = sent.get(msg.payload.positions?.[0]?.position_x ?? -1);
        if (at !== undefined) latencies.push(performance.now() - at);
      }
    });
  });
  ws.send(JSON.stringify({ type: "auth", payload: { token } }));
  await ready;
  return ws;
}

const clients: WebSocket[] = [];
for (let i = 0; i < CLIENTS; i++) clients.push(await connect(i));
const mover = clients[0] as WebSocket;
mover.send(JSON.stringify({ type: "node:upsert", payload: { id: "bench-node", type: "note", position_x: -1, position_y: 0 } }));
await new Promise((r) => setTimeout(r, 300));

for (let i = 0; i < MOVES; i++) {
  sent.set(i, performance.now());
  mover.send(JSON.stringify({ type: "node:move", payload: { positions: [{ id: "bench-node", position_x: i, position_y: i }] } }));
  await new Promise((r) => setTimeout(r, INTERVAL));
}
const want = MOVES * (CLIENTS - 1);
const deadline = Date.now() + 10_000;
while (latencies.length < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
for (const ws of clients) ws.close();
proc.kill("SIGTERM");
await once(proc, "exit");

const s = [...latencies].sort((a, b) => a - b);
const pct = (p: number) => (s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN).toFixed(2);
process.stdout.write(
  `${CLIENTS} clients, ${MOVES} moves every ${INTERVAL} ms: ${latencies.length}/${want} deliveries, ` +
    `p50 ${pct(50)} ms, p90 ${pct(90)} ms, p99 ${pct(99)} ms, max ${pct(100)} ms (budget p99 ≤ 50 ms ${Number(pct(99)) <= 50 ? "✔" : "✘"})\n`,
);
if (latencies.length < want) process.exit(1);
