import { X } from "lucide-react";
import type { ReactNode } from "react";
import { Button } from "./ui/button.tsx";

/** The 520 px panel on the right of the canvas. */
export function SidePanel({
  title,
  subtitle,
  icon,
  onClose,
  children,
  testID,
}: {
  title: ReactNode;
  subtitle?: ReactNode;
  icon?: ReactNode;
  onClose: () => void;
  children: ReactNode;
  testID?: string;
}) {
  return (
    <aside
      className="absolute top-0 right-0 bottom-0 z-20 flex w-[520px] max-w-full flex-col border-l border-border bg-card shadow-2xl"
      aria-label="Details"
      data-testid={testID}
    >
      <header className="flex items-start gap-3 border-b border-border p-4">
        {icon}
        <div className="min-w-0 flex-1">
          <h2 className="truncate text-lg font-semibold">{title}</h2>
          {subtitle ? <div className="truncate text-sm text-muted-foreground">{subtitle}</div> : null}
        </div>
        <Button variant="ghost" size="icon" onClick={onClose} aria-label="Close panel" title="Close (Esc)">
          <X />
        </Button>
      </header>
      <div className="min-h-0 min-w-0 flex-1 overflow-y-auto overflow-x-hidden">{children}</div>
    </aside>
  );
}
