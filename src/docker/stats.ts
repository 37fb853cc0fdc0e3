import type { Readable } from "node:stream";
import * as deploykit from "../index.ts";
import type { Conn } from "./conn.ts";
import { statusCode, wrap } from "./errors.ts";

/** The parts of Docker's stats JSON the collector reads (cgroup v1 and v2 shapes). */
interface RawStats {
  read?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op?: string; value?: number }[] | null };
}

/**
 * Docker's stats JSON → cumulative counters. The page cache that can be reclaimed is `inactive_file`
 * on cgroup v2 and `total_inactive_file` on v1 (what `docker stats` subtracts too).
 */
export function countersFromStats(s: RawStats, fallbackReadAt: number): deploykit.ContainerCounters {
  const mem = s.memory_stats ?? {};
  const ms = mem.stats ?? {};
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes ?? 0;
    tx += n.tx_bytes ?? 0;
  }
  let read = 0;
  let write = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = (e.op ?? "").toLowerCase();
    if (op === "read") read += e.value ?? 0;
    else if (op === "write") write += e.value ?? 0;
  }
  const readAt = s.read ? Date.parse(s.read) : Number.NaN;
  return {
    read_at: Number.isFinite(readAt) && readAt > 0 ? readAt : fallbackReadAt,
    cpu_ns: s.cpu_stats?.cpu_usage?.total_usage ?? 0,
    mem_bytes: mem.usage ?? 0,
    mem_limit_bytes: mem.limit ?? 0,
    mem_inactive_file_bytes: ms.inactive_file ?? ms.total_inactive_file ?? 0,
    net_rx_bytes: rx,
    net_tx_bytes: tx,
    blk_read_bytes: read,
    blk_write_bytes: write,
  };
}

/** CPU limit in cores from a container's HostConfig (NanoCpus, or a CFS quota), null when unlimited. */
export function cpuLimitCores(hc: { NanoCpus?: number; CpuQuota?: number; CpuPeriod?: number } | undefined): number | null {
  if (hc?.NanoCpus && hc.NanoCpus > 0) return hc.NanoCpus / 1e9;
  if (hc?.CpuQuota && hc.CpuQuota > 0) return hc.CpuQuota / (hc.CpuPeriod && hc.CpuPeriod > 0 ? hc.CpuPeriod : 100_000);
  return null;
}

function notFoundOr(err: unknown): deploykit.DeployKitError {
  if (statusCode(err) === 404) return deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
  return wrap(err, "container stats failed");
}

/** Docker stats for the metrics collector. Only the collector calls it, at most once per container per interval. */
export class StatsReader implements deploykit.ContainerStatsSource {
  readonly #conn: Conn;

  constructor(conn: Conn) {
    this.#conn = conn;
  }

  async readCounters(dockerID: string): Promise<deploykit.ContainerCounters> {
    try {
      // one-shot: Docker answers at once instead of waiting a second for a "precpu" read; the
      // collector computes rates against its own previous read.
      const opts = { stream: false, "one-shot": true } as unknown as { stream: false };
      const raw = (await this.#conn.api.getContainer(dockerID).stats(opts)) as unknown as RawStats;
      return countersFromStats(raw, Date.now());
    } catch (err) {
      throw notFoundOr(err);
    }
  }

  streamCounters(dockerID: string, onCounters: (c: deploykit.ContainerCounters) => void, onEnd: (err?: Error) => void) {
    let stream: Readable | null = null;
    let closed = false;
    let ended = false;
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      onEnd(err);
    };
    this.#conn.stream
      .getContainer(dockerID)
      .stats({ stream: true })
      .then((s) => {
        stream = s as unknown as Readable;
        if (closed) return stream.destroy();
        let buf = "";
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => {
          buf += chunk;
          for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (line.trim() === "") continue;
            try {
              onCounters(countersFromStats(JSON.parse(line) as RawStats, Date.now()));
            } catch {
              // A malformed read is skipped; the next one arrives within a second.
            }
          }
        });
        stream.on("end", () => end());
        stream.on("close", () => end());
        stream.on("error", (err: Error) => end(closed ? undefined : err));
      })
      .catch((err: unknown) => end(notFoundOr(err)));
    return {
      close() {
        closed = true;
        stream?.destroy();
      },
    };
  }

  async readLimits(dockerID: string): Promise<deploykit.ContainerLimits> {
    try {
      const info = await this.#conn.api.getContainer(dockerID).inspect();
      if (!deploykit.ownedBy(info.Config.Labels, this.#conn.instanceID))
        throw deploykit.errorf(deploykit.EFORBIDDEN, "The container belongs to another DeployKit instance.");
      return { cpu_limit_cores: cpuLimitCores(info.HostConfig), restarts: info.RestartCount ?? 0 };
    } catch (err) {
      if (deploykit.isDeployKitError(err)) throw err;
      throw notFoundOr(err);
    }
  }
}
