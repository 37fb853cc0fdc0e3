import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { AuthService } from "./auth.ts";
import { expectError, FakeClock, mustCreateAuthUser, mustCreateUser, mustOpenDB, TEST_BCRYPT_COST } from "./testing.ts";
import { UserService } from "./user.ts";

const users = (db: ReturnType<typeof mustOpenDB>) => new UserService(db, { bcryptCost: TEST_BCRYPT_COST });

describe("UserService.createUser", () => {
  it("stores a normalized email and defaults to member", async () => {
    const db = mustOpenDB();
    const u = await users(db).createUser({ email: "  Ada@Example.COM ", name: "Ada", password: "password123" });
    expect(u).toMatchObject({ email: "ada@example.com", name: "Ada", role: "member" });
    expect(await users(db).findUserByID(u.id)).toEqual(u);
    expect(Object.keys(u)).not.toContain("password_hash");
  });

  it("refuses a duplicate email whatever its case", async () => {
    const db = mustOpenDB();
    await mustCreateUser(db, { email: "a@example.com" });
    await expectError(
      users(db).createUser({ email: "A@EXAMPLE.com", name: "B", password: "password123" }),
      deploykit.ECONFLICT,
      "A user with that email already exists.",
    );
  });

  it.each([
    [
      { email: "", name: "", password: "" },
      { email: ["Email is required."], name: ["Name is required."], password: ["Password is required."] },
    ],
    [
      { email: "nope", name: "N", password: "short" },
      { email: ["Email is not valid."], password: ["Password must be at least 8 characters."] },
    ],
    [{ email: "a@b.c", name: "N", password: "é".repeat(37) }, { password: ["Password must be at most 72 bytes."] }],
    [{ email: "a@b.c", name: "N", password: "password123", role: "root" }, { role: ["Role must be 'admin' or 'member'."] }],
  ])("validates %j", async (input, fields) => {
    const err = await expectError(users(mustOpenDB()).createUser(input), deploykit.EINVALID, "Validation failed.");
    expect(err.fields).toEqual(fields);
  });
});

describe("UserService.findUsers", () => {
  it("filters by email substring and role, newest first", async () => {
    const clock = new FakeClock();
    const db = mustOpenDB({ now: clock.now });
    const a = await mustCreateUser(db, { email: "alice@corp.io", role: "admin" });
    clock.advance(1000);
    const b = await mustCreateUser(db, { email: "bob@corp.io" });
    clock.advance(1000);
    await mustCreateUser(db, { email: "carol@home.net" });
    expect((await users(db).findUsers({ email: "CORP" })).items.map((u) => u.id)).toEqual([b.id, a.id]);
    expect((await users(db).findUsers({ role: "admin" })).items.map((u) => u.id)).toEqual([a.id]);
    expect((await users(db).findUsers({ limit: 1 })).total).toBe(3);
    expect((await users(db).findUsers({ id: b.id })).items).toEqual([b]);
  });
});

describe("UserService.updateUser", () => {
  it("updates fields, rehashes the password and ends the user's sessions", async () => {
    const db = mustOpenDB();
    const auth = new AuthService(db, { bcryptCost: TEST_BCRYPT_COST });
    await mustCreateAuthUser(db);
    const { user, tokens } = await mustCreateAuthUser(db, { email: "m@x.io" });
    const u = await users(db).updateUser(user.id, { email: "New@X.io", name: "New", role: "admin", password: "another-pass" });
    expect(u).toMatchObject({ email: "new@x.io", name: "New", role: "admin" });
    await expectError(auth.authenticate(tokens.access_token), deploykit.EUNAUTHORIZED, "Invalid or expired token.");
    await auth.login({ email: "new@x.io", password: "another-pass" });
    await expectError(auth.login({ email: "new@x.io", password: "password123" }), deploykit.EUNAUTHORIZED, "Invalid email or password.");
  });

  it("refuses demoting the last admin, an empty name, a taken email, an unknown user", async () => {
    const db = mustOpenDB();
    const { user: admin } = await mustCreateAuthUser(db);
    const other = await mustCreateUser(db, { email: "o@x.io" });
    await expectError(users(db).updateUser(admin.id, { role: "member" }), deploykit.EFORBIDDEN, "You cannot remove the last admin.");
    const err = await expectError(users(db).updateUser(admin.id, { name: " " }), deploykit.EINVALID);
    expect(err.fields).toEqual({ name: ["Name cannot be empty."] });
    await expectError(
      users(db).updateUser(other.id, { email: admin.email }),
      deploykit.ECONFLICT,
      "A user with that email already exists.",
    );
    await expectError(users(db).updateUser("nope", { name: "x" }), deploykit.ENOTFOUND, "User not found.");
    await users(db).updateUser(other.id, { role: "admin" });
    expect((await users(db).updateUser(admin.id, { role: "member" })).role).toBe("member");
  });
});

describe("UserService.updateProfile", () => {
  it("changes the password only with the current one", async () => {
    const db = mustOpenDB();
    const { user } = await mustCreateAuthUser(db);
    const err = await expectError(
      users(db).updateProfile(user.id, { new_password: "brand-new-pw", current_password: "wrong-one" }),
      deploykit.EINVALID,
    );
    expect(err.fields).toEqual({ current_password: ["Current password is incorrect."] });
    const missing = await expectError(users(db).updateProfile(user.id, { new_password: "brand-new-pw" }), deploykit.EINVALID);
    expect(missing.fields).toEqual({ current_password: ["Current password is required."] });
    await users(db).updateProfile(user.id, { new_password: "brand-new-pw", current_password: "password123", name: "Me" });
    await new AuthService(db, { bcryptCost: TEST_BCRYPT_COST }).login({ email: user.email, password: "brand-new-pw" });
    expect((await users(db).findUserByID(user.id)).name).toBe("Me");
  });

  it("refuses a taken email (only to someone who knows the password)", async () => {
    const db = mustOpenDB();
    const { user } = await mustCreateAuthUser(db);
    const other = await mustCreateUser(db);
    await expectError(
      users(db).updateProfile(user.id, { email: other.email, current_password: "password123" }),
      deploykit.ECONFLICT,
      "A user with that email already exists.",
    );
    await expectError(users(db).updateProfile("nope", { name: "x" }), deploykit.ENOTFOUND, "User not found.");
  });
});

describe("UserService.updateProfile email probing", () => {
  it("a new email needs the current password, so a session alone cannot probe which emails exist", async () => {
    const db = mustOpenDB();
    const { user } = await mustCreateAuthUser(db);
    const other = await mustCreateUser(db);
    for (const email of [other.email, "free@x.io"]) {
      const missing = await expectError(users(db).updateProfile(user.id, { email }), deploykit.EINVALID);
      expect(missing.fields).toEqual({ current_password: ["Current password is required to change your email."] });
      const wrong = await expectError(users(db).updateProfile(user.id, { email, current_password: "wrong-one" }), deploykit.EINVALID);
      expect(wrong.fields).toEqual({ current_password: ["Current password is incorrect."] });
    }
    // The same email (any case) and other fields need nothing.
    await users(db).updateProfile(user.id, { email: user.email.toUpperCase(), name: "Renamed" });
    expect((await users(db).updateProfile(user.id, { email: "free@x.io", current_password: "password123" })).email).toBe("free@x.io");
  });
});

describe("UserService.deleteUser", () => {
  it.each([
    ["yourself", "self", deploykit.EFORBIDDEN, "You cannot delete yourself."],
    ["the last admin", "admin", deploykit.EFORBIDDEN, "You cannot remove the last admin."],
    ["an unknown user", "missing", deploykit.ENOTFOUND, "User not found."],
  ] as const)("refuses deleting %s", async (_, who, code, message) => {
    const db = mustOpenDB();
    const { user: admin } = await mustCreateAuthUser(db);
    const member = await mustCreateUser(db);
    const [caller, target] = who === "self" ? [admin.id, admin.id] : who === "admin" ? [member.id, admin.id] : [admin.id, "missing"];
    await expectError(users(db).deleteUser(caller, target), code, message);
  });

  it("deletes another user with their sessions", async () => {
    const db = mustOpenDB();
    const { user: admin } = await mustCreateAuthUser(db);
    const { user, tokens } = await mustCreateAuthUser(db);
    await users(db).deleteUser(admin.id, user.id);
    await expectError(users(db).findUserByID(user.id), deploykit.ENOTFOUND, "User not found.");
    await expectError(new AuthService(db).authenticate(tokens.access_token), deploykit.EUNAUTHORIZED, "Invalid or expired token.");
  });
});
