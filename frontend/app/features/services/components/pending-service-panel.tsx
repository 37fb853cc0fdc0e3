import { Trash2 } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";
import type { PortMapping } from "../../../../../src/deployment.ts";
import { ServiceIcon } from "../../../components/service-icon.tsx";
import { SidePanel } from "../../../components/side-panel.tsx";
import { Badge } from "../../../components/ui/badge.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { Input } from "../../../components/ui/input.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { envKeyError } from "../../../lib/validation.ts";
import { useCreatePendingServiceEnvVar } from "../../../shared/env-vars/api/env-vars.ts";
import { usePendingChanges, useRemovePendingChanges } from "../../../shared/pending-changes/api/pending-changes.ts";
import { formatPorts } from "../../../shared/pending-changes/lib/diff-format.ts";
import { pendingServices } from "../../../shared/pending-changes/lib/staged.ts";

/** A service that exists only as a staged create: its image, ports and variables until Deploy. */
export function PendingServicePanel({ projectID, tempID, onClose }: { projectID: string; tempID: string; onClose: () => void }) {
  const pending = usePendingChanges(projectID);
  const svc = pendingServices(pending.data ?? []).get(tempID);
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const create = useCreatePendingServiceEnvVar(projectID, tempID);
  const remove = useRemovePendingChanges(projectID);
  if (!svc) return null;
  const keyErr = key ? envKeyError(key) : null;
  const ports = Array.isArray(svc.change.payload.ports) ? (svc.change.payload.ports as PortMapping[]) : [];
  return (
    <SidePanel
      testID="pending-service-panel"
      title={svc.name}
      subtitle={<Badge variant="info">Pending deploy</Badge>}
      icon={<ServiceIcon url={svc.icon_url} className="size-10" />}
      onClose={onClose}
    >
      <div className="grid grid-cols-1 gap-5 p-4">
        <dl className="grid grid-cols-[7rem_1fr] gap-y-1.5 text-sm">
          <dt className="text-muted-foreground">Image</dt>
          <dd className="font-mono text-xs">{svc.image}</dd>
          <dt className="text-muted-foreground">Ports</dt>
          <dd className="font-mono text-xs">{formatPorts(ports)}</dd>
        </dl>
        <section className="grid grid-cols-1 gap-2">
          <h3 className="text-sm font-medium">Variables</h3>
          <ul className="divide-y divide-border rounded-lg border border-border">
            {svc.inlineEnv.length + svc.stagedEnv.length === 0 ? (
              <li className="p-3 text-sm text-muted-foreground">No variables.</li>
            ) : null}
            {svc.inlineEnv.map((e) => (
              <li key={`inline-${e.key}`} className="flex gap-3 px-3 py-2 font-mono text-xs">
                <span className="w-40 truncate">{e.key}</span>
                <span className="flex-1 truncate text-muted-foreground">{e.value}</span>
              </li>
            ))}
            {svc.stagedEnv.map((c) => (
              <li key={c.id} className="flex items-center gap-3 px-3 py-1.5 font-mono text-xs">
                <span className="w-40 truncate">{String(c.payload.key)}</span>
                <span className="flex-1 truncate text-muted-foreground">{String(c.payload.value)}</span>
                <Button
                  variant="ghost"
                  size="icon"
                  aria-label={`Remove ${String(c.payload.key)}`}
                  disabled={c.id.startsWith("optimistic-")}
                  onClick={() => remove.mutate([c.id], { onError: (e) => toast.error(errorText(e)) })}
                >
                  <Trash2 />
                </Button>
              </li>
            ))}
          </ul>
          <form
            className="flex items-start gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              create.mutate(
                { key, value },
                {
                  onSuccess: () => {
                    toast.success(`Staged ${key}`);
                    setKey("");
                    setValue("");
                  },
                },
              );
            }}
          >
            <Input
              aria-label="Key"
              value={key}
              onChange={(e) => setKey(e.target.value)}
              placeholder="KEY"
              className="w-40 font-mono"
              aria-invalid={!!keyErr}
            />
            <Input
              aria-label="Value"
              value={value}
              onChange={(e) => setValue(e.target.value)}
              placeholder="value"
              className="flex-1 font-mono"
            />
            <Button type="submit" disabled={!key || !!keyErr || create.isPending}>
              Stage
            </Button>
          </form>
          <p className="min-h-4 text-xs text-destructive">
            {keyErr ?? (create.error ? (fieldError(create.error, "key") ?? errorText(create.error)) : null)}
          </p>
        </section>
        <p className="rounded-lg bg-muted p-3 text-xs text-muted-foreground">
          This service is created when you Deploy. To cancel it, delete its node on the canvas (right-click → Delete Node).
        </p>
      </div>
    </SidePanel>
  );
}
