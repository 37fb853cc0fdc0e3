import { ImageIcon, Play, RotateCw, Square } from "lucide-react";
import { lazy, Suspense, useEffect, useState } from "react";
import { toast } from "sonner";
import type { Service } from "../../../../../src/service.ts";
import { ServiceIcon } from "../../../components/service-icon.tsx";
import { SidePanel } from "../../../components/side-panel.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { ConfirmDialog } from "../../../components/ui/dialog.tsx";
import { Input } from "../../../components/ui/input.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { Tabs } from "../../../components/ui/tabs.tsx";
import { errorText } from "../../../lib/api-client.ts";
import { cn } from "../../../lib/utils.ts";
import { iconURLError } from "../../../lib/validation.ts";
import { usePendingChanges } from "../../../shared/pending-changes/api/pending-changes.ts";
import { serviceOverrides } from "../../../shared/pending-changes/lib/staged.ts";
import { SERVICE_ACTION_DONE, type ServiceAction, useServiceAction, useUpdateService } from "../../../shared/services/api/services.ts";
import { DeploymentsTab } from "./deployments-tab.tsx";
import { LogsTab } from "./logs-tab.tsx";
import { RunsTab } from "./runs-tab.tsx";
import { SettingsTab } from "./settings-tab.tsx";
import { VariablesTab } from "./variables-tab.tsx";

// The terminal (xterm.js) and the charts (uPlot) load when their tab is first opened: bundled into the
// canvas route they made it ~3x larger (245 KB gzip) and its first render slower for every visit.
const ShellTab = lazy(async () => ({ default: (await import("./shell-tab.tsx")).ShellTab }));
const MetricsTab = lazy(async () => ({ default: (await import("./metrics-tab.tsx")).MetricsTab }));

type Tab = "deployments" | "metrics" | "logs" | "runs" | "shell" | "variables" | "settings";
const TABS = [
  { value: "deployments", label: "Deployments" },
  { value: "metrics", label: "Metrics" },
  { value: "logs", label: "Logs" },
  { value: "runs", label: "Runs" },
  { value: "shell", label: "Shell" },
  { value: "variables", label: "Variables" },
  { value: "settings", label: "Settings" },
] as const;

export function ServicePanel({
  projectID,
  service,
  taken,
  groupID,
  onClose,
}: {
  projectID: string;
  service: Service;
  taken: ReadonlySet<string>;
  /** The canvas group the service's node sits in, whose variables it inherits. */
  groupID: string | null;
  onClose: () => void;
}) {
  const [tab, setTab] = useState<Tab>("deployments");
  const [focusDeployment, setFocusDeployment] = useState<string | null>(null);
  const pending = usePendingChanges(projectID);
  const override = serviceOverrides(pending.data ?? []).get(service.id);
  const name = override?.name ?? service.name;
  const icon = override && override.icon_url !== undefined ? override.icon_url : service.icon_url;
  return (
    <SidePanel
      testID="service-panel"
      title={<span className={cn(override?.deleted && "line-through")}>{name}</span>}
      subtitle={<span className="font-mono text-xs">{service.active_deployment?.image ?? service.image ?? "— awaiting deployment"}</span>}
      icon={<IconEditor projectID={projectID} service={service} icon={icon ?? null} />}
      onClose={onClose}
    >
      <ServiceActions projectID={projectID} service={service} />
      <div className="sticky top-0 z-10 border-b border-border bg-card px-4 py-2">
        <Tabs value={tab} onValueChange={setTab} items={TABS} />
      </div>
      <div className="p-4">
        <Suspense fallback={<Skeleton className="h-40" />}>
          {tab === "deployments" ? (
            <DeploymentsTab projectID={projectID} service={service} onViewLogs={() => setTab("logs")} focusID={focusDeployment} />
          ) : tab === "metrics" ? (
            <MetricsTab
              projectID={projectID}
              service={service}
              onOpenDeployment={(id) => {
                setFocusDeployment(id);
                setTab("deployments");
              }}
            />
          ) : tab === "logs" ? (
            <LogsTab projectID={projectID} service={service} />
          ) : tab === "runs" ? (
            <RunsTab projectID={projectID} service={service} />
          ) : tab === "shell" ? (
            <ShellTab projectID={projectID} service={service} />
          ) : tab === "variables" ? (
            <VariablesTab projectID={projectID} service={service} taken={taken} groupID={groupID} />
          ) : (
            <SettingsTab projectID={projectID} service={service} taken={taken} />
          )}
        </Suspense>
      </div>
    </SidePanel>
  );
}

/** Restart, Stop (confirmed) and Start: immediate, they change no configuration. */
function ServiceActions({ projectID, service }: { projectID: string; service: Service }) {
  const action = useServiceAction(projectID, service.id);
  const [confirmStop, setConfirmStop] = useState(false);
  const run = (a: ServiceAction, after?: () => void) =>
    action.mutate(a, {
      onSuccess: () => {
        toast.success(SERVICE_ACTION_DONE[a]);
        after?.();
      },
      onError: (e) => toast.error(errorText(e)),
    });
  const stopped = service.status === "stopped";
  const deployed = service.active_deployment_id !== null;
  if (!deployed && !stopped) return null;
  return (
    <div className="flex items-center gap-2 border-b border-border px-4 py-2" data-testid="service-actions">
      {stopped ? (
        <Button size="sm" variant="outline" onClick={() => run("start")} disabled={action.isPending}>
          <Play /> Start
        </Button>
      ) : (
        <>
          <Button size="sm" variant="outline" onClick={() => run("restart")} disabled={action.isPending}>
            <RotateCw /> Restart
          </Button>
          <Button size="sm" variant="outline" onClick={() => setConfirmStop(true)} disabled={action.isPending}>
            <Square /> Stop
          </Button>
        </>
      )}
      <ConfirmDialog
        open={confirmStop}
        onOpenChange={setConfirmStop}
        title={`Stop ${service.name}?`}
        description="Its containers are stopped and stay down until you start it again. The deployment and its data are kept."
        confirmLabel="Stop"
        destructive
        pending={action.isPending}
        onConfirm={() => run("stop", () => setConfirmStop(false))}
      />
    </div>
  );
}

function IconEditor({ projectID, service, icon }: { projectID: string; service: Service; icon: string | null }) {
  const [open, setOpen] = useState(false);
  const [url, setURL] = useState(icon ?? "");
  const update = useUpdateService(projectID, service.id);
  useEffect(() => {
    if (open) setURL(icon ?? "");
  }, [open, icon]);
  const err = iconURLError(url.trim());
  const save = (value: string) =>
    update.mutate(
      { icon_url: value },
      {
        onSuccess: () => {
          toast.success(value ? "Icon change staged" : "Icon removal staged");
          setOpen(false);
        },
        onError: (e) => toast.error(errorText(e)),
      },
    );
  return (
    <div className="relative">
      <button
        type="button"
        onClick={() => setOpen((o) => !o)}
        className="rounded-md focus-visible:ring-2 focus-visible:ring-ring"
        aria-label="Change icon"
        title="Change icon"
      >
        <ServiceIcon url={icon} className="size-10" />
      </button>
      {open ? (
        <div className="absolute top-12 left-0 z-30 grid w-80 gap-2 rounded-lg border border-border bg-popover p-3 shadow-xl">
          <label htmlFor="icon-url" className="flex items-center gap-2 text-sm font-medium">
            <ImageIcon className="size-4" /> Icon URL
          </label>
          <Input id="icon-url" value={url} onChange={(e) => setURL(e.target.value)} placeholder="https://example.com/icon.svg" autoFocus />
          <p className={cn("text-xs", err ? "text-destructive" : "text-muted-foreground")}>{err ?? "Http(s) URL to a PNG, SVG, or JPG."}</p>
          <div className="flex justify-end gap-2">
            <Button size="sm" variant="ghost" onClick={() => setOpen(false)}>
              Cancel
            </Button>
            <Button size="sm" variant="outline" onClick={() => save("")} disabled={!icon}>
              Clear
            </Button>
            <Button size="sm" onClick={() => save(url.trim())} disabled={!!err || url.trim() === "" || url.trim() === icon}>
              Save
            </Button>
          </div>
        </div>
      ) : null}
    </div>
  );
}
