import { Box, Cpu, HardDrive, MemoryStick } from "lucide-react";
import type { ReactNode } from "react";
import type { UsageBytes } from "../../../../../src/system.ts";
import { Badge } from "../../../components/ui/badge.tsx";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { UsageBar } from "../../../components/ui/progress.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { errorText } from "../../../lib/api-client.ts";
import { formatBytes, formatDuration, relativeTime } from "../../../lib/format.ts";
import { useStatus } from "../../../shared/system/api/system.ts";
import { BackupsCard } from "./backups-card.tsx";

function Gauge({ icon, label, pct, detail }: { icon: ReactNode; label: string; pct: number; detail: ReactNode }) {
  return (
    <div className="grid gap-1.5">
      <div className="flex items-center gap-2 text-sm">
        <span className="text-muted-foreground [&_svg]:size-4">{icon}</span>
        <span className="font-medium">{label}</span>
        <span className="ml-auto tabular-nums text-muted-foreground">{pct.toFixed(1)} %</span>
      </div>
      <UsageBar pct={pct} />
      <p className="text-xs tabular-nums text-muted-foreground">{detail}</p>
    </div>
  );
}

/** The status is polled every 3 s: an older Docker answer means the daemon is slow or hung. */
const STALE_SECONDS = 10;

const used = (u: UsageBytes) => `${formatBytes(u.used_bytes)} of ${formatBytes(u.total_bytes)}`;

function Stat({ label, value }: { label: string; value: ReactNode }) {
  return (
    <div className="rounded-lg border border-border p-3">
      <p className="text-xs text-muted-foreground">{label}</p>
      <p className="mt-1 text-lg font-semibold tabular-nums">{value}</p>
    </div>
  );
}

export function SystemSettings() {
  const status = useStatus();
  if (status.isPending)
    return (
      <div className="grid gap-6 lg:grid-cols-2">
        <Skeleton className="h-72" />
        <Skeleton className="h-72" />
        <Skeleton className="h-40 lg:col-span-2" />
      </div>
    );
  if (status.isError) return <p className="text-sm text-destructive">{errorText(status.error)}</p>;
  const { host, docker, deploykit, reconciler, backups } = status.data;
  return (
    <div className="grid gap-6 lg:grid-cols-2" data-testid="system-status">
      <Card>
        <CardHeader>
          <CardTitle>Host</CardTitle>
          <CardDescription>
            {host.hostname} · up {formatDuration(host.uptime)}
          </CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          <Gauge
            icon={<Cpu />}
            label="CPU"
            pct={host.cpu.usage_pct}
            detail={`${host.cpu.cores} cores · load ${host.cpu.load1.toFixed(2)} / ${host.cpu.load5.toFixed(2)} / ${host.cpu.load15.toFixed(2)}`}
          />
          <Gauge icon={<MemoryStick />} label="Memory" pct={host.memory.usage_pct} detail={used(host.memory)} />
          {host.swap.total_bytes > 0 ? (
            <Gauge icon={<MemoryStick />} label="Swap" pct={host.swap.usage_pct} detail={used(host.swap)} />
          ) : null}
          {host.disks.map((d) => (
            <Gauge key={d.mountpoint} icon={<HardDrive />} label={`Disk ${d.mountpoint}`} pct={d.usage_pct} detail={used(d)} />
          ))}
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle className="flex items-center gap-2">
            Docker {docker.reachable ? <Badge variant="success">connected</Badge> : <Badge variant="destructive">unreachable</Badge>}
          </CardTitle>
          <CardDescription>
            {docker.reachable
              ? "Objects on this daemon (all of them, not only DeployKit's)."
              : (docker.error ?? "The daemon does not answer.")}
            {(docker.age_seconds ?? 0) >= STALE_SECONDS ? (
              <span className="block">Last answer {formatDuration(docker.age_seconds ?? 0)} ago; still asking.</span>
            ) : null}
          </CardDescription>
        </CardHeader>
        <CardContent className="grid grid-cols-2 gap-3">
          <Stat label="Containers running" value={`${docker.containers_running} / ${docker.containers}`} />
          <Stat label="Stopped" value={docker.containers_stopped} />
          <Stat label="Images" value={`${docker.images} · ${formatBytes(docker.images_size_bytes)}`} />
          <Stat label="Volumes" value={`${docker.volumes} · ${formatBytes(docker.volumes_size_bytes)}`} />
          <Stat label="Build cache" value={formatBytes(docker.build_cache_bytes)} />
        </CardContent>
      </Card>
      <Card className="lg:col-span-2">
        <CardHeader>
          <CardTitle className="flex items-center gap-2">
            <Box className="size-4" /> DeployKit
          </CardTitle>
        </CardHeader>
        <CardContent className="grid gap-4">
          <div className="grid grid-cols-3 gap-3">
            <Stat label="Projects" value={deploykit.projects} />
            <Stat label="Services" value={deploykit.services} />
            <Stat label="Containers" value={deploykit.containers} />
          </div>
          {reconciler ? (
            <p className="text-sm text-muted-foreground">
              Reconciler: last pass {reconciler.last_pass_at ? relativeTime(reconciler.last_pass_at) : "not yet"}
              {reconciler.last_error ? <span className="text-red-300"> · last error: {reconciler.last_error}</span> : null}
            </p>
          ) : null}
          <div className="flex flex-wrap gap-2">
            {Object.entries(deploykit.services_by_status).map(([s, n]) => (
              <Badge
                key={s}
                variant={
                  s === "running"
                    ? "success"
                    : s === "failed"
                      ? "destructive"
                      : s === "degraded" || s === "deploying"
                        ? "warning"
                        : "secondary"
                }
              >
                {s} {n}
              </Badge>
            ))}
          </div>
        </CardContent>
      </Card>
      {backups ? <BackupsCard backups={backups} /> : null}
    </div>
  );
}
