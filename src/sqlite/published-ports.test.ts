/** Issue 10, item 7: members may publish only host ports inside the admin's range, never reserved ones. */
import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { PendingChangeService } from "./pending-change.ts";
import { SettingsService } from "./settings.ts";
import { expectError, mustCreateProject, mustOpenDB } from "./testing.ts";

const create = (temp: string, host_port: number, protocol = "tcp"): deploykit.PendingChangeAppend => ({
  op: "service.create",
  target_type: "service",
  target_temp_id: temp,
  payload: { name: temp, image: "nginx:1.27", ports: [{ container_port: 80, host_port, protocol }] },
});

async function setup() {
  const db = mustOpenDB();
  const p = await mustCreateProject(db);
  const reserved = new Map([[8080, "the DeployKit daemon listens on it"]]);
  return { db, p, pending: new PendingChangeService(db, { reservedHostPorts: reserved }), settings: new SettingsService(db) };
}

describe("published host ports", () => {
  it.each([
    [22, "tcp"],
    [80, "tcp"],
    [443, "tcp"],
    [53, "udp"],
  ])("refuses host port %i/%s by default (EINVALID naming the range)", async (port, protocol) => {
    const { p, pending } = await setup();
    const err = await expectError(pending.appendPendingChange(p.id, null, create("web", port, protocol)), deploykit.EINVALID);
    expect(err.fields).toEqual({ "ports[0].host_port": [`Host port ${port} is outside the allowed range 1024–65535.`] });
  });

  it("refuses the daemon's own port, accepts one inside the range", async () => {
    const { p, pending } = await setup();
    const err = await expectError(pending.appendPendingChange(p.id, null, create("web", 8080)), deploykit.EINVALID);
    expect(err.fields).toEqual({ "ports[0].host_port": ["Host port 8080 is reserved (the DeployKit daemon listens on it)."] });
    await pending.appendPendingChange(p.id, null, create("web", 20000));
  });

  it("follows the admin's range, for creates and for updates of a deployed service", async () => {
    const { p, pending, settings } = await setup();
    await settings.updateSettings({ published_port_min: 30000, published_port_max: 30100 });
    const err = await expectError(pending.appendPendingChange(p.id, null, create("web", 20000)), deploykit.EINVALID);
    expect(err.fields).toEqual({ "ports[0].host_port": ["Host port 20000 is outside the allowed range 30000–30100."] });
    await pending.appendPendingChange(p.id, null, create("web", 30050));
    const r = await pending.applyPendingChanges(p.id);
    const id = r.temp_id_to_service_id.web as string;
    const upd = await expectError(
      pending.appendPendingChange(p.id, null, {
        op: "service.update",
        target_type: "service",
        target_id: id,
        payload: { ports: [{ container_port: 80, host_port: 22 }] },
      }),
      deploykit.EINVALID,
    );
    expect(upd.fields).toEqual({ "ports[0].host_port": ["Host port 22 is outside the allowed range 30000–30100."] });
  });
});
