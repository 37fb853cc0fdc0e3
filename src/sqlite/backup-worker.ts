// Runs one scheduled backup (VACUUM INTO through its own read-only connection, then integrity_check
// of the copy) on a worker thread: a large database never blocks the event loop that serves the API.
import { parentPort, workerData } from "node:worker_threads";
import { backupFile } from "./backup.ts";

const { src, dest } = workerData as { src: string; dest: string };
try {
  const rep = backupFile(src, dest);
  parentPort?.postMessage({ ok: true, report: rep });
} catch (err) {
  parentPort?.postMessage({ ok: false, error: (err as Error).message });
}
