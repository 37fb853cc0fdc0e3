/**
 * Metrics tab render (issue 15): 30 days × 4 charts in Debian's Chromium.
 *   node bench/metrics-render.ts [rounds=7]   (builds the SPA first if dist/public is missing)
 * Seeds one service with 2 replicas × 30 days of 10-minute rows straight into the database (plus 49
 * other services' rows, as in bench/metrics.ts part 2), opens its Metrics tab, and times a click on
 * "30d" until the four charts are on screen with the 30-day data: the request, the JSON parse, the
 * column alignment and uPlot's first draw, then one more animation frame (the paint). Each round
 * reloads the page, so no round reads the query cache. The 1-hour range, drawn when the tab opens
 * (no samples in it), is the same-run baseline. Budget: ≤ 300 ms.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import * as sqlite from "../src/sqlite/index.ts";
import { ensureSPA, launchBrowser, startDaemon } from "../test/e2e/env.ts";

const ROUNDS = Number(process.argv[2] ?? 7);
const BUDGET_MS = 300;

async function seed(dbPath: string) {
  const db = new sqlite.DB(dbPath);
  db.open();
  const { tokens } = await new sqlite.AuthService(db).register({ email: "bench@example.com", name: "Bench", password: "bench-password-1" });
  const project = await new sqlite.ProjectService(db).createProject({ name: "Bench metrics" });
  const service = await new sqlite.ServiceService(db).createService(project.id, { name: "web", image: "nginx:1.27" });
  await new sqlite.CanvasService(db).upsertNode(project.id, {
    id: randomUUID(),
    type: "service",
    label: "web",
    position_x: 200,
    position_y: 200,
    service_id: service.id,
    data: JSON.stringify({ image: "nginx:1.27" }),
  });
  const now = Date.now();
  const start = Math.floor((now - 30 * 86_400_000) / 600_000) * 600_000;
  let rows = 0;
  db.write((tx) => {
    tx.run("INSERT INTO metric_series (id, service_id, project_id) VALUES (1, ?, ?)", service.id, project.id);
    for (let s = 2; s <= 50; s++)
      tx.run("INSERT INTO metric_series (id, service_id, project_id) VALUES (?, ?, ?)", s, `other-${s}`, project.id);
    for (let s = 1; s <= 50; s++)
      for (let r = 0; r < 2; r++)
        for (let ts = start; ts < now; ts += 600_000) {
          const cpu = 20 + 15 * Math.sin(ts / 3_600_000) + Math.random() * 10;
          tx.run(
            `INSERT INTO metric_points (tier, series, ts, replica, container, n, cpu_pct, cpu_pct_max, cpu_limit_pct,
               mem_bytes, mem_bytes_max, mem_limit_bytes, mem_nocache_bytes, mem_nocache_bytes_max, net_rx_bps, net_tx_bps,
               blk_read_bps, blk_write_bps, restarts) VALUES (600000, ?, ?, ?, '', 60, ?, ?, 100, ?, ?, 536870912, ?, ?, ?, ?, 10, ?, 0)`,
            s,
            ts,
            r,
            cpu,
            cpu * 1.5,
            2e8 + Math.random() * 1e7,
            2.2e8,
            1.5e8,
            1.6e8,
            Math.random() * 1e4,
            Math.random() * 1e4,
            Math.random() * 1e3,
          );
          rows++;
        }
  });
  db.close();
  return { tokens, projectID: project.id, rows };
}

/** Clicks a range button in the page and resolves with ms until four chart canvases are painted. */
async function timeRange(page: Page, range: "1h" | "30d"): Promise<number> {
  return page.evaluate(
    (r) =>
      new Promise<number>((resolve, reject) => {
        const button = document.querySelector<HTMLElement>(`[data-testid=metrics-range-${r}]`);
        if (!button) return reject(new Error(`no ${r} button`));
        const t0 = performance.now();
        button.click();
        const deadline = t0 + 30_000;
        const tick = () => {
          const tab = document.querySelector("[data-testid=metrics-tab]");
          // The previous range stays on screen while the new one loads (keepPreviousData): done is
          // when uPlot has drawn the new range's points on all four charts (data-points, set by its
          // draw hook): 30 days of 10-minute buckets is 4,321 points, an hour's samples far fewer.
          const drawn = ["cpu", "memory", "network", "disk"].every((id) => {
            const n = Number(tab?.querySelector<HTMLElement>(`[data-testid=metrics-chart-${id}]`)?.dataset.points ?? -1);
            return r === "30d" ? n >= 4000 : n >= 0 && n < 4000;
          });
          if (drawn) return requestAnimationFrame(() => resolve(performance.now() - t0));
          if (performance.now() > deadline) return reject(new Error(`the ${r} charts did not draw in 30 s`));
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }),
    range,
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const spa = ensureSPA();
const dataDir = mkdtempSync(join(tmpdir(), "dk-bench-metrics-render-"));
const { tokens, projectID, rows } = await seed(join(dataDir, "deploykit.db"));
const daemon = await startDaemon(spa, { dataDir });
const browser = await launchBrowser();
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.addInitScript((t) => {
    localStorage.setItem("access_token", t.access_token);
    localStorage.setItem("refresh_token", t.refresh_token);
    localStorage.setItem("access_expires_at", t.expires_at);
  }, tokens);
  const page = await ctx.newPage();
  page.setDefaultTimeout(30_000);
  const month: number[] = [];
  const hour: number[] = [];
  for (let i = 0; i < ROUNDS + 1; i++) {
    await page.goto(`${daemon.url}/projects/${projectID}`);
    await page.locator('[data-testid=service-node][data-service-name="web"]').click();
    const panel = page.getByTestId("service-panel");
    await panel.getByRole("tab", { name: "Metrics" }).click();
    await page.getByTestId("metrics-range-30d").waitFor();
    // Round 0 warms the server's statement cache and the browser's code cache; it is not counted.
    const m = await timeRange(page, "30d");
    const h = await timeRange(page, "1h");
    if (i > 0) {
      month.push(m);
      hour.push(h);
    }
  }
  const result = {
    rows_seeded: rows,
    rounds: ROUNDS,
    click_30d_to_painted_ms: { median: Math.round(median(month)), runs: month.map(Math.round) },
    click_1h_to_painted_ms: { median: Math.round(median(hour)), runs: hour.map(Math.round) },
  };
  console.log(JSON.stringify(result, null, 2));
  const ok = result.click_30d_to_painted_ms.median <= BUDGET_MS;
  console.log(
    `30 days × 4 charts: ${result.click_30d_to_painted_ms.median} ms median (budget ≤ ${BUDGET_MS}), ` +
      `${(median(month) / median(hour)).toFixed(2)}× the empty 1-hour range: ${ok ? "PASS" : "FAIL"}`,
  );
} finally {
  await browser.close();
  await daemon.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
