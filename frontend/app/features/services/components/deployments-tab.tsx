import { AlertTriangle, ChevronDown, ChevronRight, GitBranch, HardDrive, History, Loader2, RotateCcw, ScrollText } from "lucide-react";
import { useEffect, useState } from "react";
import { toast } from "sonner";
import type { Deployment, DeploymentStatus } from "../../../../../src/deployment.ts";
import type { Service } from "../../../../../src/service.ts";
import { Badge, type BadgeVariant } from "../../../components/ui/badge.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { ConfirmDialog } from "../../../components/ui/dialog.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { errorText } from "../../../lib/api-client.ts";
import { formatDateTime, relativeTime } from "../../../lib/format.ts";
import { inertLogText } from "../../../lib/log-text.ts";
import { cn } from "../../../lib/utils.ts";
import { formatPorts } from "../../../shared/pending-changes/lib/diff-format.ts";
import { useDeployments } from "../../../shared/services/api/deployments.ts";
import { useRollback } from "../../../shared/services/api/services.ts";
import { type BuildDeployment, isBuilt, type SourceService } from "../lib/builds.ts";
import { BuildLog, CommitLine, PhaseTimeline } from "./build-details.tsx";
import { DeploymentLogs } from "./deployment-logs.tsx";
import { SourceDropZone } from "./source-upload.tsx";
import { WebhookPanel } from "./webhook-panel.tsx";

const PILL: Record<DeploymentStatus, { label: string; variant: BadgeVariant }> = {
  pending: { label: "Pending", variant: "info" },
  starting: { label: "Starting", variant: "info" },
  healthy: { label: "Healthy", variant: "secondary" },
  failed: { label: "Failed", variant: "destructive" },
  superseded: { label: "Superseded", variant: "secondary" },
  cancelled: { label: "Cancelled", variant: "outline" },
};

/** Splits a service's deployments into in flight, active and history (newest first). */
export function classifyDeployments(list: readonly Deployment[], activeID: string | null) {
  const active = list.find((d) => d.id === activeID) ?? null;
  const activeAt = active ? Date.parse(active.created_at) : Number.NEGATIVE_INFINITY;
  const inFlight: Deployment[] = [];
  const history: Deployment[] = [];
  for (const d of list) {
    if (d.id === activeID) continue;
    const newer = Date.parse(d.created_at) >= activeAt;
    if (d.status === "pending" || d.status === "starting" || (d.status === "failed" && newer)) inFlight.push(d);
    else history.push(d);
  }
  return { active, inFlight, history };
}

/**
 * Why a deployment briefly stopped the service: a service with a volume is redeployed stop-first (the
 * old container is stopped and gone before the new one starts, so two containers never share a
 * volume). Null for start-first deployments, cancelled ones, and the service's first deployment.
 */
export function rolloutNote(d: Deployment, list: readonly Deployment[]): string | null {
  if ((d.volumes?.length ?? 0) === 0 || d.status === "cancelled") return null;
  const at = Date.parse(d.created_at);
  if (!list.some((o) => o.id !== d.id && Date.parse(o.created_at) <= at && o.status !== "cancelled")) return null;
  const grace = d.stop_grace_seconds ?? 30;
  return d.status === "pending"
    ? `Will stop the old container first (up to ${grace} s to shut down) because this service has a volume.`
    : "Stopped the old container first because this service has a volume.";
}

/** What a starting deployment with a health check waits for (issue 12). */
export function healthNote(d: Deployment): string | null {
  if (!d.healthcheck_path || (d.status !== "pending" && d.status !== "starting")) return null;
  return `Goes live when GET ${d.healthcheck_path} answers 2xx or 3xx; fails after ${d.healthcheck_timeout_seconds ?? 60} s without one.`;
}

export function DeploymentsTab({
  projectID,
  service,
  onViewLogs,
  focusID = null,
}: {
  projectID: string;
  service: Service;
  onViewLogs?: () => void;
  /** A deployment to bring into view and outline (a marker clicked in the Metrics tab). */
  focusID?: string | null;
}) {
  const repoURL = (service as SourceService).repo_url ?? null;
  return (
    <SourceDropZone projectID={projectID} serviceID={service.id}>
      {repoURL ? <WebhookPanel projectID={projectID} serviceID={service.id} branch={(service as SourceService).branch || "main"} /> : null}
      <DeploymentList projectID={projectID} service={service} onViewLogs={onViewLogs} repoURL={repoURL} focusID={focusID} />
    </SourceDropZone>
  );
}

function DeploymentList({
  projectID,
  service,
  onViewLogs,
  repoURL,
  focusID,
}: {
  projectID: string;
  service: Service;
  onViewLogs?: (() => void) | undefined;
  repoURL: string | null;
  focusID: string | null;
}) {
  const deployments = useDeployments(projectID, service.id);
  useEffect(() => {
    if (focusID && deployments.data)
      document.querySelector(`[data-deployment-id="${CSS.escape(focusID)}"]`)?.scrollIntoView({ block: "center", behavior: "smooth" });
  }, [focusID, deployments.data]);
  const [showHistory, setShowHistory] = useState(true);
  const [target, setTarget] = useState<Deployment | null>(null);
  const rollback = useRollback(projectID, service.id);
  if (deployments.isPending)
    return (
      <div className="grid grid-cols-1 gap-2">
        <Skeleton className="h-16" />
        <Skeleton className="h-16" />
      </div>
    );
  if (deployments.isError) return <p className="text-sm text-destructive">{errorText(deployments.error)}</p>;
  if (deployments.data.length === 0) return <p className="py-8 text-center text-sm text-muted-foreground">No deployments yet</p>;
  const { active, inFlight, history } = classifyDeployments(deployments.data, service.active_deployment_id);
  const source: RowSource = { projectID, serviceID: service.id, repoURL };
  return (
    <div className="grid grid-cols-1 gap-3" data-testid="deployments">
      {inFlight.map((d) => (
        <DeploymentRow
          key={d.id}
          d={d}
          source={source}
          focused={d.id === focusID}
          note={rolloutNote(d, deployments.data) ?? healthNote(d)}
        />
      ))}
      {active ? (
        <DeploymentRow
          d={active}
          source={source}
          active
          focused={active.id === focusID}
          onViewLogs={onViewLogs}
          note={rolloutNote(active, deployments.data)}
        />
      ) : null}
      {history.length > 0 ? (
        <div className="grid grid-cols-1 gap-2">
          <button
            type="button"
            className="flex items-center gap-1 text-sm font-medium text-muted-foreground"
            onClick={() => setShowHistory((s) => !s)}
          >
            {showHistory ? <ChevronDown className="size-4" /> : <ChevronRight className="size-4" />}
            <History className="size-4" /> History ({history.length})
          </button>
          {showHistory
            ? history.map((d) => (
                <DeploymentRow
                  key={d.id}
                  d={d}
                  source={source}
                  focused={d.id === focusID}
                  note={rolloutNote(d, deployments.data)}
                  onRollback={d.status === "healthy" || d.status === "superseded" ? () => setTarget(d) : undefined}
                />
              ))
            : null}
        </div>
      ) : null}
      <ConfirmDialog
        open={target !== null}
        onOpenChange={(o) => !o && setTarget(null)}
        title="Roll back to this deployment?"
        description={
          target
            ? `A new deployment of ${target.image} from ${formatDateTime(target.created_at)} replaces the current one, with its environment as it was.`
            : ""
        }
        confirmLabel="Roll back"
        destructive={false}
        pending={rollback.isPending}
        onConfirm={() => {
          if (!target) return;
          rollback.mutate(target.id, {
            onSuccess: () => {
              toast.success("Rollback started");
              setTarget(null);
            },
            onError: (e) => toast.error("Rollback failed", { description: errorText(e) }),
          });
        }}
      />
    </div>
  );
}

/** Where a row's build details come from: the service, and its repository for commit links. */
interface RowSource {
  projectID: string;
  serviceID: string;
  repoURL: string | null;
}

function DeploymentRow({
  d,
  source,
  active = false,
  onRollback,
  onViewLogs,
  note = null,
  focused = false,
}: {
  d: BuildDeployment;
  source: RowSource;
  active?: boolean;
  focused?: boolean;
  note?: string | null;
  onRollback?: (() => void) | undefined;
  onViewLogs?: (() => void) | undefined;
}) {
  const pill = PILL[d.status];
  const busy = d.status === "pending" || d.status === "starting";
  return (
    <div
      className={cn(
        "grid gap-2 rounded-lg border p-3",
        active ? "border-emerald-500/50 bg-emerald-500/5" : "border-border",
        focused && "ring-2 ring-primary",
      )}
      data-testid="deployment-row"
      data-deployment-id={d.id}
      data-status={d.status}
      data-active={active}
      data-focused={focused}
    >
      <div className="flex items-center gap-2">
        {busy ? (
          <Loader2 className="size-4 animate-spin text-sky-400" />
        ) : d.status === "failed" ? (
          <AlertTriangle className="size-4 text-red-400" />
        ) : (
          <GitBranch className="size-4 text-muted-foreground" />
        )}
        {active ? (
          <Badge variant="success">Active</Badge>
        ) : (
          <Badge variant={pill.variant} className={cn(d.status === "cancelled" && "line-through")}>
            {pill.label}
          </Badge>
        )}
        <span className="min-w-0 flex-1 truncate font-mono text-xs">{d.image}</span>
        <span className="text-xs text-muted-foreground" title={formatDateTime(d.created_at)}>
          {relativeTime(d.created_at)}
        </span>
        {onViewLogs ? (
          <Button size="sm" variant="ghost" onClick={onViewLogs}>
            <ScrollText /> Logs
          </Button>
        ) : null}
        {onRollback ? (
          <Button size="sm" variant="outline" onClick={onRollback} title="Roll back to this deployment">
            <RotateCcw /> Rollback
          </Button>
        ) : null}
      </div>
      <CommitLine d={d} repoURL={source.repoURL} />
      {isBuilt(d) ? <PhaseTimeline d={d} /> : null}
      <div className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-muted-foreground">
        <span>replicas {d.replicas || 1}</span>
        <span>ports {formatPorts(d.ports)}</span>
        {d.status === "failed" && d.attempt_count > 1 ? <span>{d.attempt_count} attempts</span> : null}
      </div>
      {note ? (
        <p className="flex items-center gap-1.5 text-xs text-amber-300/90" data-testid="rollout-note">
          <HardDrive className="size-3.5 shrink-0" />
          {note}
        </p>
      ) : null}
      {d.pre_deploy_status ? (
        <details className="grid gap-1 text-xs" data-testid="pre-deploy-log" open={d.pre_deploy_status === "failed"}>
          <summary className="cursor-pointer text-muted-foreground">
            Pre-deploy {d.pre_deploy_status}
            {d.pre_deploy_exit_code !== undefined && d.pre_deploy_exit_code !== null ? ` (exit code ${d.pre_deploy_exit_code})` : ""}
          </summary>
          <pre className="max-h-40 overflow-auto whitespace-pre-wrap rounded bg-black/40 p-2 font-mono text-[11px]">
            {d.pre_deploy_log || (d.pre_deploy_status === "running" ? "(running…)" : "(no output)")}
          </pre>
        </details>
      ) : null}
      {isBuilt(d) ? <BuildLog projectID={source.projectID} serviceID={source.serviceID} d={d} /> : null}
      {d.status !== "pending" && d.status !== "cancelled" && !d.cron_schedule ? (
        <DeploymentLogs projectID={source.projectID} serviceID={source.serviceID} deploymentID={d.id} />
      ) : null}
      {d.status === "failed" ? (
        <div className="grid gap-1.5 rounded-md bg-red-950/40 p-2 text-xs">
          <p className="text-red-200">
            {d.failure_reason ? inertLogText(d.failure_reason) : "Failed."}
            {d.exit_code !== undefined && d.exit_code !== null ? ` (exit code ${d.exit_code})` : ""}
          </p>
          <pre className="max-h-40 overflow-auto whitespace-pre-wrap font-mono text-[11px] text-red-100/80">
            {d.log_tail ? d.log_tail.split("\n").map(inertLogText).join("\n") : "(no logs — container never started)"}
          </pre>
        </div>
      ) : null}
    </div>
  );
}
