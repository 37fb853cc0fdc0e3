import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DaemonProcess } from "./testing.ts";

let dir: string;
const running: DaemonProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "dk-lock-cmd-"));
});
afterEach(async () => {
  for (const d of running.splice(0)) await d.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

describe("one daemon per data directory", () => {
  it("a second daemon on the same data directory refuses with a clear message; the first keeps running", async () => {
    const data = join(dir, "data");
    const first = await DaemonProcess.start(["-data-dir", data], dir);
    running.push(first);
    const second = DaemonProcess.spawn(["-data-dir", data], dir);
    running.push(second);
    const { code } = await second.exited;
    expect(code).toBe(1);
    expect(second.output).toContain(
      `deploykitd: startup failed: The data directory ${data} is in use by deploykitd daemon (pid ${first.pid}`,
    );
    expect(second.output).toContain("Only one deploykitd may use a data directory at a time; stop the other one first.");
    expect(first.proc.exitCode).toBeNull();
  });

  it("a daemon that was SIGKILLed leaves no lock behind: the next one starts and says it took over", async () => {
    const data = join(dir, "data");
    const first = await DaemonProcess.start(["-data-dir", data], dir);
    await first.kill("SIGKILL");
    const second = await DaemonProcess.start(["-data-dir", data], dir);
    running.push(second);
    expect(second.output).toContain(`deploykitd daemon (pid ${first.pid}`);
    expect(second.output).toContain("did not stop cleanly; its lock died with it and is taken over");
  });

  it("a daemon stopped with SIGTERM releases the lock cleanly", async () => {
    const data = join(dir, "data");
    const first = await DaemonProcess.start(["-data-dir", data], dir);
    expect((await first.kill("SIGTERM")).code).toBe(0);
    const second = await DaemonProcess.start(["-data-dir", data], dir);
    running.push(second);
    expect(second.output).not.toContain("did not stop cleanly");
  });
});
