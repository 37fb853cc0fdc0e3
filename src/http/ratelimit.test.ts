import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { LoginLimiter, RateLimiter } from "./ratelimit.ts";

function refused(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return deploykit.errorCode(err) === deploykit.ERATELIMIT;
  }
}

describe("RateLimiter", () => {
  it("take counts at once and giveBack returns the attempt", () => {
    const l = new RateLimiter({ max: 2, windowMs: 1000, now: () => 0, message: "slow down" });
    l.take("k");
    l.take("k");
    expect(refused(() => l.take("k"))).toBe(true);
    l.giveBack("k");
    expect(refused(() => l.take("k"))).toBe(false);
  });
});

describe("LoginLimiter", () => {
  const fail = (l: LoginLimiter, email: string, ip: string) => l.take(email, ip);

  it("5 failures lock that email from that address only", () => {
    const l = new LoginLimiter(() => 0);
    for (let i = 0; i < 5; i++) fail(l, "ada@x.io", "203.0.113.9");
    expect(refused(() => l.take("ada@x.io", "203.0.113.9"))).toBe(true);
    // The admin, elsewhere, can still sign in; the attacker can still try other emails.
    expect(refused(() => l.take("ada@x.io", "198.51.100.1"))).toBe(false);
    expect(refused(() => l.take("bob@x.io", "203.0.113.9"))).toBe(false);
  });

  it("a higher per-email ceiling stops guessing from many addresses", () => {
    const l = new LoginLimiter(() => 0);
    for (let i = 0; i < LoginLimiter.EMAIL_MAX; i++) fail(l, "ada@x.io", `10.0.${i >> 2}.${i}`);
    expect(refused(() => l.take("ada@x.io", "192.0.2.1"))).toBe(true);
  });

  it("per address: 20 failures over any emails", () => {
    const l = new LoginLimiter(() => 0);
    for (let i = 0; i < LoginLimiter.IP_MAX; i++) fail(l, `u${i}@x.io`, "203.0.113.9");
    expect(refused(() => l.take("new@x.io", "203.0.113.9"))).toBe(true);
  });

  it("a success gives its attempt back and clears the pair's failures", () => {
    const l = new LoginLimiter(() => 0);
    for (let i = 0; i < 4; i++) fail(l, "ada@x.io", "203.0.113.9");
    l.take("ada@x.io", "203.0.113.9").succeeded();
    for (let i = 0; i < 5; i++) fail(l, "ada@x.io", "203.0.113.9");
    expect(refused(() => l.take("ada@x.io", "203.0.113.9"))).toBe(true);
  });
});
