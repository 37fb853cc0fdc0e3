import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A small tmpfs (mount -t tmpfs -o size=…, needs root) for the "disk nearly full" tests: the daemon's
 * data dir lives on it, and `fill` eats the free space with a ballast file that `release` gives back.
 */
export class Tmpfs {
  readonly dir: string;
  private readonly ballast: string;
  private mounted = false;

  private constructor(dir: string) {
    this.dir = dir;
    this.ballast = join(dir, ".ballast");
  }

  static mount(sizeBytes: number): Tmpfs {
    const base = mkdtempSync(join(tmpdir(), "dkfs-"));
    const t = new Tmpfs(base);
    const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${sizeBytes},mode=0700`, "tmpfs", base], { encoding: "utf8" });
    if (r.status !== 0) {
      rmSync(base, { recursive: true, force: true });
      throw new Error(`mount tmpfs failed (root needed): ${r.stderr}`);
    }
    t.mounted = true;
    return t;
  }

  /** Bytes free for an unprivileged writer. */
  free(): number {
    const s = statfsSync(this.dir);
    return Number(s.bavail) * Number(s.bsize);
  }

  /** Writes a ballast file until at most `leaveBytes` stay free. */
  fill(leaveBytes = 0): void {
    const fd = openSync(this.ballast, "a");
    try {
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      for (;;) {
        const free = this.free();
        if (free <= leaveBytes) break;
        const n = Math.min(chunk.length, free - leaveBytes);
        try {
          writeSync(fd, chunk, 0, n);
        } catch {
          break; // ENOSPC: full
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Deletes the ballast, giving the space back. */
  release(): void {
    rmSync(this.ballast, { force: true });
  }

  unmount(): void {
    if (this.mounted) {
      const r = spawnSync("umount", [this.dir]);
      if (r.status !== 0) spawnSync("umount", ["-l", this.dir]);
      this.mounted = false;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
