// Loaded into deploykitd with `node --import` by the harness (option `probe: true`); never part of the
// daemon. Every 250 ms it writes the event-loop delay histogram and memory figures to
// $DEPLOYKIT_PROBE_FILE, so tests can read them without any debug endpoint in the product.
import { writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";

const file = process.env.DEPLOYKIT_PROBE_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  let maxRss = 0;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    maxRss = Math.max(maxRss, m.rss);
    const ms = (ns: number) => Math.round((ns / 1e6) * 10) / 10;
    const out = {
      at: Date.now(),
      eld: { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean), count: h.count },
      rss: m.rss,
      max_rss: maxRss,
      heap_used: m.heapUsed,
      external: m.external,
      handles: (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.().length ?? 0,
    };
    try {
      writeFileSync(file, JSON.stringify(out));
    } catch {
      // disk full or dir gone: the probe must never disturb the daemon
    }
    if (process.env.DEPLOYKIT_PROBE_RESET === "1") h.reset();
  }, 250);
  timer.unref();
  // SIGUSR2 collects garbage (node runs with --expose-gc under the probe) and resets the histogram:
  // a test marks "the measured phase starts now", or takes a heap figure free of dead objects.
  process.on("SIGUSR2", () => {
    (globalThis as { gc?: () => void }).gc?.();
    h.reset();
  });
}
