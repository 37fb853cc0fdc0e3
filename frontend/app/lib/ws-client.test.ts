import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  CanvasSocket,
  canvasSocketURL,
  HANDSHAKE_TIMEOUT_MS,
  MAX_RECONNECT_ATTEMPTS,
  type SocketStatus,
} from "./ws-client.ts";

describe("backoffDelay", () => {
  it.each([
    [0, 1000],
    [1, 2000],
    [4, 16000],
    [5, 30000],
    [14, 30000],
  ])("attempt %i waits %i ms", (n, ms) => {
    expect(backoffDelay(n)).toBe(ms);
  });
});

describe("canvasSocketURL", () => {
  it("uses wss behind https", () => {
    expect(canvasSocketURL({ protocol: "https:", host: "dk.example:8443" }, "p 1")).toBe(
      "wss://dk.example:8443/api/projects/p%201/canvas/ws",
    );
    expect(canvasSocketURL({ protocol: "http:", host: "127.0.0.1:8080" }, "p1")).toBe("ws://127.0.0.1:8080/api/projects/p1/canvas/ws");
  });
});

/** A scripted WebSocket: records frames, lets the test open and close it. */
class FakeWS {
  static all: FakeWS[] = [];
  readyState = 0;
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  readonly url: string;
  constructor(url: string) {
    this.url = url;
    FakeWS.all.push(this);
  }
  send(s: string) {
    this.sent.push(s);
  }
  close(code = 1000) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  recv(type: string, payload: unknown) {
    this.onmessage?.({ data: JSON.stringify({ type, payload }) });
  }
  drop(code: number) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

function harness(refresh: () => Promise<boolean> = async () => false) {
  FakeWS.all = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const statuses: SocketStatus[] = [];
  const messages: string[] = [];
  let token = "dka_one";
  const s = new CanvasSocket({
    url: "ws://x/api/projects/p1/canvas/ws",
    getToken: () => token,
    refresh,
    onMessage: (m) => messages.push(m.type),
    onStatus: (st) => statuses.push(st),
    WebSocketImpl: FakeWS as unknown as typeof WebSocket,
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: () => {},
  });
  return { s, timers, statuses, messages, setToken: (t: string) => (token = t) };
}

describe("CanvasSocket", () => {
  it("authenticates first, is connected on canvas:state, and re-authenticates on demand", () => {
    const h = harness();
    h.s.connect();
    const ws = FakeWS.all[0] as FakeWS;
    ws.open();
    expect(JSON.parse(ws.sent[0] as string)).toEqual({ type: "auth", payload: { token: "dka_one" } });
    expect(h.s.send("cursor:move", { x: 1, y: 2 })).toBe(false);
    ws.recv("canvas:state", { nodes: [], edges: [] });
    expect(h.statuses.at(-1)).toBe("connected");
    expect(h.s.send("cursor:move", { x: 1, y: 2 })).toBe(true);
    h.setToken("dka_two");
    h.s.reauth();
    expect(JSON.parse(ws.sent.at(-1) as string)).toEqual({ type: "auth", payload: { token: "dka_two" } });
    expect(h.messages).toEqual(["canvas:state"]);
  });

  it("reconnects with growing delays and gives up after the last attempt", () => {
    const h = harness();
    h.s.connect();
    for (let i = 0; i < MAX_RECONNECT_ATTEMPTS; i++) {
      (FakeWS.all.at(-1) as FakeWS).drop(1006);
      expect(h.timers.at(-1)?.ms).toBe(backoffDelay(i));
      h.timers.at(-1)?.fn();
    }
    (FakeWS.all.at(-1) as FakeWS).drop(1006);
    expect(h.statuses.at(-1)).toBe("disconnected");
    expect(FakeWS.all).toHaveLength(MAX_RECONNECT_ATTEMPTS + 1);
  });

  it("gives up a handshake that never completes and reconnects with the backoff", () => {
    const h = harness();
    h.s.connect();
    const first = FakeWS.all[0] as FakeWS;
    first.open();
    const handshake = h.timers.find((t) => t.ms === HANDSHAKE_TIMEOUT_MS);
    expect(handshake).toBeDefined();
    handshake?.fn();
    expect(first.readyState).toBe(3);
    expect(h.statuses.at(-1)).toBe("reconnecting");
    expect(h.timers.at(-1)?.ms).toBe(backoffDelay(0));
    h.timers.at(-1)?.fn();
    const second = FakeWS.all.at(-1) as FakeWS;
    expect(second).not.toBe(first);
    second.open();
    second.recv("canvas:state", { nodes: [], edges: [] });
    expect(h.statuses.at(-1)).toBe("connected");
    // The connected socket's own handshake timer does nothing.
    h.timers
      .filter((t) => t.ms === HANDSHAKE_TIMEOUT_MS)
      .at(-1)
      ?.fn();
    expect(h.statuses.at(-1)).toBe("connected");
    expect(FakeWS.all).toHaveLength(2);
  });

  it("refreshes the token after a 4001 close and reconnects at once", async () => {
    let refreshed = 0;
    const h = harness(async () => {
      refreshed++;
      return true;
    });
    h.s.connect();
    (FakeWS.all[0] as FakeWS).drop(4001);
    await Promise.resolve();
    await Promise.resolve();
    expect(refreshed).toBe(1);
    expect(h.timers.at(-1)?.ms).toBe(0);
  });

  it("does not retry an intentional close", () => {
    const h = harness();
    h.s.connect();
    h.s.close();
    // Only the handshake timer was set, and it does nothing once closed.
    expect(h.timers.map((t) => t.ms)).toEqual([HANDSHAKE_TIMEOUT_MS]);
    h.timers[0]?.fn();
    expect(FakeWS.all).toHaveLength(1);
    expect(h.statuses.at(-1)).toBe("disconnected");
  });
});
