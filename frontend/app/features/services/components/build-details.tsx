import { Check, CircleDashed, ExternalLink, GitCommitHorizontal, Loader2, X } from "lucide-react";
import { type ReactNode, useEffect, useRef, useState } from "react";
import { errorText } from "../../../lib/api-client.ts";
import { inertLogText } from "../../../lib/log-text.ts";
import { cn } from "../../../lib/utils.ts";
import { streamBuildLogs } from "../api/builds.ts";
import {
  type BuildDeployment,
  commitURL,
  isBuilding,
  phaseDuration,
  phaseLabel,
  phaseTimeline,
  shortSha,
  type TimelineStep,
} from "../lib/builds.ts";

/** Lines the view keeps of a build log (the server stores a capped log anyway). */
const MAX_LINES = 5000;

const STEP_ICON: Record<TimelineStep["state"], ReactNode> = {
  done: <Check className="size-3 text-emerald-400" />,
  current: <Loader2 className="size-3 animate-spin text-sky-400" />,
  failed: <X className="size-3 text-red-400" />,
  todo: <CircleDashed className="size-3 text-muted-foreground/60" />,
};

/** queued → cloning → building → starting → health check → serving, each with how long it took. */
export function PhaseTimeline({ d, now }: { d: BuildDeployment; now?: number }) {
  const steps = phaseTimeline(d, now);
  if (steps.length === 0) return null;
  return (
    <ol className="flex flex-wrap items-center gap-x-1 gap-y-1 text-[11px]" data-testid="phase-timeline" aria-label="Phases">
      {steps.map((s, i) => (
        <li key={`${s.name}-${i}`} className="flex items-center gap-1" data-phase={s.name} data-state={s.state}>
          {i > 0 ? <span className="text-muted-foreground/50">→</span> : null}
          {STEP_ICON[s.state]}
          <span className={cn(s.state === "todo" && "text-muted-foreground/60", s.state === "failed" && "text-red-300")}>
            {phaseLabel(s.name)}
          </span>
          {s.seconds !== null ? <span className="text-muted-foreground">{phaseDuration(s.seconds)}</span> : null}
        </li>
      ))}
    </ol>
  );
}

/** The commit a deployment was built from: short SHA (a link on known hosts) and the message's first line. */
export function CommitLine({ d, repoURL }: { d: BuildDeployment; repoURL: string | null | undefined }) {
  if (!d.commit_sha) return null;
  const href = commitURL(repoURL, d.commit_sha);
  const subject = inertLogText((d.commit_message ?? "").split("\n")[0] ?? "");
  return (
    <p className="flex min-w-0 items-center gap-1.5 text-xs" data-testid="commit">
      <GitCommitHorizontal className="size-3.5 shrink-0 text-muted-foreground" />
      {href ? (
        <a
          href={href}
          target="_blank"
          rel="noopener noreferrer"
          className="inline-flex items-center gap-0.5 font-mono text-sky-300 hover:underline"
        >
          {shortSha(d.commit_sha)}
          <ExternalLink className="size-3" />
        </a>
      ) : (
        <span className="font-mono">{shortSha(d.commit_sha)}</span>
      )}
      {subject ? (
        <span className="truncate text-muted-foreground" title={subject}>
          {subject}
        </span>
      ) : null}
    </p>
  );
}

function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

type LogState = "idle" | "connecting" | "live" | "ended" | "error";

/**
 * A deployment's build log: followed live while it builds (open at once), read from the stored log
 * afterwards (when the row's details are opened). Lines are batched into one render per 100 ms.
 */
export function BuildLog({ projectID, serviceID, d }: { projectID: string; serviceID: string; d: BuildDeployment }) {
  const live = isBuilding(d);
  const [open, setOpen] = useState(live || d.status === "failed");
  const [lines, setLines] = useState<string[]>([]);
  const [state, setState] = useState<LogState>("idle");
  const [error, setError] = useState<string | null>(null);
  const pending = useRef<string[]>([]);
  const pre = useRef<HTMLPreElement>(null);
  const inline = typeof d.build_log === "string" && !live ? d.build_log : null;

  useEffect(() => {
    if (!open || inline !== null) return;
    const ctrl = new AbortController();
    setLines([]);
    setState("connecting");
    setError(null);
    const flush = setInterval(() => {
      if (pending.current.length === 0) return;
      const add = pending.current;
      pending.current = [];
      setLines((old) => [...old, ...add].slice(-MAX_LINES));
    }, 100);
    streamBuildLogs(
      projectID,
      serviceID,
      d.id,
      (e) => {
        setState((s) => (s === "connecting" ? "live" : s));
        if (e.kind === "line") pending.current.push(inertLogText(e.text));
        else if (e.kind === "dropped") pending.current.push(`— ${e.count} lines skipped (the view fell behind)`);
        else setState("ended");
      },
      ctrl.signal,
    )
      .then(() => !ctrl.signal.aborted && setState("ended"))
      .catch((err) => {
        if (ctrl.signal.aborted) return;
        setState("error");
        setError(errorText(err));
      });
    return () => {
      ctrl.abort();
      clearInterval(flush);
      pending.current = [];
    };
  }, [open, inline, projectID, serviceID, d.id]);

  // Follow the end of a live log unless the reader scrolled up.
  useEffect(() => {
    const el = pre.current;
    if (!el || lines.length === 0) return;
    if (el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [lines]);

  const text = inline !== null ? inline.split("\n").map(inertLogText).join("\n") : lines.join("\n");
  return (
    <details
      className="grid gap-1 text-xs"
      data-testid="build-log"
      data-live={live}
      open={open}
      onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}
    >
      <summary className="cursor-pointer text-muted-foreground">
        Build log
        {live ? <span className="ml-2 text-sky-300">live</span> : null}
        {state === "connecting" ? <span className="ml-2">connecting…</span> : null}
      </summary>
      {error ? <p className="text-destructive">{error}</p> : null}
      {text && !live ? (
        <button
          type="button"
          className="justify-self-end text-[11px] text-sky-300 hover:underline"
          onClick={() => download(`build-${d.id}.log`, text)}
        >
          Download log (with the generated Dockerfile, if any)
        </button>
      ) : null}
      <pre ref={pre} className="max-h-72 overflow-auto whitespace-pre-wrap rounded bg-black/40 p-2 font-mono text-[11px]">
        {text || (state === "ended" ? "(no build output)" : live ? "(waiting for the build…)" : "")}
      </pre>
    </details>
  );
}
