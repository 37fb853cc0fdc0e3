import { Handle, type Node, type NodeProps, Position, type ReactFlowState, useStore } from "@xyflow/react";
import { Clock, ExternalLink, Globe, Network } from "lucide-react";
import { memo, useEffect, useState } from "react";
import { useParams } from "react-router";
import { ServiceIcon } from "../../../../components/service-icon.tsx";
import { cn } from "../../../../lib/utils.ts";
import { useDomains } from "../../../../shared/services/api/domains.ts";
import { useServiceFigures } from "../../../../shared/services/api/metrics.ts";
import { useRuns } from "../../../../shared/services/api/runs.ts";
import { primaryURL } from "../../../../shared/services/lib/domains.ts";
import { formatValue } from "../../../../shared/services/lib/metrics.ts";
import type { DisplayStatus, ServiceNodeData } from "../../lib/flow.ts";

export const STATUS_META: Record<DisplayStatus, { label: string; dot: string; bar: string; text: string; tip?: string }> = {
  created: { label: "Created", dot: "bg-zinc-500", bar: "bg-zinc-600", text: "text-zinc-400" },
  pending: { label: "Pending deploy", dot: "bg-sky-400", bar: "bg-sky-500/60", text: "text-sky-300" },
  deploying: { label: "Deploying", dot: "bg-amber-400", bar: "bg-amber-500", text: "text-amber-300" },
  running: {
    label: "Running",
    dot: "bg-emerald-400 shadow-[0_0_8px_2px_rgba(52,211,153,0.6)]",
    bar: "bg-emerald-500",
    text: "text-emerald-300",
  },
  degraded: {
    label: "Degraded",
    dot: "bg-amber-400",
    bar: "bg-amber-500",
    text: "text-amber-300",
    tip: "Containers are restarting unexpectedly. Check the logs.",
  },
  failed: {
    label: "Failed",
    dot: "bg-red-500",
    bar: "bg-red-500",
    text: "text-red-300",
    tip: "The last deployment failed. Open the Deployments tab for the reason.",
  },
  stopped: { label: "Stopped", dot: "bg-zinc-500", bar: "bg-zinc-600", text: "text-zinc-400" },
};

const HANDLE = "!h-2 !w-2 !min-h-0 !min-w-0 !border-0 !bg-primary/0 hover:!bg-primary";

export function NodeHandles() {
  return (
    <>
      <Handle id="t" type="source" position={Position.Top} className={HANDLE} />
      <Handle id="r" type="source" position={Position.Right} className={HANDLE} />
      <Handle id="b" type="source" position={Position.Bottom} className={HANDLE} />
      <Handle id="l" type="source" position={Position.Left} className={HANDLE} />
    </>
  );
}

/** Below this zoom node text is unreadable; a simpler node paints several times faster (200-node canvases). */
export const LOW_DETAIL_ZOOM = 0.5;
const zoomedOutSelector = (s: ReactFlowState) => s.transform[2] < LOW_DETAIL_ZOOM;

function ServiceNodeView({ data, selected }: NodeProps<Node<ServiceNodeData>>) {
  const meta = STATUS_META[data.status];
  const zoomedOut = useStore(zoomedOutSelector);
  if (zoomedOut)
    return (
      <div
        className={cn(
          "flex h-[132px] w-[300px] items-center gap-4 rounded-xl border-2 bg-card px-5",
          selected ? "border-primary" : "border-border",
          data.pendingDelete && "border-dashed opacity-45",
          data.pendingCreate && "border-dashed border-sky-500/60",
        )}
        data-testid="service-node"
        data-service-name={data.name}
        data-status={data.status}
        title={`${data.name} — ${meta.label}`}
      >
        <NodeHandles />
        <span className={cn("size-7 shrink-0 rounded-full", meta.dot)} />
        <span className="truncate text-5xl font-semibold">{data.name}</span>
      </div>
    );
  return (
    <div
      className={cn(
        "group relative flex h-[132px] w-[300px] flex-col overflow-hidden rounded-xl border bg-card text-card-foreground shadow-lg transition-[opacity,border-color]",
        selected ? "border-primary ring-2 ring-primary/40" : "border-border hover:border-zinc-500",
        data.pendingDelete && "pointer-events-none border-dashed opacity-45 grayscale",
        data.pendingCreate && "border-dashed border-sky-500/60",
      )}
      data-testid="service-node"
      data-service-name={data.name}
      data-status={data.status}
      title={meta.tip}
    >
      <NodeHandles />
      <div className="flex items-start gap-3 p-3 pb-2">
        <ServiceIcon url={data.iconUrl} className="size-9 shrink-0" />
        <div className="min-w-0 flex-1">
          <div className="flex items-center gap-2">
            <span className={cn("truncate font-semibold", data.pendingDelete && "line-through")}>{data.name}</span>
            {data.renamed ? (
              <span className="rounded bg-amber-500/15 px-1 text-[10px] font-medium text-amber-300" title="Rename staged">
                renamed
              </span>
            ) : null}
            {data.pendingDelete ? <span className="rounded bg-red-500/15 px-1 text-[10px] font-medium text-red-300">deleting</span> : null}
          </div>
          <p className="truncate font-mono text-xs text-muted-foreground">{data.image ?? "— awaiting deployment"}</p>
        </div>
      </div>
      <div className="grid flex-1 content-start gap-0.5 px-3 pb-2 font-mono text-[11px] leading-4 text-muted-foreground">
        {data.serviceId && !data.pendingCreate ? <DomainLink serviceID={data.serviceId} /> : null}
        {data.publicUrl ? (
          <a
            href={data.publicUrl}
            target="_blank"
            rel="noreferrer"
            className="nodrag nopan flex w-fit items-center gap-1 text-primary hover:underline"
            onClick={(e) => e.stopPropagation()}
            data-testid="service-public-url"
          >
            <ExternalLink className="size-3" />
            {data.publicLabel}
          </a>
        ) : null}
        {data.cronSchedule && data.projectId && data.serviceId ? (
          <CronLine projectID={data.projectId} serviceID={data.serviceId} schedule={data.cronSchedule} />
        ) : null}
        {data.internal && !data.cronSchedule ? (
          <span className="flex items-center gap-1" title="Reachable by other services of the project">
            <Network className="size-3" />
            {data.internal}
          </span>
        ) : null}
      </div>
      <div className="flex items-center gap-2 border-t border-border px-3 py-1.5 text-xs">
        <span className="relative flex size-2">
          {data.status === "deploying" ? (
            <span className="absolute inline-flex size-full animate-ping rounded-full bg-amber-400 opacity-75" />
          ) : null}
          <span className={cn("relative inline-flex size-2 rounded-full", meta.dot)} />
        </span>
        <span className={cn("font-medium", meta.text)} data-testid="service-status">
          {meta.label}
        </span>
        {data.serviceId && (data.status === "running" || data.status === "degraded") ? <LiveFigures serviceID={data.serviceId} /> : null}
      </div>
      <div className={cn("absolute inset-x-0 bottom-0 h-0.5 overflow-hidden", meta.bar)}>
        {data.status === "deploying" ? <div className="dk-scan h-full w-1/3 bg-amber-200/80" /> : null}
      </div>
    </div>
  );
}

const RUN_TEXT: Record<string, string> = {
  running: "text-amber-300",
  succeeded: "text-emerald-300",
  failed: "text-red-300",
  skipped: "text-zinc-400",
};

/** A cron service's schedule and its last run's result (kept fresh by run:* canvas messages). */
function CronLine({ projectID, serviceID, schedule }: { projectID: string; serviceID: string; schedule: string }) {
  const runs = useRuns(projectID, serviceID);
  const last = runs.data?.find((r) => r.status !== "skipped") ?? runs.data?.[0];
  return (
    <span className="flex items-center gap-1" title="Cron schedule (UTC) and the last run" data-testid="service-cron">
      <Clock className="size-3" />
      {schedule}
      {last ? (
        <span className={cn("ml-1", RUN_TEXT[last.status])} data-testid="service-last-run">
          · {last.status}
          {last.exit_code !== undefined && last.exit_code !== null && last.status === "failed" ? ` (${last.exit_code})` : ""}
        </span>
      ) : null}
    </span>
  );
}

/** The service's primary https:// URL (its first active domain, else its first one), as a link. */
/** Small live CPU and memory figures of a running service (the project's one summary query, refreshed every 10 s). */
export function LiveFigures({ serviceID }: { serviceID: string }) {
  const { projectId: projectID = "" } = useParams();
  const figures = useServiceFigures(projectID, serviceID, true);
  const f = figures.data;
  if (!f) return null;
  return <FiguresText cpu={f.cpu_pct} mem={f.mem_bytes} />;
}

export function FiguresText({ cpu, mem }: { cpu: number | null; mem: number }) {
  return (
    <span
      className="ml-auto font-mono text-[11px] text-muted-foreground"
      title="CPU (% of a core) and memory, summed over replicas"
      data-testid="service-figures"
    >
      CPU {formatValue("pct", cpu)} · {formatValue("bytes", mem)}
    </span>
  );
}

function DomainLink({ serviceID }: { serviceID: string }) {
  const { projectId: projectID = "" } = useParams();
  const settled = useSettled();
  const domains = useDomains(projectID, serviceID, projectID !== "" && settled);
  const url = primaryURL(domains.data);
  if (!url) return null;
  return (
    <a
      href={url}
      target="_blank"
      rel="noreferrer"
      className="nodrag nopan flex w-fit max-w-full items-center gap-1 text-primary hover:underline"
      onClick={(e) => e.stopPropagation()}
      data-testid="service-domain-url"
    >
      <Globe className="size-3 shrink-0" />
      <span className="truncate">{url.replace(/^https:\/\//, "")}</span>
    </a>
  );
}

/**
 * True once the component has stayed mounted until the browser is idle. React Flow renders every
 * node it has not measured yet, culled or not, so opening a 200-service canvas mounted 200
 * full-detail nodes for one frame before the fit to view culled and simplified them; each domain
 * link asking for its domains at mount made 200 requests and doubled the first render (1.2–2.2 s).
 */
function useSettled(): boolean {
  const [settled, setSettled] = useState(false);
  useEffect(() => {
    const id = requestIdleCallback(() => setSettled(true), { timeout: 2000 });
    return () => cancelIdleCallback(id);
  }, []);
  return settled;
}

export const ServiceNode = memo(ServiceNodeView);
