import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { Client } from "./client.ts";
import { randomID, rawDocker, removeLabelled, TEST_IMAGE, TEST_RUN_LABEL, waitFor } from "./testutil.ts";

const instanceID = randomID("inst-");
const run = randomID("run");
const docker = rawDocker();
const client = new Client({ instanceID });
const network = `dk-${run}`;
const runLabels = { [TEST_RUN_LABEL]: run };

/** Keeps PID 1 responsive to SIGTERM so removal does not wait the stop grace period. */
const KEEP_ALIVE = "trap 'exit 0' TERM; sleep 300 & wait";
const ON_TERM_EXIT = "trap 'exit 0' TERM; ";

function run_(script: string): Promise<string> {
  return client.runtime.runContainer({
    name: randomID(`dk-${run}-`),
    image: TEST_IMAGE,
    network,
    aliases: [],
    env: {},
    ports: [],
    volumes: [],
    labels: runLabels,
    cmd: ["sh", "-c", ON_TERM_EXIT + script],
  });
}

interface Viewer {
  lines: deploykit.LogLine[];
  ended: number;
  endErr?: Error;
  sub: deploykit.LogSubscription;
}

async function view(id: string, tail: number): Promise<Viewer> {
  const v = { lines: [] as deploykit.LogLine[], ended: 0 } as Viewer;
  v.sub = await client.logs.follow(
    id,
    { tail },
    (l) => v.lines.push(l),
    (err) => {
      v.ended++;
      v.endErr = err;
    },
  );
  return v;
}

const texts = (v: Viewer) => v.lines.map((l) => l.line);

beforeAll(async () => {
  await client.provisioner.ensureNetwork(network, runLabels);
});

afterAll(async () => {
  await removeLabelled(docker, deploykit.LABEL_INSTANCE, instanceID);
  await removeLabelled(docker, TEST_RUN_LABEL, run);
});

describe("LogStreamer", () => {
  it("sends the tail, then follows; stdout and stderr are told apart; timestamps are stripped", async () => {
    const id = await run_(`for i in 1 2 3 4 5; do echo line$i; done; sleep 1; echo oops >&2; sleep 3; echo; echo later; ${KEEP_ALIVE}`);
    await waitFor(async () => (await client.runtime.logTail(id, 10)).includes("oops"), 10_000, "first output");
    const v = await view(id, 3);
    await waitFor(() => texts(v).includes("later"), 10_000, "followed line");
    // The tail is the last 3 lines before following; the empty line is skipped.
    expect(texts(v)).toEqual(["line4", "line5", "oops", "later"]);
    const oops = v.lines.find((l) => l.line === "oops")!;
    expect(oops.stream).toBe("stderr");
    expect(v.lines.find((l) => l.line === "later")!.stream).toBe("stdout");
    for (const l of v.lines) {
      expect(l.container_id).toBe(id.slice(0, 12));
      expect(Date.parse(l.ts!)).toBeGreaterThan(Date.now() - 60_000);
    }
    expect(client.logs.openStreams).toBe(1);
    v.sub.close();
    v.sub.close();
    expect(client.logs.openStreams).toBe(0);
    expect(v.ended).toBe(0);
    await client.runtime.removeContainer(id);
  });

  it("reads a TTY container raw, every line as stdout", async () => {
    const c = await docker.createContainer({
      name: randomID(`dk-${run}-tty-`),
      Image: TEST_IMAGE,
      Tty: true,
      Cmd: ["sh", "-c", `echo to-out; echo to-err >&2; ${KEEP_ALIVE}`],
      Labels: { ...runLabels, ...deploykit.instanceLabels(instanceID) },
      HostConfig: { NetworkMode: network },
    });
    await c.start();
    const v = await view(c.id, 10);
    await waitFor(() => v.lines.length >= 2, 10_000, "tty lines");
    expect(v.lines.map((l) => [l.stream, l.line])).toEqual([
      ["stdout", "to-out"],
      ["stdout", "to-err"],
    ]);
    v.sub.close();
    await client.runtime.removeContainer(c.id);
  });

  it("shares one Docker stream between viewers; a late viewer gets history from the ring; the last close destroys it", async () => {
    const id = await run_(`i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo tick$i; sleep 0.05; done; ${KEEP_ALIVE}`);
    const opened = client.logs.streamsOpened;
    const a = await view(id, 5);
    await waitFor(() => a.lines.length >= 10, 10_000, "first viewer lines");
    const b = await view(id, 4);
    expect(client.logs.openStreams).toBe(1);
    expect(client.logs.streamsOpened).toBe(opened + 1);
    // b's first 4 lines are a's latest 4 at the moment b joined, then both see the same live lines.
    const joinedAt = b.lines.slice(0, 4).map((l) => l.line);
    const idx = texts(a).indexOf(joinedAt[0]!);
    expect(texts(a).slice(idx, idx + 4)).toEqual(joinedAt);
    await waitFor(() => b.lines.length >= 10, 10_000, "second viewer live lines");
    const lastB = b.lines.at(-1)!.line;
    await waitFor(() => texts(a).includes(lastB), 5000, "same live lines");
    expect(texts(a).slice(idx, idx + b.lines.length)).toEqual(texts(b));

    a.sub.close();
    expect(client.logs.openStreams).toBe(1);
    const n = b.lines.length;
    await waitFor(() => b.lines.length > n + 2, 5000, "b still following");
    b.sub.close();
    expect(client.logs.openStreams).toBe(0);
    // A new viewer after everyone left opens a fresh stream.
    const c = await view(id, 2);
    expect(client.logs.streamsOpened).toBe(opened + 2);
    expect(c.lines.length).toBeLessThanOrEqual(2);
    c.sub.close();
    expect(client.logs.openStreams).toBe(0);
    await client.runtime.removeContainer(id);
  });

  it("concurrent first viewers share one stream, whatever reference they use", async () => {
    const id = await run_(`echo ready; ${KEEP_ALIVE}`);
    const opened = client.logs.streamsOpened;
    // Full id, short id and name all mean the same container and the same stream.
    const name = (await docker.getContainer(id).inspect()).Name.slice(1);
    const refs = [id, id.slice(0, 12), name];
    const viewers = await Promise.all(Array.from({ length: 10 }, (_, i) => view(refs[i % 3]!, 10)));
    expect(client.logs.openStreams).toBe(1);
    expect(client.logs.streamsOpened).toBe(opened + 1);
    await waitFor(() => viewers.every((v) => texts(v).includes("ready")), 10_000, "every viewer sees output");
    for (const v of viewers) v.sub.close();
    expect(client.logs.openStreams).toBe(0);
    await client.runtime.removeContainer(id);
  });

  it("ends every viewer once when the container exits, and drops the stream", async () => {
    const id = await run_(`echo hi; sleep 1; echo bye; ${KEEP_ALIVE}`);
    const a = await view(id, 10);
    const b = await view(id, 10);
    await waitFor(() => texts(b).includes("bye"), 10_000, "output");
    await docker.getContainer(id).stop({ t: 5 });
    await waitFor(() => a.ended > 0 && b.ended > 0, 10_000, "onEnd");
    expect(client.logs.openStreams).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect([a.ended, b.ended]).toEqual([1, 1]);
    expect(texts(a)).toEqual(["hi", "bye"]);
    a.sub.close();
    await client.runtime.removeContainer(id);
  });

  it("gives the tail of an exited container, then ends", async () => {
    const id = await run_(`echo a; echo b; echo c; ${KEEP_ALIVE}`);
    await waitFor(async () => (await client.runtime.logTail(id, 5)).endsWith("c"), 10_000, "output");
    await docker.getContainer(id).stop({ t: 5 });
    const v = await view(id, 2);
    await waitFor(() => v.ended === 1, 10_000, "onEnd");
    expect(texts(v)).toEqual(["b", "c"]);
    expect(client.logs.openStreams).toBe(0);
    await client.runtime.removeContainer(id);
  });

  it("ends viewers when the container is removed", async () => {
    const id = await run_(`echo up; ${KEEP_ALIVE}`);
    const a = await view(id, 1);
    await waitFor(() => a.lines.length === 1, 10_000, "output");
    await docker.getContainer(id).remove({ force: true });
    await waitFor(() => a.ended === 1, 10_000, "onEnd after remove");
    expect(client.logs.openStreams).toBe(0);
  });

  it("isolates a throwing viewer", async () => {
    const id = await run_(`echo one; sleep 1; echo two; ${KEEP_ALIVE}`);
    await client.logs.follow(
      id,
      { tail: 10 },
      () => {
        throw new Error("viewer bug");
      },
      () => {},
    );
    const ok = await view(id, 10);
    await waitFor(() => texts(ok).includes("two"), 10_000, "second line");
    expect(texts(ok)).toEqual(["one", "two"]);
    await client.runtime.removeContainer(id);
    await waitFor(() => ok.ended === 1, 10_000, "end");
  });

  it("splits long and partial lines", async () => {
    // 100 KB on one line arrives in several frames; it must come out as one line.
    const id = await run_(`i=0; s=x; while [ $i -lt 17 ]; do s=$s$s; i=$((i+1)); done; echo "$s"; echo short; ${KEEP_ALIVE}`);
    const v = await view(id, 10);
    await waitFor(() => texts(v).includes("short"), 10_000, "long line");
    expect(v.lines.map((l) => l.line.length)).toEqual([2 ** 17, 5]);
    expect(v.lines[0]!.line).toMatch(/^x+$/);
    v.sub.close();
    await client.runtime.removeContainer(id);
  });

  it("throws ENOTFOUND for a missing container and opens no stream", async () => {
    const err = await client.logs
      .follow(
        "deadbeef0000",
        { tail: 1 },
        () => {},
        () => {},
      )
      .catch((e: unknown) => e);
    expect(deploykit.errorCode(err)).toBe(deploykit.ENOTFOUND);
    expect(client.logs.openStreams).toBe(0);
  });
});
