import { describe, expect, it } from "vitest";
import { countersFromStats, cpuLimitCores } from "./stats.ts";

describe("countersFromStats", () => {
  it("reads cgroup v2 stats: inactive_file, lowercase blkio ops, every network", () => {
    const c = countersFromStats(
      {
        read: "2026-01-01T00:00:10.5Z",
        cpu_stats: { cpu_usage: { total_usage: 123 } },
        memory_stats: { usage: 1000, limit: 5000, stats: { inactive_file: 300, file: 400 } },
        networks: { eth0: { rx_bytes: 10, tx_bytes: 20 }, eth1: { rx_bytes: 1, tx_bytes: 2 } },
        blkio_stats: {
          io_service_bytes_recursive: [
            { op: "read", value: 7 },
            { op: "write", value: 9 },
            { op: "read", value: 1 },
          ],
        },
      },
      0,
    );
    expect(c).toEqual({
      read_at: Date.parse("2026-01-01T00:00:10.5Z"),
      cpu_ns: 123,
      mem_bytes: 1000,
      mem_limit_bytes: 5000,
      mem_inactive_file_bytes: 300,
      net_rx_bytes: 11,
      net_tx_bytes: 22,
      blk_read_bytes: 8,
      blk_write_bytes: 9,
    });
  });

  it("reads cgroup v1 stats (total_inactive_file, Read/Write) and tolerates missing parts", () => {
    const c = countersFromStats(
      {
        memory_stats: { usage: 50, stats: { total_inactive_file: 5 } },
        blkio_stats: {
          io_service_bytes_recursive: [
            { op: "Read", value: 3 },
            { op: "Write", value: 4 },
            { op: "Total", value: 7 },
          ],
        },
      },
      42,
    );
    expect(c).toMatchObject({ read_at: 42, cpu_ns: 0, mem_bytes: 50, mem_inactive_file_bytes: 5, blk_read_bytes: 3, blk_write_bytes: 4 });
    expect(countersFromStats({ blkio_stats: { io_service_bytes_recursive: null } }, 1).blk_read_bytes).toBe(0);
  });
});

describe("cpuLimitCores", () => {
  it.each([
    [{ NanoCpus: 500_000_000 }, 0.5],
    [{ CpuQuota: 150_000, CpuPeriod: 100_000 }, 1.5],
    [{ CpuQuota: 50_000 }, 0.5],
    [{}, null],
    [undefined, null],
  ])("%j → %s", (hc, want) => expect(cpuLimitCores(hc)).toBe(want));
});
