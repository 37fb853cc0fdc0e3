import { useMemo, useState } from "react";
import type { MetricsRange, MetricsSeries } from "../../../../../src/metrics.ts";
import type { Service } from "../../../../../src/service.ts";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { errorText } from "../../../lib/api-client.ts";
import { formatDateTime } from "../../../lib/format.ts";
import { cn } from "../../../lib/utils.ts";
import { type ReplicaChoice, useServiceMetrics } from "../../../shared/services/api/metrics.ts";
import { type ChartSpec, chartSpecs, formatValue, lastValue, MARKER_COLOR, RANGES } from "../../../shared/services/lib/metrics.ts";
import { MetricsChart } from "./metrics-chart.tsx";

const MARKER_LABEL = { created: "Deploy created", serving: "Serving", failed: "Failed" } as const;

/** CPU, memory, network and disk of a service, summed or per replica, with deployment markers; refreshed while open. */
export function MetricsTab({
  projectID,
  service,
  onOpenDeployment,
}: {
  projectID: string;
  service: Service;
  onOpenDeployment: (deploymentID: string) => void;
}) {
  const [range, setRange] = useState<MetricsRange>("1h");
  const [replica, setReplica] = useState<ReplicaChoice>("all");
  const q = useServiceMetrics(projectID, service.id, range, replica);
  return (
    <div className="grid grid-cols-1 gap-3" data-testid="metrics-tab">
      <MetricsToolbar range={range} onRange={setRange} replica={replica} onReplica={setReplica} replicas={q.data?.replicas ?? []} />
      {q.isPending ? (
        <div className="grid gap-2">
          <Skeleton className="h-40" />
          <Skeleton className="h-40" />
        </div>
      ) : q.isError ? (
        <p className="text-sm text-destructive">{errorText(q.error)}</p>
      ) : (
        <MetricsCharts series={q.data} onOpenDeployment={onOpenDeployment} />
      )}
    </div>
  );
}

export function MetricsToolbar({
  range,
  onRange,
  replica,
  onReplica,
  replicas,
}: {
  range: MetricsRange;
  onRange: (r: MetricsRange) => void;
  replica: ReplicaChoice;
  onReplica: (r: ReplicaChoice) => void;
  replicas: readonly number[];
}) {
  return (
    <div className="flex flex-wrap items-center gap-2">
      <fieldset aria-label="Range" className="inline-flex rounded-md border border-border p-0.5">
        {RANGES.map((r) => (
          <button
            key={r}
            type="button"
            aria-pressed={r === range}
            onClick={() => onRange(r)}
            className={cn("rounded px-2 py-0.5 text-xs", r === range ? "bg-muted font-medium text-foreground" : "text-muted-foreground")}
            data-testid={`metrics-range-${r}`}
          >
            {r}
          </button>
        ))}
      </fieldset>
      <select
        aria-label="Replica"
        className="h-7 rounded-md border border-border bg-background px-2 text-xs"
        value={String(replica)}
        onChange={(e) => onReplica(e.target.value === "all" ? "all" : Number(e.target.value))}
        data-testid="metrics-replica"
      >
        <option value="all">All replicas (summed)</option>
        {[...new Set([...replicas, ...(replica === "all" ? [] : [replica])])].map((r) => (
          <option key={r} value={String(r)}>
            Replica {r}
          </option>
        ))}
      </select>
    </div>
  );
}

export function MetricsCharts({ series, onOpenDeployment }: { series: MetricsSeries; onOpenDeployment: (id: string) => void }) {
  const specs = useMemo(() => chartSpecs(series), [series]);
  const open = (m: { deployment_id: string }) => onOpenDeployment(m.deployment_id);
  const empty = series.t.length > 0 && specs.every((s) => s.data.slice(1).every((col) => col.every((v) => v === null)));
  return (
    <>
      {empty ? (
        <p className="text-xs text-muted-foreground">No samples in this range: the service was not running (or the daemon was down).</p>
      ) : null}
      {specs.map((spec) => (
        <section key={spec.id} className="grid gap-1">
          <ChartTitle spec={spec} />
          <MetricsChart spec={spec} markers={series.markers} onMarker={open} />
        </section>
      ))}
      {series.markers.length > 0 ? (
        <ul className="grid gap-1 text-xs" aria-label="Deployments in this range">
          {series.markers.map((m) => (
            <li key={`${m.deployment_id}-${m.kind}-${m.at}`}>
              <button
                type="button"
                className="flex items-center gap-2 hover:underline"
                onClick={() => open(m)}
                data-testid="metrics-marker"
                data-kind={m.kind}
              >
                <span className="inline-block size-2 rounded-full" style={{ background: MARKER_COLOR[m.kind] }} />
                {MARKER_LABEL[m.kind]} · <span className="font-mono">{m.deployment_id.slice(0, 8)}</span> · {formatDateTime(m.at)}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}

function ChartTitle({ spec }: { spec: ChartSpec }) {
  return (
    <div className="flex items-baseline gap-2 text-xs">
      <span className="font-medium">{spec.title}</span>
      {spec.series.map((s, i) => (
        <span key={s.label} className="text-muted-foreground">
          <span className="mr-1 inline-block h-0.5 w-3 align-middle" style={{ background: s.color }} />
          {s.label} {formatValue(spec.unit, lastValue(spec.data[i + 1]))}
        </span>
      ))}
    </div>
  );
}
