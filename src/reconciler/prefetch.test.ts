import { describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import * as mock from "../mock/index.ts";
import { allServiceIDs, pageAllYielding, ResyncPrefetch, touchedService } from "./prefetch.ts";

const dep = (id: string, service_id: string) => ({ id, service_id }) as deploykit.Deployment;
const row = (id: string, service_id: string) => ({ id, service_id }) as deploykit.Container;

describe("a resync's prefetched rows", () => {
  it("groups in-flight deployments and container rows by service, in the store's order, each taken once", async () => {
    const seen: deploykit.DeploymentFilter[] = [];
    const pf = await ResyncPrefetch.load({
      deployments: mock.DeploymentService({
        findDeployments: async (f) => {
          seen.push(f);
          return { items: [dep("d2", "s1"), dep("d1", "s1"), dep("d3", "s2")], total: 3 };
        },
      }),
      containers: mock.ContainerService({ findContainers: async () => ({ items: [row("c1", "s2")], total: 1 }) }),
    });
    pf.cover(["s1", "s2", "s3"]);
    expect(seen[0]?.status).toEqual([...deploykit.IN_FLIGHT_STATUSES]);
    expect(seen[0]?.service_id).toBeUndefined();
    expect(pf.take("s1")).toEqual({ deps: [dep("d2", "s1"), dep("d1", "s1")], containers: [] });
    expect(pf.take("s1")).toBeUndefined(); // once
    expect(pf.take("s3")).toEqual({ deps: [], containers: [] }); // covered: known to have none
    pf.drop("s2");
    expect(pf.take("s2")).toBeUndefined(); // dropped: the pass reads for itself
    expect(pf.take("s-unknown")).toBeUndefined();
  });

  it("pages through every row and lists service ids project by project", async () => {
    const all = Array.from({ length: deploykit.MAX_LIMIT * 2 + 5 }, (_, i) => i);
    const pages: number[] = [];
    const got = await pageAllYielding(async (p) => {
      pages.push(p.offset);
      return { items: all.slice(p.offset, p.offset + p.limit), total: all.length };
    });
    expect(got).toEqual(all);
    expect(pages).toEqual([0, deploykit.MAX_LIMIT, deploykit.MAX_LIMIT * 2]);
    const filters: deploykit.ServiceFilter[] = [];
    const ids = await allServiceIDs({
      projects: mock.ProjectService({
        findProjects: async () => ({ items: [{ id: "p1" }, { id: "p2" }] as deploykit.Project[], total: 2 }),
      }),
      services: mock.ServiceService({
        findServices: async (f) => {
          filters.push(f);
          return { items: [{ id: `${f.project_id}-a` }] as deploykit.Service[], total: 1 };
        },
      }),
    });
    expect(ids).toEqual(["p1-a", "p2-a"]);
    expect(filters.map((f) => f.project_id)).toEqual(["p1", "p2"]);
  });
});

describe("touchedService", () => {
  it("passes over a service for a user's Stop, Start or Restart, not for the reconciler's own status changes", () => {
    const status = (requested?: true) =>
      deploykit.newEvent(deploykit.EVENT_SERVICE_STATUS_CHANGED, "p1", {
        service_id: "s1",
        old_status: "running",
        new_status: "stopped",
        ...(requested ? { requested } : {}),
      });
    expect(touchedService(status(true))).toEqual({ id: "s1", pass: true });
    expect(touchedService(status())).toEqual({ id: "s1", pass: false });
    const restart = deploykit.newEvent(deploykit.EVENT_SERVICE_RESTARTED, "p1", { service_id: "s1", requested_at: "2026-12-04T00:00:00Z" });
    expect(touchedService(restart)).toEqual({ id: "s1", pass: true });
  });
});
