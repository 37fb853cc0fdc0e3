import { containerColor } from "../../../lib/colors.ts";
import type { LogItem } from "../../../lib/log-buffer.ts";
import { inertLogText } from "../../../lib/log-text.ts";

/** "2026-01-02T03:04:05.123456789Z" → "03:04:05.123" (UTC, as Docker wrote it); blanks keep the column. */
export function logTime(ts: string | undefined): string {
  return ts ? ts.slice(11, 23).replace(/Z$/, "").padEnd(12) : "            ";
}

/**
 * One row of the Logs tab: (time,) replica and container, then the text — always two spans, the
 * text the second (the end-to-end suite reads its colour), the time a <time>. The line is container output (attacker-controlled): it is rendered as a
 * text node after `inertLogText` (escape sequences removed, control characters made visible), never
 * as HTML.
 */
export function LogLine({ item, showTime = false }: { item: LogItem; showTime?: boolean }) {
  return (
    <div className="flex h-[18px] gap-2 px-2 leading-[18px] whitespace-pre" data-testid="log-line">
      {showTime ? (
        <time className="shrink-0 text-muted-foreground tabular-nums select-none" dateTime={item.ts} title={item.ts} data-testid="log-time">
          {logTime(item.ts)}
        </time>
      ) : null}
      <span
        style={{ color: containerColor(item.container_id) }}
        className="shrink-0 select-none"
        title={item.replica !== undefined ? `Replica ${item.replica}` : undefined}
      >
        {item.replica !== undefined ? `r${item.replica} ` : ""}
        {item.container_id.slice(0, 12)}
      </span>
      <span
        className={item.stream === "stderr" ? "text-red-400" : item.stream === "event" ? "text-muted-foreground italic" : "text-zinc-200"}
      >
        {inertLogText(item.text)}
      </span>
    </div>
  );
}
