import * as crypto from "node:crypto";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import * as deploykit from "../index.ts";

export const DEFAULT_BCRYPT_COST = 10;

export interface PasswordOptions {
  /**
   * Work factor, 10 by default (tests lower it to stay fast). It is the bcrypt cost where bcrypt is
   * used, and scales argon2id's memory: 10 → 19 MiB (OWASP's argon2id baseline), each step down halves it.
   */
  bcryptCost?: number;
}

interface Argon2Params {
  memoryKiB: number;
  passes: number;
  parallelism: number;
}

type Argon2Fn = (
  algorithm: string,
  params: { message: string; nonce: Buffer; parallelism: number; tagLength: number; memory: number; passes: number },
  cb: (err: Error | null, key: Buffer) => void,
) => void;

/** Node ≥ 24.7 computes argon2 on the libuv thread pool; older Nodes fall back to bcrypt on a worker. */
const argon2 = (crypto as unknown as { argon2?: Argon2Fn }).argon2;
const ARGON2_TAG_BYTES = 32;
const ARGON2_SALT_BYTES = 16;

/** The outcome of checking a password against a stored hash. */
export interface Verdict {
  ok: boolean;
  /** The stored hash is bcrypt or weaker than today's parameters: store a fresh one. */
  rehash: boolean;
}

/**
 * Hashes and verifies passwords without running the work on the event loop: argon2id (PHC string
 * `$argon2id$v=19$m=…,t=…,p=…$salt$hash`) through node:crypto's thread-pool implementation, and
 * bcrypt — for hashes stored before argon2id, or on a Node without it — on a small worker pool.
 */
export class PasswordHasher {
  readonly #cost: number;
  readonly #argon2: Argon2Params;
  #dummy: Promise<string> | undefined;

  constructor(opts: PasswordOptions = {}) {
    this.#cost = opts.bcryptCost ?? DEFAULT_BCRYPT_COST;
    const shift = this.#cost - DEFAULT_BCRYPT_COST;
    const memoryKiB = shift >= 0 ? 19456 * 2 ** shift : Math.max(64, Math.floor(19456 / 2 ** -shift));
    this.#argon2 = { memoryKiB, passes: 2, parallelism: 1 };
  }

  async hash(password: string): Promise<string> {
    // bcrypt reads only 72 bytes; the validators refuse longer passwords, and this guards every other path.
    if (deploykit.utf8Length(password) > deploykit.PASSWORD_MAX_BYTES)
      throw deploykit.fieldError({ password: [`Password must be at most ${deploykit.PASSWORD_MAX_BYTES} bytes.`] });
    if (!argon2) return bcryptPool().run({ op: "hash", password, cost: this.#cost }) as Promise<string>;
    const salt = crypto.randomBytes(ARGON2_SALT_BYTES);
    const p = this.#argon2;
    const tag = await argon2Hash(password, salt, p);
    return `$argon2id$v=19$m=${p.memoryKiB},t=${p.passes},p=${p.parallelism}$${b64(salt)}$${b64(tag)}`;
  }

  async verify(password: string, stored: string): Promise<Verdict> {
    if (stored.startsWith("$argon2id$")) {
      const parsed = parseArgon2(stored);
      if (!parsed || !argon2) return { ok: false, rehash: false };
      const tag = await argon2Hash(password, parsed.salt, parsed.params);
      const ok = tag.length === parsed.tag.length && crypto.timingSafeEqual(tag, parsed.tag);
      const p = parsed.params;
      const weaker = p.memoryKiB < this.#argon2.memoryKiB || p.passes < this.#argon2.passes;
      return { ok, rehash: ok && weaker };
    }
    if (/^\$2[aby]\$/.test(stored)) {
      const ok = (await bcryptPool().run({ op: "compare", password, hash: stored })) === true;
      return { ok, rehash: ok && argon2 !== undefined };
    }
    return { ok: false, rehash: false };
  }

  /** Spends the time of a real check, so an unknown email answers as slowly as a wrong password. */
  async verifyNothing(password: string): Promise<void> {
    this.#dummy ??= this.hash("deploykit-timing-equaliser");
    await this.verify(password, await this.#dummy);
  }
}

function b64(b: Buffer): string {
  return b.toString("base64").replace(/=+$/, "");
}

function argon2Hash(password: string, salt: Buffer, p: Argon2Params): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    (argon2 as Argon2Fn)(
      "argon2id",
      { message: password, nonce: salt, parallelism: p.parallelism, tagLength: ARGON2_TAG_BYTES, memory: p.memoryKiB, passes: p.passes },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

function parseArgon2(s: string): { params: Argon2Params; salt: Buffer; tag: Buffer } | null {
  const m = /^\$argon2id\$v=19\$m=(\d{1,8}),t=(\d{1,3}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(s);
  if (!m) return null;
  return {
    params: { memoryKiB: Number(m[1]), passes: Number(m[2]), parallelism: Number(m[3]) },
    salt: Buffer.from(m[4] as string, "base64"),
    tag: Buffer.from(m[5] as string, "base64"),
  };
}

interface Job {
  op: "hash" | "compare";
  password: string;
  hash?: string;
  cost?: number;
}

interface Task {
  job: Job;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** A few worker threads running bcrypt; idle workers do not keep the process alive. */
class WorkerPool {
  readonly #size: number;
  readonly #idle: Worker[] = [];
  readonly #busy = new Set<Worker>();
  readonly #queue: Task[] = [];
  #seq = 0;

  constructor(size: number) {
    this.#size = size;
  }

  run(job: Job): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let w = this.#idle.pop();
      if (!w && this.#busy.size < this.#size) w = this.#spawn();
      if (!w) return;
      const task = this.#queue.shift() as Task;
      const id = ++this.#seq;
      this.#busy.add(w);
      w.ref();
      const worker = w;
      const onExit = () => task.reject(new Error("password worker exited"));
      worker.once("exit", onExit);
      const onMessage = (msg: { id: number; result?: unknown; error?: string }) => {
        if (msg.id !== id) return;
        worker.off("message", onMessage);
        worker.off("exit", onExit);
        this.#busy.delete(worker);
        worker.unref();
        this.#idle.push(worker);
        if (msg.error !== undefined) task.reject(new Error(msg.error));
        else task.resolve(msg.result);
        this.#pump();
      };
      worker.on("message", onMessage);
      worker.postMessage({ id, ...task.job });
    }
  }

  #spawn(): Worker {
    // From source the worker is a .ts file (Node strips the types); built, it is the compiled .js.
    const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
    const w = new Worker(new URL(`./password-worker${ext}`, import.meta.url));
    w.on("error", () => {});
    w.once("exit", () => {
      this.#busy.delete(w);
      const i = this.#idle.indexOf(w);
      if (i >= 0) this.#idle.splice(i, 1);
    });
    w.unref();
    return w;
  }
}

let pool: WorkerPool | undefined;

/** Created on first use: a daemon whose users all have argon2id hashes never starts a worker. */
function bcryptPool(): WorkerPool {
  pool ??= new WorkerPool(Math.max(1, Math.min(2, availableParallelism() - 1)));
  return pool;
}
