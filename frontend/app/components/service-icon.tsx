import { Container } from "lucide-react";
import { useState } from "react";
import { cn } from "../lib/utils.ts";

/** A service's icon URL, falling back to a container glyph when missing or broken. */
export function ServiceIcon({ url, className }: { url: string | null; className?: string }) {
  const [broken, setBroken] = useState<string | null>(null);
  if (!url || broken === url)
    return (
      <span className={cn("flex items-center justify-center rounded-md bg-muted text-muted-foreground", className)}>
        <Container className="size-4" />
      </span>
    );
  return <img src={url} alt="" className={cn("rounded-md object-contain", className)} onError={() => setBroken(url)} draggable={false} />;
}
