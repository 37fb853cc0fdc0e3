import type { ReactNode } from "react";
import { cn } from "../../lib/utils.ts";

export interface TabItem<T extends string> {
  value: T;
  label: ReactNode;
}

/** Controlled tab strip; the caller renders the active panel. */
export function Tabs<T extends string>({
  value,
  onValueChange,
  items,
  className,
}: {
  value: T;
  onValueChange: (v: T) => void;
  items: readonly TabItem<T>[];
  className?: string;
}) {
  return (
    <div role="tablist" className={cn("inline-flex h-9 items-center gap-1 rounded-lg bg-muted p-1 text-muted-foreground", className)}>
      {items.map((it) => (
        <button
          key={it.value}
          type="button"
          role="tab"
          aria-selected={value === it.value}
          onClick={() => onValueChange(it.value)}
          className={cn(
            "inline-flex h-7 items-center gap-1.5 rounded-md px-3 text-sm font-medium",
            value === it.value ? "bg-background text-foreground shadow-sm" : "hover:text-foreground",
          )}
        >
          {it.label}
        </button>
      ))}
    </div>
  );
}
