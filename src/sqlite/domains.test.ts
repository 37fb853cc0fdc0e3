import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import type { DB } from "./db.ts";
import { DomainService } from "./domains.ts";
import { PendingChangeService } from "./pending-change.ts";
import { ServiceService } from "./service.ts";
import { SettingsService } from "./settings.ts";
import { expectError, mustCreateProject, mustCreateService, mustOpenDB } from "./testing.ts";

const addDomain = (serviceID: string, payload: Record<string, unknown>): deploykit.PendingChangeAppend => ({
  op: deploykit.OP_DOMAIN_CREATE,
  target_type: deploykit.TARGET_SERVICE,
  target_id: serviceID,
  payload,
});
const delDomain = (id: string): deploykit.PendingChangeAppend => ({
  op: deploykit.OP_DOMAIN_DELETE,
  target_type: deploykit.TARGET_DOMAIN,
  target_id: id,
});

async function setup(db: DB = mustOpenDB()) {
  const project = await mustCreateProject(db, "Shop");
  const svc = await mustCreateService(db, project.id, { name: "web", ports: [{ container_port: 8080 }, { container_port: 9000 }] });
  return { db, project, svc, pc: new PendingChangeService(db), domains: new DomainService(db), settings: new SettingsService(db) };
}

describe("domains", () => {
  it("stages a lower-cased hostname with the service's first port, lists it staged, and applies it", async () => {
    const { project, svc, pc, domains } = await setup();
    const staged = await pc.appendPendingChange(project.id, null, addDomain(svc.id, { hostname: "App.Example.COM." }));
    expect(staged.payload).toEqual({ hostname: "app.example.com", target_port: 8080, generated: false });
    const listed = await domains.findServiceDomains(project.id, svc.id);
    expect(listed).toMatchObject([{ id: staged.id, hostname: "app.example.com", staged: true, status: "pending", tls: "acme" }]);

    await pc.applyPendingChanges(project.id);
    const [d] = await domains.findServiceDomains(project.id, svc.id);
    expect(d).toMatchObject({ hostname: "app.example.com", target_port: 8080, generated: false, status: "pending", tls: "acme" });
    expect(d?.staged).toBeUndefined();
    expect(await domains.findRoutes()).toMatchObject([{ domain: { hostname: "app.example.com" }, network: `dk-${project.slug}` }]);
  });

  it("refuses bad hostnames and ports with the field", async () => {
    const { db, project, svc, pc } = await setup();
    for (const hostname of [
      "*.example.com",
      "-a.example.com",
      "a_b.example.com",
      "exa mple.com",
      "",
      "a..b",
      `${"a".repeat(64)}.com`,
      "a.123",
    ]) {
      const err = await expectError(pc.appendPendingChange(project.id, null, addDomain(svc.id, { hostname })), deploykit.EINVALID);
      expect(Object.keys(err.fields ?? {})).toEqual(["hostname"]);
    }
    const port = await expectError(
      pc.appendPendingChange(project.id, null, addDomain(svc.id, { hostname: "a.example.com", target_port: 70000 })),
      deploykit.EINVALID,
    );
    expect(port.fields).toEqual({ target_port: ["Target port must be between 1 and 65535."] });
    const noPort = await mustCreateService(db, project.id, { name: "worker" });
    const err = await expectError(
      pc.appendPendingChange(project.id, null, addDomain(noPort.id, { hostname: "w.example.com" })),
      deploykit.EINVALID,
    );
    expect(err.fields).toEqual({ target_port: ["The service exposes no port: give target_port."] });
    expect(await pc.findPendingChanges(project.id)).toEqual([]);
  });

  it("keeps a hostname unique across the instance, applied or staged, naming the owner project", async () => {
    const { db, project, svc, pc } = await setup();
    const other = await mustCreateProject(db, "Blog");
    const otherSvc = await mustCreateService(db, other.id, { name: "site", ports: [{ container_port: 80 }] });
    await pc.appendPendingChange(project.id, null, addDomain(svc.id, { hostname: "app.example.com" }));
    await expectError(
      pc.appendPendingChange(other.id, null, addDomain(otherSvc.id, { hostname: "APP.example.com" })),
      deploykit.ECONFLICT,
      'Hostname "app.example.com" is already used by project "Shop".',
    );
    await pc.applyPendingChanges(project.id);
    await expectError(
      pc.appendPendingChange(other.id, null, addDomain(otherSvc.id, { hostname: "app.example.com" })),
      deploykit.ECONFLICT,
      'Hostname "app.example.com" is already used by project "Shop".',
    );
    // Within the owner project, a staged delete frees the name for another service.
    const [d] = await new DomainService(db).findServiceDomains(project.id, svc.id);
    const api = await mustCreateService(db, project.id, { name: "api", ports: [{ container_port: 3000 }] });
    await pc.appendPendingChange(project.id, null, delDomain(d?.id as string));
    await pc.appendPendingChange(project.id, null, addDomain(api.id, { hostname: "app.example.com" }));
    await pc.applyPendingChanges(project.id);
    const domains = new DomainService(db);
    expect(await domains.findServiceDomains(project.id, svc.id)).toEqual([]);
    expect(await domains.findServiceDomains(project.id, api.id)).toMatchObject([{ hostname: "app.example.com", target_port: 3000 }]);
  });

  it("generates <service>-<project-slug>.<base_domain>, and refuses without a base domain", async () => {
    const { project, svc, pc, settings } = await setup();
    const err = await expectError(pc.appendPendingChange(project.id, null, addDomain(svc.id, { generate: true })), deploykit.EINVALID);
    expect(Object.keys(err.fields ?? {})).toEqual(["generate"]);
    await settings.updateSettings({ base_domain: "Apps.Example.com" });
    const staged = await pc.appendPendingChange(project.id, null, addDomain(svc.id, { generate: true, target_port: 9000 }));
    expect(staged.payload).toEqual({ hostname: `web-${project.slug}.apps.example.com`, target_port: 9000, generated: true });
    await expectError(pc.appendPendingChange(project.id, null, addDomain(svc.id, { generate: true })), deploykit.ECONFLICT);
  });

  it("domain.delete removes the domain at apply; a service delete takes its domains along", async () => {
    const { db, project, svc, pc, domains } = await setup();
    await pc.appendPendingChange(project.id, null, addDomain(svc.id, { hostname: "a.example.com" }));
    await pc.appendPendingChange(project.id, null, addDomain(svc.id, { hostname: "b.example.com" }));
    await pc.applyPendingChanges(project.id);
    const [a] = await domains.findServiceDomains(project.id, svc.id);
    await pc.appendPendingChange(project.id, null, delDomain(a?.id as string));
    await expectError(pc.appendPendingChange(project.id, null, delDomain(a?.id as string)), deploykit.ECONFLICT);
    expect((await domains.findServiceDomains(project.id, svc.id)).map((d) => [d.hostname, d.staged_delete ?? false])).toEqual([
      ["a.example.com", true],
      ["b.example.com", false],
    ]);
    await pc.applyPendingChanges(project.id);
    expect((await domains.findServiceDomains(project.id, svc.id)).map((d) => d.hostname)).toEqual(["b.example.com"]);

    await new ServiceService(db).deleteService(svc.id);
    expect(await domains.findRoutes()).toEqual([]);
    // A staged domain of a service deleted earlier in the log is skipped.
    const svc2 = await mustCreateService(db, project.id, { name: "two", ports: [{ container_port: 80 }] });
    await pc.appendPendingChange(project.id, null, addDomain(svc2.id, { hostname: "c.example.com" }));
    await pc.appendPendingChange(project.id, null, {
      op: deploykit.OP_SERVICE_DELETE,
      target_type: deploykit.TARGET_SERVICE,
      target_id: svc2.id,
    });
    await pc.applyPendingChanges(project.id);
    expect(await domains.findRoutes()).toEqual([]);
  });

  it("refuses a domain.delete of another project's domain", async () => {
    const { db, project, svc, pc, domains } = await setup();
    await pc.appendPendingChange(project.id, null, addDomain(svc.id, { hostname: "a.example.com" }));
    await pc.applyPendingChanges(project.id);
    const [a] = await domains.findServiceDomains(project.id, svc.id);
    const other = await mustCreateProject(db, "Other");
    await expectError(pc.appendPendingChange(other.id, null, delDomain(a?.id as string)), deploykit.ENOTFOUND, "Domain not found.");
  });

  it("names .localhost, IPs and admin-marked hostnames internal, and records the proxy's status", async () => {
    const { project, svc, pc, domains, settings } = await setup();
    for (const hostname of ["shop.localhost", "10.0.0.5", "intra.corp.example", "www.example.com"])
      await pc.appendPendingChange(project.id, null, addDomain(svc.id, { hostname }));
    await settings.updateSettings({ internal_hostnames: ["Intra.Corp.Example"] });
    await pc.applyPendingChanges(project.id);
    const listed = await domains.findServiceDomains(project.id, svc.id);
    expect(listed.map((d) => [d.hostname, d.tls])).toEqual([
      ["shop.localhost", "internal"],
      ["10.0.0.5", "internal"],
      ["intra.corp.example", "internal"],
      ["www.example.com", "acme"],
    ]);
    const id = listed[0]?.id as string;
    await domains.setDomainStatus(id, { status: "active", cert_issuer: "Caddy Local Authority", cert_expires_at: "2027-01-01T00:00:00Z" });
    expect(await domains.findDomainByID(svc.id, id)).toMatchObject({
      status: "active",
      cert_issuer: "Caddy Local Authority",
      cert_expires_at: "2027-01-01T00:00:00Z",
      last_error: null,
    });
    await domains.setDomainStatus("nope", { status: "error" });
  });
});

describe("proxy settings", () => {
  it("defaults, normalizes and validates base_domain, acme_email, acme_directory and internal_hostnames", async () => {
    const settings = new SettingsService(mustOpenDB());
    expect(await settings.getSettings()).toMatchObject({
      base_domain: "",
      acme_email: "",
      acme_directory: "https://acme-v02.api.letsencrypt.org/directory",
      internal_hostnames: [],
    });
    expect(
      await settings.updateSettings({
        base_domain: "Apps.Example.com",
        acme_email: " ops@example.com ",
        acme_directory: "https://acme-staging-v02.api.letsencrypt.org/directory",
        internal_hostnames: ["B.corp", "a.corp", "a.corp"],
      }),
    ).toMatchObject({
      base_domain: "apps.example.com",
      acme_email: "ops@example.com",
      acme_directory: "https://acme-staging-v02.api.letsencrypt.org/directory",
      internal_hostnames: ["a.corp", "b.corp"],
    });
    const err = await expectError(
      settings.updateSettings({
        base_domain: "*.x.com",
        acme_email: "nope",
        acme_directory: "ftp://x",
        internal_hostnames: ["ok.corp", "bad host"],
      }),
      deploykit.EINVALID,
    );
    expect(Object.keys(err.fields ?? {}).sort()).toEqual(["acme_directory", "acme_email", "base_domain", "internal_hostnames[1]"]);
    expect((await settings.getSettings()).base_domain).toBe("apps.example.com");
    expect((await settings.updateSettings({ base_domain: "" })).base_domain).toBe("");
  });
});
