// Runs bcrypt (pure JavaScript, ~70 ms of CPU per hash at cost 10) on a worker thread, so a burst of
// logins never blocks the event loop that serves the API, the canvas hub and the reconciler.
import { parentPort } from "node:worker_threads";
import bcrypt from "bcryptjs";

interface Job {
  id: number;
  op: "hash" | "compare";
  password: string;
  hash?: string;
  cost?: number;
}

parentPort?.on("message", (job: Job) => {
  try {
    const result = job.op === "hash" ? bcrypt.hashSync(job.password, job.cost ?? 10) : bcrypt.compareSync(job.password, job.hash ?? "");
    parentPort?.postMessage({ id: job.id, result });
  } catch (err) {
    parentPort?.postMessage({ id: job.id, error: (err as Error).message });
  }
});
