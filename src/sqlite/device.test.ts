import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { AuthService } from "./auth.ts";
import { expectError, FakeClock, mustCreateUser, mustOpenDB, TEST_BCRYPT_COST } from "./testing.ts";

function setup() {
  const clock = new FakeClock();
  const db = mustOpenDB({ now: clock.now });
  return { clock, db, auth: new AuthService(db, { bcryptCost: TEST_BCRYPT_COST }) };
}

describe("device logins", () => {
  it("pending until approved; the poll then mints one key of the approver and forgets the code", async () => {
    const { db, auth } = setup();
    const user = await mustCreateUser(db);
    const l = await auth.createDeviceLogin("deploykit CLI on laptop");
    expect(l.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(l.device_code.startsWith(deploykit.DEVICE_CODE_PREFIX)).toBe(true);
    expect(await auth.pollDeviceLogin(l.device_code)).toEqual({ status: "pending" });
    // Any spelling of the code finds it.
    expect((await auth.findDeviceLogin(l.user_code.toLowerCase().replace("-", " "))).status).toBe("pending");
    await auth.decideDeviceLogin(l.user_code, user.id, true);
    await expectError(
      auth.decideDeviceLogin(l.user_code, user.id, false),
      deploykit.ECONFLICT,
      "This code was already approved or denied.",
    );
    const r = await auth.pollDeviceLogin(l.device_code);
    if (r.status !== "approved") throw new Error("not approved");
    expect(r.key).toMatchObject({ user_id: user.id, description: "deploykit CLI on laptop" });
    expect((await auth.authenticate(r.key.token)).user.id).toBe(user.id);
    await expectError(auth.pollDeviceLogin(l.device_code), deploykit.ENOTFOUND, "Unknown or expired code.");
    // Only the digest of the device code is stored.
    const stored = db.read((tx) => tx.all<{ device_code_hash: string }>("SELECT device_code_hash FROM device_logins"));
    expect(stored).toHaveLength(0);
  });

  it("a denied code answers forbidden; an expired one is unknown", async () => {
    const { clock, db, auth } = setup();
    const user = await mustCreateUser(db);
    const denied = await auth.createDeviceLogin("cli");
    await auth.decideDeviceLogin(denied.user_code, user.id, false);
    await expectError(auth.pollDeviceLogin(denied.device_code), deploykit.EFORBIDDEN, "The login was denied.");
    await expectError(auth.pollDeviceLogin(denied.device_code), deploykit.EFORBIDDEN);
    const late = await auth.createDeviceLogin("cli");
    expect(
      db.read((tx) => tx.get<{ h: string }>("SELECT device_code_hash AS h FROM device_logins WHERE user_code = ?", late.user_code))?.h,
    ).not.toContain(late.device_code);
    clock.advance(deploykit.DEVICE_CODE_TTL_MS + 1);
    await expectError(auth.findDeviceLogin(late.user_code), deploykit.ENOTFOUND);
    await expectError(auth.decideDeviceLogin(late.user_code, user.id, true), deploykit.ENOTFOUND);
    await expectError(auth.pollDeviceLogin(late.device_code), deploykit.ENOTFOUND);
  });

  it.each(["", "   ", "x".repeat(201)])("refuses the description %j", async (description) => {
    const { auth } = setup();
    const err = await expectError(auth.createDeviceLogin(description), deploykit.EINVALID);
    expect(err.fields).toHaveProperty("description");
  });

  it.each(["", "ABC", "AEIO-UAEI", "BCDF-GHJK-LMNP"])("normalizeUserCode refuses %j", (raw) => {
    expect(deploykit.normalizeUserCode(raw)).toBeNull();
  });
});
