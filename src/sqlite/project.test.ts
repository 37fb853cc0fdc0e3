import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { EnvVarService } from "./envvar.ts";
import { ProjectService } from "./project.ts";
import { expectError, FakeClock, mustCreateEnvVar, mustCreateProject, mustCreateService, mustOpenDB } from "./testing.ts";

describe("ProjectService", () => {
  it("creates a project with a DNS-safe slug and finds it", async () => {
    const db = mustOpenDB();
    const svc = new ProjectService(db);
    const p = await svc.createProject({ name: "  My Shop  " });
    expect(p.name).toBe("My Shop");
    expect(p.slug).toMatch(/^my-shop-[0-9a-f]{6}$/);
    expect(p.slug).toMatch(deploykit.SLUG_PATTERN);
    expect(await svc.findProjectByID(p.id)).toEqual(p);
  });

  it("allows duplicate names with different slugs", async () => {
    const db = mustOpenDB();
    const a = await mustCreateProject(db, "Same");
    const b = await mustCreateProject(db, "Same");
    expect(a.slug).not.toBe(b.slug);
  });

  it.each([
    [{ name: "" }, "Name is required."],
    [{ name: "   " }, "Name is required."],
    [{ name: "x".repeat(201) }, "Name is too long (max 200 characters)."],
    [{ name: "a\u0000b" }, "Name cannot contain control characters."],
  ])("refuses create %j", async (input, message) => {
    await expectError(new ProjectService(mustOpenDB()).createProject(input), deploykit.EINVALID, message);
  });

  it("updates the name, keeps the slug, and refuses an empty name", async () => {
    const db = mustOpenDB();
    const svc = new ProjectService(db);
    const p = await mustCreateProject(db, "Before");
    const u = await svc.updateProject(p.id, { name: "After" });
    expect(u.name).toBe("After");
    expect(u.slug).toBe(p.slug);
    await expectError(svc.updateProject(p.id, { name: " " }), deploykit.EINVALID, "Name cannot be empty.");
    await expectError(svc.updateProject("nope", { name: "x" }), deploykit.ENOTFOUND, "Project not found.");
    expect((await svc.updateProject(p.id, {})).name).toBe("After");
  });

  it("lists newest first with filters, totals and clamped paging", async () => {
    const clock = new FakeClock();
    const db = mustOpenDB({ now: clock.now });
    const svc = new ProjectService(db);
    const made: deploykit.Project[] = [];
    for (let i = 0; i < 25; i++) {
      made.push(await mustCreateProject(db, i % 2 === 0 ? `Alpha ${i}` : `Beta ${i}`));
      clock.advance(1000);
    }
    const page = await svc.findProjects({});
    expect(page.total).toBe(25);
    expect(page.items).toHaveLength(20);
    expect(page.items[0]?.id).toBe(made[24]?.id);
    expect((await svc.findProjects({ offset: 20 })).items.map((p) => p.id)).toEqual(
      made
        .slice(0, 5)
        .map((p) => p.id)
        .reverse(),
    );
    expect((await svc.findProjects({ offset: -5, limit: 2 })).items[0]?.id).toBe(made[24]?.id);
    expect((await svc.findProjects({ limit: 1000 })).items).toHaveLength(25);
    expect((await svc.findProjects({ limit: 0 })).items).toHaveLength(20);
    const beta = await svc.findProjects({ name: "beta" });
    expect(beta.total).toBe(12);
    expect(beta.items.every((p) => p.name.startsWith("Beta"))).toBe(true);
    expect((await svc.findProjects({ name: "%" })).total).toBe(0);
    expect((await svc.findProjects({ id: made[3]?.id })).items.map((p) => p.id)).toEqual([made[3]?.id]);
    const beyond = await svc.findProjects({ offset: 100 });
    expect(beyond).toEqual({ items: [], total: 25 });
  });

  it("caps limit at 100", async () => {
    const db = mustOpenDB();
    for (let i = 0; i < 105; i++) await mustCreateProject(db, `P${i}`);
    const page = await new ProjectService(db).findProjects({ limit: 500 });
    expect(page.items).toHaveLength(100);
    expect(page.total).toBe(105);
  });

  it("deletes with everything below it", async () => {
    const db = mustOpenDB();
    const svc = new ProjectService(db);
    const p = await mustCreateProject(db);
    const s = await mustCreateService(db, p.id);
    await mustCreateEnvVar(db, { scope: "project", scope_id: p.id, key: "A", value: "1" });
    await mustCreateEnvVar(db, { scope: "service", scope_id: s.id, key: "B", value: "2" });
    await svc.deleteProject(p.id);
    await expectError(svc.findProjectByID(p.id), deploykit.ENOTFOUND, "Project not found.");
    expect(await new EnvVarService(db).findEnvVars({})).toEqual([]);
    await expectError(svc.deleteProject(p.id), deploykit.ENOTFOUND, "Project not found.");
  });
});
