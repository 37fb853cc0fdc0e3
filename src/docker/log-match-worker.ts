// Runs a search's regular expression on a worker thread: V8 cannot interrupt a backtracking match
// on the main thread, but it can terminate a worker, so a catastrophic pattern costs at most the
// search's time budget instead of the event loop.
import { parentPort, workerData } from "node:worker_threads";

const re = new RegExp((workerData as { pattern: string }).pattern);

parentPort?.on("message", (job: { id: number; texts: string[] }) => {
  const hits: number[] = [];
  for (let i = 0; i < job.texts.length; i++) if (re.test(job.texts[i] as string)) hits.push(i);
  parentPort?.postMessage({ id: job.id, hits });
});
