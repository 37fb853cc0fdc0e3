import { afterEach, describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import type { Reconciler } from "./reconciler.ts";
import { reconcilerFixture, type TestStore } from "./testutil.ts";

const INSTANCE = "inst-order";
const running: Reconciler[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

const setup = () => reconcilerFixture(INSTANCE, running);

/** What Apply writes for a consumer whose providers roll out in the same Deploy. */
function waitFor(store: TestStore, dep: deploykit.Deployment, providers: string[]): void {
  store.db.write((tx) => tx.run("UPDATE deployments SET wait_for = ? WHERE id = ?", JSON.stringify(providers), dep.id));
}

function fail(store: TestStore, dep: deploykit.Deployment): void {
  store.db.write((tx) => tx.run("UPDATE deployments SET status = 'failed' WHERE id = ?", dep.id));
}

describe("waitsForProviders", () => {
  it.each([
    [[], false],
    [[null], false],
    [[{ status: "pending" }], true],
    [[{ status: "starting" }], true],
    [[{ status: "healthy" }, { status: "failed" }, { status: "cancelled" }, { status: "superseded" }], false],
  ] as [{ status: deploykit.DeploymentStatus }[], boolean][])("%j → %s", (providers, want) => {
    expect(deploykit.waitsForProviders(providers)).toBe(want);
  });
});

describe("Reconciler deploy order", () => {
  it("starts a consumer only once the provider's deployment of the same Deploy is serving", async () => {
    const h = setup();
    const db = h.store.addService(h.project.id, "db");
    const web = h.store.addService(h.project.id, "web");
    const dbDep = h.store.addDeployment(db.id, { image: "app:2" });
    const webDep = h.store.addDeployment(web.id, { image: "app:1" });
    waitFor(h.store, webDep, [dbDep.id]);

    await h.rec.reconcileOnce();
    expect(h.rt.ofService(db.id)).toHaveLength(1);
    expect(h.rt.ofService(web.id)).toHaveLength(0);
    expect(h.store.dep(webDep.id).status).toBe("pending");

    for (let i = 0; i < 30 && h.store.dep(dbDep.id).status !== "healthy"; i++) {
      h.clock.advance(2_000);
      await h.rec.reconcileOnce();
    }
    expect(h.store.dep(dbDep.id).status).toBe("healthy");
    h.clock.advance(2_000);
    await h.rec.reconcileOnce();
    expect(h.rt.ofService(web.id)).toHaveLength(1);
  });

  it("does not hold a consumer behind a provider that failed", async () => {
    const h = setup();
    const db = h.store.addService(h.project.id, "db");
    const web = h.store.addService(h.project.id, "web");
    const dbDep = h.store.addDeployment(db.id, { image: "app:2" });
    fail(h.store, dbDep);
    waitFor(h.store, h.store.addDeployment(web.id, { image: "app:1" }), [dbDep.id]);
    await h.rec.reconcileOnce();
    expect(h.rt.ofService(web.id)).toHaveLength(1);
  });
});
