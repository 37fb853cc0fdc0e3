/** Issue 10, item 4: credentials end with the events that should end them. */
import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { AuthService } from "./auth.ts";
import type { DB } from "./db.ts";
import { expectError, FakeClock, mustCreateAuthUser, mustOpenDB, TEST_BCRYPT_COST } from "./testing.ts";
import { UserService } from "./user.ts";

const DAY = 24 * 60 * 60 * 1000;
const authOf = (db: DB, opts = {}) => new AuthService(db, { bcryptCost: TEST_BCRYPT_COST, ...opts });
const usersOf = (db: DB) => new UserService(db, { bcryptCost: TEST_BCRYPT_COST });
const INVALID = "Invalid or expired token.";

describe("credential lifecycle", () => {
  it("changing your own password ends every other session, not the current one", async () => {
    const db = mustOpenDB();
    const { user, tokens: mine } = await mustCreateAuthUser(db, { password: "password123" });
    const auth = authOf(db);
    const stolen = await auth.login({ email: user.email, password: "password123" });
    const current = (await auth.authenticate(mine.access_token)).session_id;
    await usersOf(db).updateProfile(user.id, { current_password: "password123", new_password: "brand-new-pw" }, current);
    await auth.authenticate(mine.access_token);
    await expectError(auth.authenticate(stolen.access_token), deploykit.EUNAUTHORIZED, INVALID);
    await expectError(auth.refresh(stolen.refresh_token), deploykit.EUNAUTHORIZED, "Invalid refresh token.");
  });

  it("an admin's password reset ends the user's sessions and revokes their API keys", async () => {
    const db = mustOpenDB();
    await mustCreateAuthUser(db);
    const { user, tokens } = await mustCreateAuthUser(db, { email: "m@x.io" });
    const auth = authOf(db);
    const key = await auth.createAPIKey(user.id, { description: "ci" });
    await usersOf(db).updateUser(user.id, { password: "reset-by-admin" });
    await expectError(auth.authenticate(tokens.access_token), deploykit.EUNAUTHORIZED, INVALID);
    await expectError(auth.authenticate(key.token), deploykit.EUNAUTHORIZED, INVALID);
  });

  it("user deletion ends the user's sessions and revokes their API keys", async () => {
    const db = mustOpenDB();
    const { user: admin } = await mustCreateAuthUser(db);
    const { user, tokens } = await mustCreateAuthUser(db, { email: "m@x.io" });
    const auth = authOf(db);
    const key = await auth.createAPIKey(user.id, { description: "ci" });
    await usersOf(db).deleteUser(admin.id, user.id);
    await expectError(auth.authenticate(tokens.access_token), deploykit.EUNAUTHORIZED, INVALID);
    await expectError(auth.authenticate(key.token), deploykit.EUNAUTHORIZED, INVALID);
    expect(db.read((tx) => tx.get<{ n: number }>("SELECT count(*) AS n FROM api_keys")?.n)).toBe(0);
  });

  it("refresh never extends a session past its absolute lifetime", async () => {
    const clock = new FakeClock();
    const db = mustOpenDB({ now: clock.now });
    const { user } = await mustCreateAuthUser(db);
    const auth = authOf(db, { sessionMaxAgeMs: 10 * DAY });
    let tokens = await auth.login({ email: user.email, password: "password123" });
    // Refreshed every 6 days (inside the 7-day refresh window each time)...
    clock.advance(6 * DAY);
    tokens = await auth.refresh(tokens.refresh_token);
    clock.advance(3 * DAY);
    tokens = await auth.refresh(tokens.refresh_token);
    // ...but 10 days after sign-in the session is over.
    clock.advance(1 * DAY);
    await expectError(auth.refresh(tokens.refresh_token), deploykit.EUNAUTHORIZED, "Refresh token has expired.");
  });

  it("the default absolute lifetime is 30 days", async () => {
    const clock = new FakeClock();
    const db = mustOpenDB({ now: clock.now });
    const { user } = await mustCreateAuthUser(db);
    const auth = authOf(db);
    let tokens = await auth.login({ email: user.email, password: "password123" });
    for (let i = 0; i < 5; i++) {
      clock.advance(5 * DAY);
      tokens = await auth.refresh(tokens.refresh_token);
    }
    clock.advance(4 * DAY);
    tokens = await auth.refresh(tokens.refresh_token);
    clock.advance(1 * DAY);
    await expectError(auth.refresh(tokens.refresh_token), deploykit.EUNAUTHORIZED, "Refresh token has expired.");
  });

  it("a key created with an API key expires no later than it and is revoked with it", async () => {
    const clock = new FakeClock();
    const db = mustOpenDB({ now: clock.now });
    const { user } = await mustCreateAuthUser(db);
    const auth = authOf(db);
    const parent = await auth.createAPIKey(user.id, { description: "parent", expires_at: "2026-02-01T00:00:00.000Z" });
    const forever = await auth.createAPIKey(user.id, { description: "child" }, parent.id);
    expect(forever.expires_at).toBe(parent.expires_at);
    const longer = await auth.createAPIKey(user.id, { description: "child", expires_at: "2027-01-01T00:00:00.000Z" }, parent.id);
    expect(longer.expires_at).toBe(parent.expires_at);
    const shorter = await auth.createAPIKey(user.id, { description: "child", expires_at: "2026-01-15T00:00:00.000Z" }, parent.id);
    expect(shorter.expires_at).toBe("2026-01-15T00:00:00.000Z");
    const grandchild = await auth.createAPIKey(user.id, { description: "grandchild" }, forever.id);
    await auth.deleteAPIKey(user.id, parent.id);
    for (const k of [forever, longer, shorter, grandchild]) await expectError(auth.authenticate(k.token), deploykit.EUNAUTHORIZED, INVALID);
    expect(await auth.findAPIKeys(user.id)).toEqual([]);
  });
});
