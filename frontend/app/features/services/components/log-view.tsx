import { ArrowDown } from "lucide-react";
import { type ReactNode, useEffect, useLayoutEffect, useRef, useState } from "react";
import { Button } from "../../../components/ui/button.tsx";
import type { LogBuffer } from "../../../lib/log-buffer.ts";
import { LogLine } from "./log-line.tsx";

const LINE_HEIGHT = 18;
const OVERSCAN = 20;

/**
 * A virtual list of log lines: only the visible rows render, so thousands of lines stay smooth. It
 * sticks to the bottom until the user scrolls up. `version` is the buffer's, read by the caller at
 * most once per frame.
 */
export function LogView({
  buffer,
  version,
  showTime,
  placeholder,
  testID,
}: {
  buffer: LogBuffer;
  version: number;
  showTime: boolean;
  /** Shown when there is nothing to show (an error, "Waiting for output…"). */
  placeholder: ReactNode;
  testID?: string;
}) {
  void version;
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
  return (
    <div className="relative" data-testid={testID}>
      <div
        ref={scroller}
        onScroll={onScroll}
        className="h-[calc(100vh-22rem)] min-h-64 overflow-auto rounded-lg border border-border bg-[#07080b] font-mono text-xs"
        role="log"
        aria-live="off"
      >
        {placeholder ? <div className="p-3">{placeholder}</div> : null}
        <div style={{ height: total * LINE_HEIGHT, position: "relative" }}>
          <div style={{ transform: `translateY(${first * LINE_HEIGHT}px)` }}>
            {rows.map((r) => (
              <LogLine key={r.seq} item={r} showTime={showTime} />
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
  );
}
