/**
 * The browser suite's web image (test/e2e/env.ts) must come up on its first start. Its command once
 * let httpd race the `mkdir /www` that it serves from (an `&` backgrounded the whole `&&` list), so
 * about half its containers exited and were restarted by Docker; on a loaded box the restarts went
 * on long enough for the readiness gate to fail a deployment as crash-looping ("container is
 * restarting (restart count 4)"). Twelve containers at once make that race show almost surely.
 */
import { randomBytes } from "node:crypto";
import Docker from "dockerode";
import { afterAll, expect, it } from "vitest";
import { ensureImages } from "../e2e/env.ts";
import { waitFor } from "../harness/wait.ts";

const docker = new Docker();
const LABEL = `dk-test-e2e-web-${randomBytes(4).toString("hex")}`;
const N = 12;

afterAll(async () => {
  for (const c of await docker.listContainers({ all: true, filters: { label: [LABEL] } })) {
    await docker.getContainer(c.Id).remove({ force: true });
  }
});

it("starts every container without a restart and serves the page", async () => {
  const image = ensureImages();
  const ids = await Promise.all(
    Array.from({ length: N }, async () => {
      const c = await docker.createContainer({
        Image: image,
        Labels: { [LABEL]: "1" },
        Env: ["GREETING=first-start"],
        HostConfig: { RestartPolicy: { Name: "unless-stopped" }, NetworkMode: "none" },
      });
      await c.start();
      return c.id;
    }),
  );
  // Every container has printed its first tick: the page was written and httpd has had time to fail.
  for (const id of ids) {
    await waitFor(
      async () => {
        const raw = (await docker.getContainer(id).logs({ stdout: true, stderr: true })) as unknown as Buffer;
        return raw.toString("utf8").includes("tick 2");
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `container ${id.slice(0, 12)} ticking` },
    );
  }
  const restarts = await Promise.all(ids.map(async (id) => (await docker.getContainer(id).inspect()).RestartCount));
  expect(restarts).toEqual(ids.map(() => 0));

  const exec = await docker.getContainer(ids[0] as string).exec({
    Cmd: ["wget", "-qO-", "http://127.0.0.1/"],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({});
  const out = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (b: Buffer) => chunks.push(b));
    stream.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    stream.on("error", reject);
  });
  expect(out).toContain("first-start from");
});
