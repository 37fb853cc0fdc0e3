import { useState } from "react";
import { toast } from "sonner";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { Table, TBody, TD, TH, THead, TR } from "../../../components/ui/table.tsx";
import { errorText } from "../../../lib/api-client.ts";
import { formatCommand } from "../../../lib/command.ts";
import { formatDateTime, formatDuration } from "../../../lib/format.ts";
import { useShellSessions } from "../../../shared/services/api/shell.ts";
import { useSettings, useUpdateSettings } from "../../../shared/settings/api/settings.ts";

const PAGE = 20;

/** Who may open a shell in a container, and the audit of every session (never what was typed). */
export function ShellSettings() {
  return (
    <div className="grid gap-6">
      <ShellAccessCard />
      <ShellSessionsCard />
    </div>
  );
}

function ShellAccessCard() {
  const settings = useSettings();
  const update = useUpdateSettings();
  const allowed = settings.data?.shell_members_allowed ?? false;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Shell access</CardTitle>
        <CardDescription>
          Admins can always open a shell in a service's container from its Shell tab. A shell runs any command the container can; allow
          members only if you trust them with that. Turning this off closes members' open shells.
        </CardDescription>
      </CardHeader>
      <CardContent>
        {settings.isPending ? (
          <Skeleton className="h-6 w-64" />
        ) : (
          <label className="flex items-center gap-2 text-sm" htmlFor="shell-members-allowed">
            <input
              id="shell-members-allowed"
              type="checkbox"
              className="size-4"
              checked={allowed}
              disabled={update.isPending}
              data-testid="shell-members-allowed"
              onChange={(e) =>
                update.mutate(
                  { shell_members_allowed: e.target.checked },
                  {
                    onSuccess: (s) => toast.success(s.shell_members_allowed ? "Members may open shells" : "Shells are for admins only"),
                    onError: (err) => toast.error(errorText(err)),
                  },
                )
              }
            />
            Members may open a shell
          </label>
        )}
      </CardContent>
    </Card>
  );
}

function ShellSessionsCard() {
  const [offset, setOffset] = useState(0);
  const sessions = useShellSessions(offset, PAGE);
  const total = sessions.data?.total_count ?? 0;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Shell sessions</CardTitle>
        <CardDescription>
          Every shell opened in a container: who, where, which command, when and for how long. Input is not recorded.
        </CardDescription>
      </CardHeader>
      <CardContent>
        {sessions.isPending ? (
          <Skeleton className="h-32" />
        ) : sessions.isError ? (
          <p className="text-sm text-destructive">{errorText(sessions.error)}</p>
        ) : sessions.data.data.length === 0 ? (
          <p className="text-sm text-muted-foreground">No shell has been opened yet.</p>
        ) : (
          <Table data-testid="shell-sessions">
            <THead>
              <TR>
                <TH>Started</TH>
                <TH>User</TH>
                <TH>Container</TH>
                <TH>Command</TH>
                <TH>Duration</TH>
                <TH>Exit</TH>
              </TR>
            </THead>
            <TBody>
              {sessions.data.data.map((s) => (
                <TR key={s.id}>
                  <TD className="whitespace-nowrap text-xs">{formatDateTime(s.started_at)}</TD>
                  <TD className="text-xs">{s.user_email || <span className="text-muted-foreground">deleted user</span>}</TD>
                  <TD className="font-mono text-xs" title={`service ${s.service_id}, project ${s.project_id}`}>
                    {s.container_id.slice(0, 12)} · r{s.replica_index}
                  </TD>
                  <TD className="max-w-56 truncate font-mono text-xs" title={formatCommand(s.command)}>
                    {formatCommand(s.command)}
                  </TD>
                  <TD className="text-xs">
                    {s.duration_ms === null ? (
                      <span className="text-muted-foreground">open</span>
                    ) : (
                      formatDuration(Math.round(s.duration_ms / 1000))
                    )}
                  </TD>
                  <TD className="font-mono text-xs">{s.exit_code ?? "—"}</TD>
                </TR>
              ))}
            </TBody>
          </Table>
        )}
        {total > PAGE ? (
          <div className="mt-3 flex items-center justify-end gap-2 text-xs text-muted-foreground">
            {offset + 1}–{Math.min(offset + PAGE, total)} of {total}
            <Button size="sm" variant="outline" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              Newer
            </Button>
            <Button size="sm" variant="outline" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
              Older
            </Button>
          </div>
        ) : null}
      </CardContent>
    </Card>
  );
}
