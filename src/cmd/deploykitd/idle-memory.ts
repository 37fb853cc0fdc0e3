import v8 from "node:v8";
import vm from "node:vm";

/** The first trim: start-up's garbage is dead by then (schemas, migrations, the first pass). */
export const FIRST_TRIM_MS = 5_000;
/** Later trims, each only when the young generation has grown past TRIM_ABOVE_BYTES. */
export const TRIM_EVERY_MS = 5 * 60_000;
export const TRIM_ABOVE_BYTES = 8 * 2 ** 20;

/**
 * Gives memory that a burst needed back to the system once the daemon is quiet. V8 grows the young
 * generation to 32 MB under start-up's allocation (Node's default semi-space) and keeps it committed
 * while the daemon idles with 2 MB of live young objects; only a memory-reducing collection shrinks
 * it. Node exposes that collection through the `gc` extension, enabled here the way Node's
 * v8.setFlagsFromString documentation shows. Returns a stop function; the timers never hold the
 * process open.
 */
export function trimWhenIdle(opts: { firstMs?: number; everyMs?: number; aboveBytes?: number } = {}): () => void {
  const aboveBytes = opts.aboveBytes ?? TRIM_ABOVE_BYTES;
  const trim = () => {
    if (youngBytes() > aboveBytes) memoryReducingGC();
  };
  const first = setTimeout(trim, opts.firstMs ?? FIRST_TRIM_MS);
  const every = setInterval(trim, opts.everyMs ?? TRIM_EVERY_MS);
  first.unref();
  every.unref();
  return () => {
    clearTimeout(first);
    clearInterval(every);
  };
}

/** Committed size of the young generation. */
export function youngBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
}

type GC = (opts: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;
let gc: GC | undefined;

/** A full collection that also shrinks the young generation ("last resort" reduces memory). */
export function memoryReducingGC(): void {
  if (!gc) {
    v8.setFlagsFromString("--expose-gc");
    gc = vm.runInNewContext("gc") as GC;
    v8.setFlagsFromString("--no-expose-gc");
  }
  gc({ type: "major", execution: "sync", flavor: "last-resort" });
}
