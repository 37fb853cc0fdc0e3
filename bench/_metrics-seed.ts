import type { Tx } from "../src/sqlite/db.ts";

/** One 10-minute bucket's values (the rest of a row is the same in every benchmark). */
export interface BucketValues {
  cpu: number;
  cpuMax: number;
  mem: number;
  netRx: number;
  netTx: number;
  blkWrite: number;
}

/**
 * 30 days of the 10-minute tier (what the 30-day range reads) for 2 replicas of each service in
 * `serviceIDs`, named by series 1, 2, … in order, with the values `bucket` gives. Used by the metrics
 * API and Metrics tab benchmarks. Returns the number of point rows written.
 */
export function seedMonth(tx: Tx, projectID: string, serviceIDs: string[], now: number, bucket: (ts: number) => BucketValues): number {
  const start = Math.floor((now - 30 * 86_400_000) / 600_000) * 600_000;
  let rows = 0;
  for (const [i, id] of serviceIDs.entries())
    tx.run("INSERT INTO metric_series (id, service_id, project_id) VALUES (?, ?, ?)", i + 1, id, projectID);
  for (let s = 1; s <= serviceIDs.length; s++)
    for (let r = 0; r < 2; r++)
      for (let ts = start; ts < now; ts += 600_000) {
        const v = bucket(ts);
        tx.run(
          `INSERT INTO metric_points (tier, series, ts, replica, container, n, cpu_pct, cpu_pct_max, cpu_limit_pct,
             mem_bytes, mem_bytes_max, mem_limit_bytes, mem_nocache_bytes, mem_nocache_bytes_max, net_rx_bps, net_tx_bps,
             blk_read_bps, blk_write_bps, restarts) VALUES (600000, ?, ?, ?, '', 60, ?, ?, 100, ?, 2.2e8, 536870912, 1.5e8, 1.6e8, ?, ?, 10, ?, 0)`,
          s,
          ts,
          r,
          v.cpu,
          v.cpuMax,
          v.mem,
          v.netRx,
          v.netTx,
          v.blkWrite,
        );
        rows++;
      }
  return rows;
}
