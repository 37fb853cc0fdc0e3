import { containerColor } from "../../../lib/colors.ts";
import type { LogItem } from "../../../lib/log-buffer.ts";
import { inertLogText } from "../../../lib/log-text.ts";

/**
 * One row of the Logs tab. The line is container output (attacker-controlled): it is rendered as a
 * text node after `inertLogText` (escape sequences removed, control characters made visible), never
 * as HTML.
 */
export function LogLine({ item }: { item: LogItem }) {
  return (
    <div className="flex h-[18px] gap-2 px-2 leading-[18px] whitespace-pre" data-testid="log-line">
      <span style={{ color: containerColor(item.container_id) }} className="shrink-0 select-none">
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
