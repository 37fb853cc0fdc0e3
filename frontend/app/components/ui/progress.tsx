import { cn } from "../../lib/utils.ts";

/** Usage bar: green below 70 %, amber from 70 %, red from 90 %. Width animates, height fixed. */
export function UsageBar({ pct, className }: { pct: number; className?: string }) {
  const v = Math.max(0, Math.min(100, Number.isFinite(pct) ? pct : 0));
  const color = v >= 90 ? "bg-red-500" : v >= 70 ? "bg-amber-500" : "bg-emerald-500";
  return (
    <div className={cn("h-2 w-full overflow-hidden rounded-full bg-muted", className)} aria-hidden="true">
      <div className={cn("h-full rounded-full transition-[width] duration-500", color)} style={{ width: `${v}%` }} />
    </div>
  );
}
