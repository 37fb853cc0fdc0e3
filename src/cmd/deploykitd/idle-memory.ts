import v8 from "node:v8";
import vm from "node:vm";

/** The first trim: start-up's garbage is dead by then (schemas, migrations, the first pass). */
export const FIRST_TRIM_MS = 5_000;
/** How often the daemon looks whether a trim is due (reading two counters). */
export const CHECK_EVERY_MS = 30_000;
/** A trim is due when the young generation has grown past this... */
export const TRIM_ABOVE_BYTES = 8 * 2 ** 20;
/** ...or the resident set has grown this much since the last trim. */
export const TRIM_RSS_GROWTH_BYTES = 8 * 2 ** 20;

/**
 * Gives memory that a burst needed back to the system. Two things grow behind V8's live heap:
 * - the young generation: under start-up's (or a 300-service Deploy's) allocation V8 grows it from
 *   2 MB towards 100 MB, and keeps it committed while the daemon idles with 2 MB of live young
 *   objects;
 * - freed heap pages: V8 pools them for reuse instead of returning them (50 MB with 300 services
 *   running, while the live heap was 30 MB).
 * Only a memory-reducing collection gives both back. Node exposes it through the `gc` extension,
 * enabled here the way Node's v8.setFlagsFromString documentation shows. A check every
 * CHECK_EVERY_MS runs one when the young generation is large or the resident set has grown by
 * TRIM_RSS_GROWTH_BYTES since the last one (a 30 MB heap takes ≈ 50 ms). Returns a stop function;
 * the timers never hold the process open.
 */
export function trimWhenIdle(opts: { firstMs?: number; everyMs?: number; aboveBytes?: number; rssGrowthBytes?: number } = {}): () => void {
  const aboveBytes = opts.aboveBytes ?? TRIM_ABOVE_BYTES;
  const rssGrowth = opts.rssGrowthBytes ?? TRIM_RSS_GROWTH_BYTES;
  let afterLast = process.memoryUsage.rss();
  const trim = (always: boolean) => {
    if (!always && youngBytes() <= aboveBytes && process.memoryUsage.rss() - afterLast < rssGrowth) return;
    memoryReducingGC();
    afterLast = process.memoryUsage.rss();
  };
  const first = setTimeout(() => trim(true), opts.firstMs ?? FIRST_TRIM_MS);
  const every = setInterval(() => trim(false), opts.everyMs ?? CHECK_EVERY_MS);
  first.unref();
  every.unref();
  return () => {
    clearTimeout(first);
    clearInterval(every);
  };
}

/**
 * Keeps the young generation at its starting size (2 MB) instead of letting V8 double it under
 * allocation pressure, what `--max-semi-space-size=2` (make run, dist/deploykitd) does from the
 * command line, for a daemon started with Node's default flags. The growth factor is the one semi-
 * space setting V8 reads when it grows, so it takes effect after start.
 */
export function capYoungGeneration(): void {
  v8.setFlagsFromString("--semi-space-growth-factor=1");
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

/** The latest the optimizing compilers come back when start-up never says it is done. */
export const OPTIMIZERS_PAUSE_MAX_MS = 30_000;
const COMPILER_FLAGS = /--(no-)?(turbofan|opt|maglev|jitless|lite-mode)\b/;
let paused = false;

/**
 * V8's optimizing compilers (Maglev, TurboFan) pay off for code that stays hot. Start-up's code
 * (migrations, route and schema registration, the first reads) runs once, but what they compile for
 * it stays resident: ≈ 9 MB of an idle daemon (docs/benchmarks.md). They are off while the daemon
 * starts, and back on (`resumeOptimizers`) once it serves, or after `maxMs` at the latest; code that
 * is hot from then on is optimized as usual. Left alone when the command line chose the compilers.
 */
export function pauseOptimizers(maxMs = OPTIMIZERS_PAUSE_MAX_MS): void {
  if (paused || COMPILER_FLAGS.test(`${process.execArgv.join(" ")} ${process.env.NODE_OPTIONS ?? ""}`)) return;
  v8.setFlagsFromString("--no-turbofan");
  v8.setFlagsFromString("--no-maglev");
  paused = true;
  setTimeout(resumeOptimizers, maxMs).unref();
}

/** Turns the compilers `pauseOptimizers` turned off back on (once; later calls do nothing). */
export function resumeOptimizers(): void {
  if (!paused) return;
  paused = false;
  v8.setFlagsFromString("--turbofan");
  v8.setFlagsFromString("--maglev");
}
