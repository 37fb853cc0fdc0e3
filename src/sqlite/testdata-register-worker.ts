// Worker for the registration race test: one connection per thread, registering at a shared signal.
import { parentPort, workerData } from "node:worker_threads";
import * as deploykit from "../index.ts";
import { AuthService } from "./auth.ts";
import { DB } from "./db.ts";

const { path, index, start } = workerData as { path: string; index: number; start: SharedArrayBuffer };
const db = new DB(path);
db.open();
const auth = new AuthService(db, { bcryptCost: 4 });
// Every thread waits here until the test releases them all at once.
Atomics.wait(new Int32Array(start), 0, 0);
try {
  await auth.register({ email: `t${index}@x.io`, name: `T${index}`, password: "password123" });
  parentPort?.postMessage({ ok: true });
} catch (err) {
  parentPort?.postMessage({ ok: false, code: deploykit.errorCode(err), message: deploykit.errorMessage(err) });
} finally {
  db.close();
}
