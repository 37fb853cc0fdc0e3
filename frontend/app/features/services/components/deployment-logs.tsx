import { useEffect, useRef, useState } from "react";
import { errorText } from "../../../lib/api-client.ts";
import { inertLogText } from "../../../lib/log-text.ts";
import { useDeploymentLogs } from "../api/logs.ts";
import { logTime } from "./log-line.tsx";

/**
 * A deployment's runtime logs, loaded when opened: from its containers while they exist, else the
 * last lines the reconciler kept when it removed them.
 */
export function DeploymentLogs({ projectID, serviceID, deploymentID }: { projectID: string; serviceID: string; deploymentID: string }) {
  const [open, setOpen] = useState(false);
  const logs = useDeploymentLogs(projectID, serviceID, deploymentID, open);
  const pre = useRef<HTMLPreElement>(null);
  // The newest lines are what explain a deployment's end: open at the bottom.
  useEffect(() => {
    if (logs.data && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [logs.data]);
  const note = logs.data ? (logs.data.source === "kept" ? "kept when its containers were removed" : "from its containers") : "";
  return (
    <details className="grid gap-1 text-xs" data-testid="deployment-logs" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary className="cursor-pointer text-muted-foreground">
        Runtime logs{note ? ` (${note})` : ""}
        {open && logs.data && logs.data.source === "containers" ? (
          <button type="button" className="ml-2 underline" onClick={() => void logs.refetch()}>
            refresh
          </button>
        ) : null}
      </summary>
      <pre ref={pre} className="max-h-60 overflow-auto whitespace-pre-wrap rounded bg-black/40 p-2 font-mono text-[11px]">
        {logs.isPending
          ? "Loading…"
          : logs.isError
            ? errorText(logs.error)
            : logs.data.data.length === 0
              ? "(no lines)"
              : logs.data.data
                  .map((l) => `${logTime(l.ts)} r${l.replica ?? "?"} ${l.stream === "stderr" ? "err" : "out"} ${inertLogText(l.line)}`)
                  .join("\n")}
      </pre>
    </details>
  );
}
