import { ArrowDown, Eraser, Pause, Play, RefreshCw } from "lucide-react";
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import type { Service } from "../../../../../src/service.ts";
import { Badge, type BadgeVariant } from "../../../components/ui/badge.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { ApiError, errorText } from "../../../lib/api-client.ts";
import { LogBuffer } from "../../../lib/log-buffer.ts";
import { streamLogs } from "../api/logs.ts";
import { LogLine } from "./log-line.tsx";

const CAPACITY = 5000;
const LINE_HEIGHT = 18;
const OVERSCAN = 20;
const TAIL = 500;

type StreamState = "connecting" | "live" | "ended" | "error";
const STATE_BADGE: Record<StreamState | "paused", { label: string; variant: BadgeVariant }> = {
  connecting: { label: "Connecting", variant: "info" },
  live: { label: "Live", variant: "success" },
  paused: { label: "Paused", variant: "warning" },
  ended: { label: "Ended", variant: "secondary" },
  error: { label: "Error", variant: "destructive" },
};

/**
 * Live logs of every running container of the service. Lines go into a ring buffer; the view
 * re-renders at most once per frame and only the visible rows, so thousands of lines per second
 * stay smooth.
 */
export function LogsTab({ projectID, service }: { projectID: string; service: Service }) {
  const [buffer] = useState(() => new LogBuffer(CAPACITY));
  const [, setVersion] = useState(0);
  const [state, setState] = useState<StreamState>("connecting");
  const [error, setError] = useState<string | null>(null);
  const [paused, setPaused] = useState(false);
  const [attempt, setAttempt] = useState(0);
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
    streamLogs(
      projectID,
      service.id,
      TAIL,
      (e) => {
        if (!sawData) {
          sawData = true;
          setState("live");
        }
        if (e.kind === "line") buffer.push({ container_id: e.line.container_id, stream: e.line.stream, text: e.line.line });
        else if (e.kind === "exited") buffer.push({ container_id: e.container_id, stream: "event", text: "— container exited" });
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

  // --- virtual list ---
  const scroller = useRef<HTMLDivElement>(null);
  const [viewport, setViewport] = useState({ top: 0, height: 400 });
  const [stick, setStick] = useState(true);
  const total = buffer.length;
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && stick) el.scrollTop = el.scrollHeight;
  });
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewport((v) => ({ ...v, height: el.clientHeight })));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    setViewport({ top: el.scrollTop, height: el.clientHeight });
    setStick(el.scrollHeight - el.scrollTop - el.clientHeight < LINE_HEIGHT * 2);
  };
  const first = Math.max(0, Math.floor(viewport.top / LINE_HEIGHT) - OVERSCAN);
  const last = Math.min(total, Math.ceil((viewport.top + viewport.height) / LINE_HEIGHT) + OVERSCAN);
  const rows = buffer.slice(first, last);
  const badge = STATE_BADGE[paused ? "paused" : state];

  return (
    <div className="grid grid-cols-1 gap-2" data-testid="logs">
      <div className="flex items-center gap-2">
        <Badge variant={badge.variant} data-testid="logs-state">
          {badge.label}
        </Badge>
        <span className="text-xs tabular-nums text-muted-foreground">{total.toLocaleString()} lines</span>
        <div className="ml-auto flex gap-1">
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
      <div className="relative">
        <div
          ref={scroller}
          onScroll={onScroll}
          className="h-[calc(100vh-18rem)] min-h-64 overflow-auto rounded-lg border border-border bg-[#07080b] font-mono text-xs"
          role="log"
          aria-live="off"
        >
          {error ? <p className="p-3 text-amber-300">{error}</p> : null}
          {total === 0 && !error ? (
            <p className="p-3 text-muted-foreground">{state === "connecting" ? "Connecting…" : "Waiting for output…"}</p>
          ) : null}
          <div style={{ height: total * LINE_HEIGHT, position: "relative" }}>
            <div style={{ transform: `translateY(${first * LINE_HEIGHT}px)` }}>
              {rows.map((r) => (
                <LogLine key={r.seq} item={r} />
              ))}
            </div>
          </div>
        </div>
        {!stick ? (
          <Button
            size="sm"
            className="absolute right-4 bottom-3 shadow-lg"
            onClick={() => {
              setStick(true);
              const el = scroller.current;
              if (el) el.scrollTop = el.scrollHeight;
            }}
          >
            <ArrowDown /> Jump to latest
          </Button>
        ) : null}
      </div>
    </div>
  );
}
