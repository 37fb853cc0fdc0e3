import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { DeploymentMarker } from "../../../../../src/metrics.ts";
import { type ChartSpec, formatValue, MARKER_COLOR, markerAt } from "../../../shared/services/lib/metrics.ts";

const HEIGHT = 150;
/** How close (px) a click must land to a marker line to open its deployment. */
const CLICK_PX = 6;

/**
 * Draws the marker lines and lists where they landed on the plot area (`data-markers` on uPlot's
 * `.u-over`: deployment id, kind and x in CSS pixels), which is how a test clicks a line on the canvas.
 */
function drawMarkers(u: uPlot, markers: readonly DeploymentMarker[]): void {
  const { ctx, bbox } = u;
  const placed: { deployment_id: string; kind: string; x: number }[] = [];
  ctx.save();
  ctx.lineWidth = 2 * devicePixelRatio;
  for (const m of markers) {
    const x = Math.round(u.valToPos(Date.parse(m.at) / 1000, "x", true));
    if (x < bbox.left || x > bbox.left + bbox.width) continue;
    placed.push({ deployment_id: m.deployment_id, kind: m.kind, x: u.valToPos(Date.parse(m.at) / 1000, "x") });
    ctx.strokeStyle = MARKER_COLOR[m.kind];
    ctx.setLineDash(m.kind === "created" ? [4 * devicePixelRatio, 3 * devicePixelRatio] : []);
    ctx.beginPath();
    ctx.moveTo(x, bbox.top);
    ctx.lineTo(x, bbox.top + bbox.height);
    ctx.stroke();
  }
  ctx.restore();
  u.over.dataset.markers = JSON.stringify(placed);
}

/**
 * One uPlot chart (canvas, ~40 KB, draws 4,000+ points per series in a few ms). Created once per chart;
 * new data goes through setData, so a live refresh does not rebuild the DOM. Gaps (nulls) stay gaps.
 */
export function MetricsChart({
  spec,
  markers,
  onMarker,
}: {
  spec: ChartSpec;
  markers: readonly DeploymentMarker[];
  onMarker: (m: DeploymentMarker) => void;
}) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const live = useRef({ markers, onMarker, spec });
  live.current = { markers, onMarker, spec };

  // Built once per chart kind; data and markers flow through refs and setData.
  useEffect(() => {
    const host = el.current;
    if (!host) return;
    const axis = { stroke: "#a1a1aa", grid: { stroke: "rgba(161,161,170,0.12)" }, ticks: { stroke: "rgba(161,161,170,0.2)" } };
    const u = new uPlot(
      {
        width: host.clientWidth || 480,
        height: HEIGHT,
        cursor: { sync: { key: "metrics" } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [axis, { ...axis, size: 72, values: (_u, vals) => vals.map((v) => formatValue(live.current.spec.unit, v)) }],
        series: [
          {},
          ...spec.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 1.5,
            spanGaps: false,
            ...(s.dash ? { dash: s.dash } : {}),
            value: (_u: uPlot, v: number | null) => formatValue(live.current.spec.unit, v),
          })),
        ],
        hooks: {
          draw: [
            (p) => {
              drawMarkers(p, live.current.markers);
              // How many points the last draw showed: what bench/metrics-render.ts waits for.
              host.dataset.points = String(p.data[0]?.length ?? 0);
            },
          ],
        },
      },
      spec.data as uPlot.AlignedData,
      host,
    );
    plot.current = u;
    const onClick = (e: MouseEvent) => {
      const x = u.posToVal(e.offsetX, "x");
      const tolerance = Math.abs(u.posToVal(e.offsetX + CLICK_PX, "x") - x);
      const m = markerAt(live.current.markers, x, tolerance);
      if (m) live.current.onMarker(m);
    };
    u.over.addEventListener("click", onClick);
    const ro = new ResizeObserver(() => u.setSize({ width: host.clientWidth, height: HEIGHT }));
    ro.observe(host);
    return () => {
      ro.disconnect();
      u.over.removeEventListener("click", onClick);
      u.destroy();
      plot.current = null;
    };
  }, [spec.id]);

  useEffect(() => {
    plot.current?.setData(spec.data as uPlot.AlignedData);
  }, [spec.data]);
  useEffect(() => {
    plot.current?.redraw(false);
  }, [markers]);

  return <div ref={el} className="w-full" data-testid={`metrics-chart-${spec.id}`} />;
}
