import { Clock, Eraser, Pause, Play, RefreshCw } from "lucide-react";
import { useCallback, useEffect, useRef, useState } from "react";
import { toast } from "sonner";
import type { Service } from "../../../../../src/service.ts";
import { Badge, type BadgeVariant } from "../../../components/ui/badge.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { ApiError, errorText, fieldError } from "../../../lib/api-client.ts";
import { LogBuffer } from "../../../lib/log-buffer.ts";
import { downloadLogs, type LogFilter, streamLogs, useLogSearch } from "../api/logs.ts";
import { LogSearchBar } from "./log-search-bar.tsx";
import { LogView } from "./log-view.tsx";

const CAPACITY = 5000;
const TAIL = 500;
const FIELDS = ["q", "regex", "stream", "replica", "since", "until"] as const;

type StreamState = "connecting" | "live" | "ended" | "error";
const STATE_BADGE: Record<StreamState | "paused", { label: string; variant: BadgeVariant }> = {
  connecting: { label: "Connecting", variant: "info" },
  live: { label: "Live", variant: "success" },
  paused: { label: "Paused", variant: "warning" },
  ended: { label: "Ended", variant: "secondary" },
  error: { label: "Error", variant: "destructive" },
};

/**
 * Live logs of every running container of the service, each line with its replica and (toggle) its
 * Docker timestamp. Lines go into a ring buffer; the view re-renders at most once per frame and only
 * the visible rows, so thousands of lines per second stay smooth. A search runs on the server over
 * the containers' recent json-file logs and replaces the view until "Back to live".
 */
export function LogsTab({ projectID, service }: { projectID: string; service: Service }) {
  const [buffer] = useState(() => new LogBuffer(CAPACITY));
  const [, setVersion] = useState(0);
  const [state, setState] = useState<StreamState>("connecting");
  const [error, setError] = useState<string | null>(null);
  const [paused, setPaused] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const [showTime, setShowTime] = useState(false);
  const [filter, setFilter] = useState<LogFilter | null>(null);
  const [run, setRun] = useState(0);
  const search = useLogSearch(projectID, service.id, filter, run);
  const [results] = useState(() => new LogBuffer(CAPACITY));
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const frame = useRef<number | null>(null);
  const schedule = useCallback(() => {
    if (frame.current !== null || pausedRef.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = null;
      setVersion(buffer.version);
    });
  }, [buffer]);

  useEffect(() => {
    void attempt;
    const ctrl = new AbortController();
    setState("connecting");
    setError(null);
    let sawData = false;
    let replicas: Record<string, number> = {};
    streamLogs(
      projectID,
      service.id,
      TAIL,
      (e) => {
        if (!sawData) {
          sawData = true;
          setState("live");
        }
        if (e.kind === "replicas") replicas = e.replicas;
        else if (e.kind === "line") {
          const replica = replicas[e.line.container_id];
          buffer.push({
            container_id: e.line.container_id,
            stream: e.line.stream,
            text: e.line.line,
            ...(e.line.ts !== undefined ? { ts: e.line.ts } : {}),
            ...(replica !== undefined ? { replica } : {}),
          });
        } else if (e.kind === "exited") buffer.push({ container_id: e.container_id, stream: "event", text: "— container exited" });
        else if (e.kind === "dropped")
          buffer.push({ container_id: "", stream: "event", text: `— ${e.count} lines skipped (the view fell behind)` });
        else if (e.kind === "end") setState("ended");
        schedule();
      },
      ctrl.signal,
    )
      .then(() => {
        if (!ctrl.signal.aborted) setState("ended");
      })
      .catch((err) => {
        if (ctrl.signal.aborted) return;
        setState("error");
        setError(err instanceof ApiError && err.status === 404 ? "No running containers for this service yet." : errorText(err));
      });
    // The stream is "live" as soon as the response is open, even before the first line.
    const t = setTimeout(() => setState((s) => (s === "connecting" ? "live" : s)), 1500);
    return () => {
      clearTimeout(t);
      ctrl.abort();
    };
  }, [projectID, service.id, buffer, schedule, attempt]);

  useEffect(() => {
    if (!paused) setVersion(buffer.version);
  }, [paused, buffer]);
  useEffect(
    () => () => {
      if (frame.current !== null) cancelAnimationFrame(frame.current);
    },
    [],
  );

  // The results buffer follows the search answer.
  const found = search.data;
  useEffect(() => {
    results.clear();
    for (const l of found?.data ?? [])
      results.push({
        container_id: l.container_id,
        stream: l.stream,
        text: l.line,
        ...(l.ts !== undefined ? { ts: l.ts } : {}),
        ...(l.replica !== undefined ? { replica: l.replica } : {}),
      });
    setVersion(results.version);
  }, [found, results]);

  const fieldErrors: Partial<Record<keyof LogFilter, string>> = {};
  if (search.error) {
    for (const k of FIELDS) {
      const m = fieldError(search.error, k);
      if (m) fieldErrors[k] = m;
    }
    if (Object.keys(fieldErrors).length === 0) fieldErrors.q = errorText(search.error);
  }
  const badge = STATE_BADGE[paused ? "paused" : state];
  const searching = filter !== null;

  return (
    <div className="grid grid-cols-1 gap-2" data-testid="logs">
      <div className="flex items-center gap-2">
        <Badge variant={badge.variant} data-testid="logs-state">
          {badge.label}
        </Badge>
        <span className="text-xs tabular-nums text-muted-foreground">{buffer.length.toLocaleString()} lines</span>
        <div className="ml-auto flex gap-1">
          <Button size="sm" variant={showTime ? "secondary" : "ghost"} onClick={() => setShowTime((s) => !s)} aria-pressed={showTime}>
            <Clock /> Time
          </Button>
          <Button size="sm" variant="ghost" onClick={() => setPaused((p) => !p)}>
            {paused ? <Play /> : <Pause />} {paused ? "Resume" : "Pause"}
          </Button>
          <Button
            size="sm"
            variant="ghost"
            onClick={() => {
              buffer.clear();
              setVersion(buffer.version);
            }}
          >
            <Eraser /> Clear
          </Button>
          {state === "ended" || state === "error" ? (
            <Button size="sm" variant="outline" onClick={() => setAttempt((a) => a + 1)}>
              <RefreshCw /> Reconnect
            </Button>
          ) : null}
        </div>
      </div>
      <LogSearchBar
        replicas={service.replicas}
        searching={search.isFetching}
        active={searching}
        fieldErrors={fieldErrors}
        onSearch={(f) => {
          setFilter({ ...f });
          setRun((n) => n + 1);
        }}
        onDownload={(f) =>
          void downloadLogs(projectID, service.id, f).catch((e) => toast.error("Download failed", { description: errorText(e) }))
        }
        onClear={() => setFilter(null)}
      />
      {searching ? (
        <>
          <p className="text-xs text-muted-foreground" data-testid="log-search-summary">
            {search.isFetching
              ? "Searching…"
              : found
                ? `${found.data.length.toLocaleString()} matching lines (${found.scanned.toLocaleString()} scanned)${found.truncated ? " — the scan stopped early; narrow the time window for the rest" : ""}`
                : ""}
          </p>
          <LogView
            buffer={results}
            version={results.version}
            showTime={showTime}
            testID="log-results"
            placeholder={
              !search.isFetching && found && found.data.length === 0 ? <p className="text-muted-foreground">No matching lines.</p> : null
            }
          />
        </>
      ) : (
        <LogView
          buffer={buffer}
          version={buffer.version}
          showTime={showTime}
          placeholder={
            error ? (
              <p className="text-amber-300">{error}</p>
            ) : buffer.length === 0 ? (
              <p className="text-muted-foreground">{state === "connecting" ? "Connecting…" : "Waiting for output…"}</p>
            ) : null
          }
        />
      )}
    </div>
  );
}
