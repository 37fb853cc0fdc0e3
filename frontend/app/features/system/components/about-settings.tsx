import { AlertTriangle, RefreshCw } from "lucide-react";
import type { ReactNode } from "react";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { errorText } from "../../../lib/api-client.ts";
import { formatBytes, formatDateTime, formatDuration } from "../../../lib/format.ts";
import { useAbout } from "../../../shared/system/api/system.ts";

function Rows({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="grid grid-cols-[11rem_1fr] gap-y-2 text-sm">
      {rows.map(([k, v]) => (
        <div key={k} className="contents">
          <dt className="text-muted-foreground">{k}</dt>
          <dd className="min-w-0 break-all font-mono text-xs leading-5">{v ?? "—"}</dd>
        </div>
      ))}
    </dl>
  );
}

export function AboutSettings() {
  const about = useAbout();
  if (about.isPending)
    return (
      <div className="grid gap-6 lg:grid-cols-2">
        <Skeleton className="h-48" />
        <Skeleton className="h-48" />
        <Skeleton className="h-64 lg:col-span-2" />
      </div>
    );
  if (about.isError) return <p className="text-sm text-destructive">{errorText(about.error)}</p>;
  const { deploykit, docker, database } = about.data;
  const uptime = (Date.now() - Date.parse(deploykit.started_at)) / 1000;
  return (
    <div className="grid gap-6 lg:grid-cols-2" data-testid="about">
      <Card>
        <CardHeader className="flex-row items-center justify-between">
          <CardTitle>DeployKit</CardTitle>
          <Button variant="ghost" size="sm" onClick={() => void about.refetch()} disabled={about.isFetching}>
            <RefreshCw className={about.isFetching ? "animate-spin" : ""} /> Refresh
          </Button>
        </CardHeader>
        <CardContent>
          <Rows
            rows={[
              ["Version", deploykit.version],
              ["Node.js", deploykit.node_version],
              ["Started", formatDateTime(deploykit.started_at)],
              ["Uptime", formatDuration(uptime)],
              ["Instance id", deploykit.instance_id],
            ]}
          />
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>Database</CardTitle>
        </CardHeader>
        <CardContent>
          <Rows
            rows={[
              ["Path", database.path],
              ["Size", formatBytes(database.size_bytes)],
            ]}
          />
        </CardContent>
      </Card>
      <Card className="lg:col-span-2">
        <CardHeader>
          <CardTitle>Docker daemon</CardTitle>
        </CardHeader>
        <CardContent className="grid gap-4">
          {docker.reachable ? (
            <Rows
              rows={[
                ["Server version", docker.server_version],
                ["API version", docker.api_version],
                ["OS", docker.os],
                ["Kernel", docker.kernel_version],
                ["Architecture", docker.architecture],
                ["Storage driver", docker.storage_driver],
                ["Logging driver", docker.logging_driver],
                ["Cgroup driver", docker.cgroup_driver],
                ["Root dir", docker.docker_root_dir],
              ]}
            />
          ) : (
            <div className="flex gap-3 rounded-lg border border-red-500/40 bg-red-950/40 p-3 text-sm text-red-200" role="alert">
              <AlertTriangle className="size-5 shrink-0" />
              <div>
                <p className="font-medium">Docker is unreachable</p>
                <p className="font-mono text-xs">{docker.error ?? "No answer from the daemon."}</p>
              </div>
            </div>
          )}
          {docker.warnings?.length ? (
            <ul className="grid gap-1 rounded-lg border border-amber-500/40 bg-amber-950/30 p-3 text-xs text-amber-200">
              {docker.warnings.map((w) => (
                <li key={w}>⚠ {w}</li>
              ))}
            </ul>
          ) : null}
        </CardContent>
      </Card>
    </div>
  );
}
