/**
 * Web app benchmark: a project canvas with 200 services in Debian's Chromium.
 *   node bench/canvas-render.ts          (builds the SPA first if dist/public is missing)
 *   DEPLOYKIT_BENCH_SPA_DIR=/tmp/spa-old node bench/canvas-render.ts
 *                                         (serves that built SPA instead, e.g. another commit's
 *                                          `npx vite build --config frontend/vite.config.ts --outDir /tmp/spa-old`,
 *                                          against today's daemon: how bisecting a regression compares SPAs)
 * Measures the first render (navigation start → all 200 service nodes on screen, median of 3 loads),
 * the frame time while dragging a node (requestAnimationFrame deltas), and the JavaScript shipped on
 * first load (gzip of the entry chunk and its modulepreloads). Targets: first render ≤ 1 s, drag
 * ≥ 50 fps. The services are seeded straight into the database (no deployments, so no containers).
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import type { Page } from "playwright-core";
import * as sqlite from "../src/sqlite/index.ts";
import { ensureSPA, launchBrowser, removeDockerObjects, signedInContext, startDaemon } from "../test/e2e/env.ts";

const SERVICES = 200;
const LOADS = 3;

function gz(file: string): number {
  return gzipSync(readFileSync(file)).length;
}

/** Entry script + modulepreloads + stylesheet of index.html, and the lazy canvas route chunk. */
function shippedJS(dir: string) {
  const html = readFileSync(join(dir, "index.html"), "utf8");
  const refs = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1] as string);
  const js = refs.filter((r) => r.endsWith(".js"));
  const css = refs.filter((r) => r.endsWith(".css"));
  const canvas = readdirSync(join(dir, "assets")).filter((f) => f.startsWith("project-canvas-"));
  return {
    firstLoadJS: js.reduce((n, f) => n + gz(join(dir, f)), 0),
    firstLoadCSS: css.reduce((n, f) => n + gz(join(dir, f)), 0),
    files: js,
    canvasRoute: canvas.reduce((n, f) => n + gz(join(dir, "assets", f)), 0),
  };
}

async function seed(dbPath: string) {
  const db = new sqlite.DB(dbPath);
  db.open();
  const { tokens } = await new sqlite.AuthService(db).register({ email: "bench@example.com", name: "Bench", password: "bench-password-1" });
  const project = await new sqlite.ProjectService(db).createProject({ name: "Bench canvas" });
  const services = new sqlite.ServiceService(db);
  const canvas = new sqlite.CanvasService(db);
  for (let i = 0; i < SERVICES; i++) {
    const name = `svc-${i}`;
    const s = await services.createService(project.id, { name, image: "nginx:1.27", ports: [{ container_port: 8000 + i }] });
    await canvas.upsertNode(project.id, {
      id: randomUUID(),
      type: "service",
      label: name,
      position_x: (i % 20) * 340,
      position_y: Math.floor(i / 20) * 180,
      service_id: s.id,
      data: JSON.stringify({ image: "nginx:1.27" }),
    });
  }
  const instanceID = await new sqlite.SettingsService(db).instanceID();
  db.close();
  return { tokens, projectID: project.id, instanceID };
}

/** Drags the node nearest the middle of the canvas and returns the animation-frame deltas. */
async function measureDrag(page: Page): Promise<{ frames: number[]; dragMs: number }> {
  // The node nearest the middle of the canvas, so the drag never comes close to an edge (where
  // React Flow auto-pans and every frame repaints the whole viewport).
  const centre = await page.evaluate(() => {
    const pane = document.querySelector(".react-flow")?.getBoundingClientRect();
    const cx = (pane?.left ?? 0) + (pane?.width ?? 0) / 2 - 180;
    const cy = (pane?.top ?? 0) + (pane?.height ?? 0) / 2;
    let best = "";
    let bestD = Number.POSITIVE_INFINITY;
    document.querySelectorAll<HTMLElement>("[data-testid=service-node]").forEach((el) => {
      const r = el.getBoundingClientRect();
      const d = Math.hypot(r.left + r.width / 2 - cx, r.top + r.height / 2 - cy);
      if (d < bestD) {
        bestD = d;
        best = el.dataset.serviceName ?? "";
      }
    });
    return best;
  });
  const target = page.locator(`[data-testid=service-node][data-service-name="${centre}"]`);
  const box = await target.boundingBox();
  if (!box) throw new Error("node not on screen");
  await page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __sampling: boolean };
    w.__frames = [];
    w.__sampling = true;
    let last = performance.now();
    const tick = (t: number) => {
      w.__frames.push(t - last);
      last = t;
      if (w.__sampling) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const x0 = box.x + box.width / 2;
  const y0 = box.y + 6;
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  const started = Date.now();
  for (let i = 1; i <= 120; i++) await page.mouse.move(x0 + i * 3, y0 + Math.sin(i / 10) * 40);
  await page.mouse.up();
  const dragMs = Date.now() - started;
  const frames = await page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __sampling: boolean };
    w.__sampling = false;
    return w.__frames.slice(1);
  });
  const moved = await target.boundingBox();
  if (!moved || Math.abs(moved.x - box.x) < 100) throw new Error("the drag did not move the node");
  return { frames, dragMs };
}

async function zoom(page: Page): Promise<number> {
  return page.evaluate(() => {
    const t = (document.querySelector(".react-flow__viewport") as HTMLElement | null)?.style.transform ?? "";
    return Number(/scale\(([\d.]+)\)/.exec(t)?.[1] ?? 0);
  });
}

function stats(frames: number[], dragMs: number) {
  const mean = frames.reduce((a, b) => a + b, 0) / frames.length;
  return {
    frames: frames.length,
    duration_ms: dragMs,
    mean_frame_ms: +mean.toFixed(2),
    p95_frame_ms: +pct(frames, 95).toFixed(2),
    fps: +(1000 / mean).toFixed(1),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] as number;
}

function spaDir(): string {
  const dir = process.env.DEPLOYKIT_BENCH_SPA_DIR;
  if (!dir) return ensureSPA();
  if (!existsSync(join(dir, "index.html"))) throw new Error(`DEPLOYKIT_BENCH_SPA_DIR: no index.html in ${dir}`);
  return resolve(dir);
}

const spa = spaDir();
const dataDir = mkdtempSync(join(tmpdir(), "dk-bench-canvas-"));
const { tokens, projectID, instanceID } = await seed(join(dataDir, "deploykit.db"));
const daemon = await startDaemon(spa, { dataDir });
const browser = await launchBrowser();
try {
  const ctx = await signedInContext(browser, tokens, { width: 1280, height: 720 });
  const page = await ctx.newPage();
  const renders: number[] = [];
  for (let i = 0; i < LOADS; i++) {
    await page.goto(`${daemon.url}/projects/${projectID}`);
    const ms = await page
      .waitForFunction((n) => document.querySelectorAll("[data-testid=service-node]").length >= n && performance.now(), SERVICES, {
        polling: "raf",
        timeout: 30_000,
      })
      .then((h) => h.jsonValue() as Promise<number>)
      .catch(async (err) => {
        const n = await page.locator("[data-testid=service-node]").count();
        await page.screenshot({ path: join(dataDir, "..", "dk-bench-canvas-timeout.png") });
        throw new Error(`only ${n} of ${SERVICES} service nodes rendered: ${(err as Error).message}`);
      });
    renders.push(ms);
  }

  // Drag one node across the canvas while sampling animation frames.
  const fitted = await measureDrag(page);
  const fittedZoom = await zoom(page);
  // Zoom in to 100 % (full-detail nodes, most of the 200 culled) and drag again.
  while ((await zoom(page)) < 1) {
    await page.keyboard.press("=");
    await page.waitForTimeout(200);
  }
  const detailed = await measureDrag(page);
  const js = shippedJS(spa);
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const result = {
    services: SERVICES,
    first_render_ms: { median: Math.round(median(renders)), runs: renders.map(Math.round) },
    drag_all_visible: { zoom: +fittedZoom.toFixed(3), ...stats(fitted.frames, fitted.dragMs) },
    drag_zoom_100: { zoom: +(await zoom(page)).toFixed(2), ...stats(detailed.frames, detailed.dragMs) },
    first_load_gzip: { js: kb(js.firstLoadJS), css: kb(js.firstLoadCSS), files: js.files },
    canvas_route_gzip: kb(js.canvasRoute),
  };
  console.log(JSON.stringify(result, null, 2));
  const fps = Math.min(result.drag_all_visible.fps, result.drag_zoom_100.fps);
  const ok = result.first_render_ms.median <= 1000 && fps >= 50;
  console.log(
    `first render ${result.first_render_ms.median} ms (target ≤ 1000), slowest drag ${fps} fps (target ≥ 50): ${ok ? "PASS" : "FAIL"}`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  await browser.close();
  await daemon.stop();
  rmSync(dataDir, { recursive: true, force: true });
  // The reconciler created the project's network; nothing of this run stays in Docker.
  removeDockerObjects(instanceID);
}
