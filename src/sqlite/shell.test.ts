import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { SettingsService } from "./settings.ts";
import { ShellSessionService } from "./shell.ts";
import { expectError, FakeClock, mustCreateUser, mustOpenDB } from "./testing.ts";

const input = (user_id: string, command = ["sh"]): deploykit.ShellSessionCreate => ({
  user_id,
  project_id: "p1",
  service_id: "s1",
  container_id: "c".repeat(64),
  replica_index: 1,
  command,
});

describe("ShellSessionService", () => {
  it("records a session, its end and duration once, newest first, and keeps it after the user is gone", async () => {
    const clock = new FakeClock();
    const db = mustOpenDB({ now: () => clock.now() });
    const user = await mustCreateUser(db, { email: "ops@example.com" });
    const s = new ShellSessionService(db);
    const a = await s.startShellSession(input(user.id, ["sh", "-c", "echo 'a b'"]));
    expect(a).toMatchObject({ user_email: "ops@example.com", command: ["sh", "-c", "echo 'a b'"], ended_at: null, duration_ms: null });
    clock.advance(1500);
    const b = await s.startShellSession(input(user.id));
    clock.advance(2000);
    await s.endShellSession(a.id, 0);
    clock.advance(1000);
    await s.endShellSession(a.id, 7); // the first end stays
    const page = await s.findShellSessions({ limit: 10 });
    expect(page.total).toBe(2);
    expect(page.items.map((x) => x.id)).toEqual([b.id, a.id]);
    expect(page.items[1]).toMatchObject({ duration_ms: 3500, exit_code: 0 });
    expect(page.items[0]?.ended_at).toBeNull();

    db.write((tx) => tx.run("DELETE FROM users WHERE id = ?", user.id));
    const after = await s.findShellSessions({});
    expect(after.total).toBe(2);
    expect(after.items[0]).toMatchObject({ user_id: user.id, user_email: "" });
  });

  it("refuses a command that is not a bounded argv", async () => {
    const s = new ShellSessionService(mustOpenDB());
    await expectError(s.startShellSession(input("u", [])), deploykit.EINVALID);
    await expectError(s.startShellSession(input("u", ["a\0b"])), deploykit.EINVALID);
    await expectError(s.startShellSession(input("u", Array(65).fill("x"))), deploykit.EINVALID);
  });
});

describe("shell_members_allowed", () => {
  it("is off by default, stored when set, and must be a boolean", async () => {
    const s = new SettingsService(mustOpenDB());
    expect((await s.getSettings()).shell_members_allowed).toBe(false);
    expect((await s.updateSettings({ shell_members_allowed: true })).shell_members_allowed).toBe(true);
    expect((await s.updateSettings({ instance_name: "x" })).shell_members_allowed).toBe(true);
    expect((await s.updateSettings({ shell_members_allowed: false })).shell_members_allowed).toBe(false);
    const err = await expectError(s.updateSettings({ shell_members_allowed: "yes" as unknown as boolean }), deploykit.EINVALID);
    expect(Object.keys(err.fields ?? {})).toEqual(["shell_members_allowed"]);
  });
});
