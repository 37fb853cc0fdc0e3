import * as deploykit from "../index.ts";
import type { Conn } from "./conn.ts";
import { wrap } from "./errors.ts";

interface DiskUsageAnswer {
  LayersSize?: number;
  Images?: { Size?: number }[] | null;
  Volumes?: { UsageData?: { Size?: number } | null }[] | null;
  BuildCache?: { Size?: number }[] | null;
}

/** Introspector answers the admin System page; an unreachable daemon is a value, not an error. */
export class Introspector implements deploykit.DockerIntrospector {
  private readonly conn: Conn;
  /** Disk usage walks every layer and volume: one answer serves the System page's polls for a while. */
  private df?: { at: number; value: DiskUsageAnswer };

  constructor(conn: Conn) {
    this.conn = conn;
  }

  async about(): Promise<deploykit.DockerAbout> {
    try {
      const [info, version] = await Promise.all([this.conn.api.info(), this.conn.api.version()]);
      const about: deploykit.DockerAbout = {
        reachable: true,
        server_version: info.ServerVersion ?? version.Version,
        api_version: version.ApiVersion,
        os: info.OperatingSystem,
        kernel_version: info.KernelVersion,
        architecture: info.Architecture,
        storage_driver: info.Driver,
        logging_driver: info.LoggingDriver,
        cgroup_driver: info.CgroupDriver,
        docker_root_dir: info.DockerRootDir,
        warnings: info.Warnings ?? [],
      };
      return about;
    } catch (err) {
      return { reachable: false, error: wrap(err).message };
    }
  }

  async status(): Promise<deploykit.DockerStatus> {
    const st = deploykit.emptyDockerStatus();
    try {
      const info = await this.conn.api.info();
      st.reachable = true;
      st.containers = info.Containers ?? 0;
      st.containers_running = info.ContainersRunning ?? 0;
      st.containers_stopped = info.ContainersStopped ?? 0;
      st.images = info.Images ?? 0;
    } catch (err) {
      st.error = wrap(err).message;
      return st;
    }
    try {
      // Disk usage walks every volume: the slow client, and sizes stay 0 if it fails.
      const df = await this.diskUsage();
      st.images_size_bytes = df.LayersSize ?? sum((df.Images ?? []).map((i) => i.Size));
      const volumes = df.Volumes ?? [];
      st.volumes = volumes.length;
      st.volumes_size_bytes = sum(volumes.map((v) => v.UsageData?.Size));
      st.build_cache_bytes = sum((df.BuildCache ?? []).map((b) => b.Size));
    } catch (err) {
      this.conn.logger.warn({ err: wrap(err).message }, "docker disk usage failed");
      try {
        st.volumes = ((await this.conn.api.listVolumes()).Volumes ?? []).length;
      } catch {
        // Best effort: the count stays 0.
      }
    }
    return st;
  }

  private async diskUsage(): Promise<DiskUsageAnswer> {
    if (this.df && Date.now() - this.df.at < DISK_USAGE_TTL_MS) return this.df.value;
    const value = (await this.conn.slow.df()) as DiskUsageAnswer;
    this.df = { at: Date.now(), value };
    return value;
  }
}

export const DISK_USAGE_TTL_MS = 30_000;

/** Sums sizes, ignoring Docker's -1 ("not computed"). */
function sum(values: (number | undefined)[]): number {
  let total = 0;
  for (const v of values) if (typeof v === "number" && v > 0) total += v;
  return total;
}
