import type { HTMLAttributes } from "react";
import { cn } from "../../lib/utils.ts";

const VARIANTS = {
  default: "border-transparent bg-primary/15 text-primary",
  secondary: "border-transparent bg-secondary text-secondary-foreground",
  outline: "border-border text-muted-foreground",
  success: "border-transparent bg-emerald-500/15 text-emerald-400",
  warning: "border-transparent bg-amber-500/15 text-amber-400",
  destructive: "border-transparent bg-red-500/15 text-red-400",
  info: "border-transparent bg-sky-500/15 text-sky-400",
} as const;

export type BadgeVariant = keyof typeof VARIANTS;

export function Badge({ className, variant = "default", ...props }: HTMLAttributes<HTMLSpanElement> & { variant?: BadgeVariant }) {
  return (
    <span
      className={cn(
        "inline-flex items-center gap-1 rounded-md border px-1.5 py-0.5 text-xs font-medium whitespace-nowrap",
        VARIANTS[variant],
        className,
      )}
      {...props}
    />
  );
}
