import { afterEach, describe, expect, it } from "vitest";
import * as deploykit from "../index.ts";
import { configDrift } from "./drift.ts";
import type { Reconciler } from "./reconciler.ts";
import { type FakeContainer, reconcilerFixture } from "./testutil.ts";

// D11 (out-of-band drift) and C04 (forged ownership labels) against the fake Docker.

const INSTANCE = "inst-drift";
const running: Reconciler[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

const setup = () => reconcilerFixture(INSTANCE, running);

async function mustDeployHealthy(h: ReturnType<typeof setup>, name: string, env: Record<string, string>) {
  const svc = h.store.addService(h.project.id, name);
  const dep = h.store.addDeployment(svc.id, { image: "app:1", env_vars: env });
  h.rt.startedAgoMs = 60_000;
  await h.rec.reconcileOnce();
  h.rt.startedAgoMs = 0;
  expect(h.store.dep(dep.id).status).toBe("healthy");
  const [genuine] = h.rt.ofService(svc.id);
  return { svc, dep, genuine: genuine as FakeContainer };
}

/** `docker run` by hand with a copy of `of`'s labels (and so its deployment id), listed first as Docker lists the newest first. */
function forge(h: ReturnType<typeof setup>, of: FakeContainer, change: Partial<FakeContainer>): FakeContainer {
  const f = h.rt.addForeign(`${of.name}-by-hand`, { ...of.labels });
  Object.assign(f, { image: of.image, network: of.network, env: { ...of.env }, aliases: [...of.aliases] }, change);
  const rest = [...h.rt.containers.entries()].filter(([id]) => id !== f.docker_id);
  h.rt.containers.clear();
  h.rt.containers.set(f.docker_id, f);
  for (const [id, c] of rest) h.rt.containers.set(id, c);
  return f;
}

describe("configDrift", () => {
  const want = { image: "app:1", env: { A: "1", B: "2" }, network: "dk-shop" };
  const cfg = (o: Partial<deploykit.ContainerConfig> = {}): deploykit.ContainerConfig => ({
    image: "app:1",
    env: { A: "1", B: "2", PATH: "/bin" },
    image_env: { PATH: "/bin", B: "2" },
    networks: ["dk-shop"],
    ...o,
  });
  it.each([
    ["the deployment's container", cfg(), null],
    ["a variable left at the image's value", cfg({ env: { A: "1", B: "2", PATH: "/bin" } }), null],
    ["another image", cfg({ image: "app:2" }), "it runs app:2, not the deployment's app:1"],
    ["a changed value", cfg({ env: { A: "9", B: "2", PATH: "/bin" } }), "its env sets A differently from the deployment"],
    ["a removed variable", cfg({ env: { B: "2", PATH: "/bin" } }), "its env lacks A"],
    ["an added variable", cfg({ env: { A: "1", B: "2", PATH: "/bin", EVIL: "1" } }), "its env sets EVIL, which the deployment does not"],
    ["an image variable overridden", cfg({ env: { A: "1", B: "2", PATH: "/tmp" } }), "its env sets PATH, which the deployment does not"],
    ["another network", cfg({ networks: ["bridge"] }), "it is not attached to dk-shop"],
  ])("%s", (_name, config, drift) => expect(configDrift(config, want)).toBe(drift));
});

describe("drift is repaired in one pass (D11)", () => {
  it("replaces a container recreated by hand with changed env, and one disconnected from its network, in the same pass", async () => {
    const h = setup();
    const web = await mustDeployHealthy(h, "web", { VERSION: "v1" });
    const api = await mustDeployHealthy(h, "api", { VERSION: "a1" });
    // web: `docker rm -f` then `docker run` with the same labels and VERSION changed.
    h.rt.containers.delete(web.genuine.docker_id);
    const byHand = forge(h, web.genuine, { env: { VERSION: "hacked" } });
    // api: `docker network disconnect dk-shop <api>`.
    api.genuine.network = "";

    await h.rec.reconcileOnce();

    const [w] = h.rt.ofService(web.svc.id);
    expect(h.rt.ofService(web.svc.id)).toHaveLength(1);
    expect(w?.docker_id).not.toBe(byHand.docker_id);
    expect(w).toMatchObject({ env: { VERSION: "v1" }, network: "dk-shop" });
    expect(h.store.rowsOf(web.svc.id).map((r) => r.docker_container_id)).toEqual([w?.docker_id]);
    const [a] = h.rt.ofService(api.svc.id);
    expect(h.rt.ofService(api.svc.id)).toHaveLength(1);
    expect(a).toMatchObject({ network: "dk-shop", aliases: ["api"] });
    expect(a?.docker_id).not.toBe(api.genuine.docker_id);
    expect(h.store.rowsOf(api.svc.id).map((r) => r.docker_container_id)).toEqual([a?.docker_id]);
    // Both deployments keep serving: a repair is not a failure.
    expect([h.store.dep(web.dep.id).status, h.store.dep(api.dep.id).status]).toEqual(["healthy", "healthy"]);
  });
});

describe("forged ownership labels (C04)", () => {
  it("keeps its own container and does not adopt one made by hand with a copy of its labels", async () => {
    const h = setup();
    const web = await mustDeployHealthy(h, "web", { VERSION: "v1" });
    const byHand = forge(h, web.genuine, { env: { VERSION: "v1", EXTRA: "x" } });
    await h.rec.reconcileOnce();
    expect(h.rt.containers.has(web.genuine.docker_id)).toBe(true);
    expect(h.rt.containers.has(byHand.docker_id)).toBe(false);
    expect(h.store.rowsOf(web.svc.id).map((r) => r.docker_container_id)).toEqual([web.genuine.docker_id]);
  });

  it("does not adopt a labelled container whose deployment id is not in the database", async () => {
    const h = setup();
    const web = await mustDeployHealthy(h, "web", { VERSION: "v1" });
    const byHand = forge(h, web.genuine, { labels: { ...web.genuine.labels, [deploykit.LABEL_DEPLOYMENT_ID]: "no-such-deployment" } });
    await h.rec.reconcileOnce();
    expect(h.store.rowsOf(web.svc.id).map((r) => r.docker_container_id)).toEqual([web.genuine.docker_id]);
    expect(h.store.rowsOf(web.svc.id).some((r) => r.docker_container_id === byHand.docker_id)).toBe(false);
  });

  it("still adopts a container it has no row for when it is exactly the deployment's (a daemon killed before writing the row)", async () => {
    const h = setup();
    const web = await mustDeployHealthy(h, "web", { VERSION: "v1" });
    h.store.clearContainerRows();
    await h.rec.reconcileOnce();
    expect(h.store.rowsOf(web.svc.id).map((r) => r.docker_container_id)).toEqual([web.genuine.docker_id]);
    expect(h.rt.count("runContainer")).toBe(1);
  });
});
