import { useState } from "react";
import { toast } from "sonner";
import { DEFAULT_DRAIN_SECONDS, MAX_DRAIN_SECONDS } from "../../../../../src/domains.ts";
import type { Service, ServiceUpdate } from "../../../../../src/service.ts";
import { Button } from "../../../components/ui/button.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import type { ServiceSettings } from "../../../shared/pending-changes/lib/staged.ts";
import { useUpdateService } from "../../../shared/services/api/services.ts";
import { drainSecondsError, healthcheckPathError, healthcheckTimeoutError } from "../../../shared/services/lib/domains.ts";

/**
 * How a deploy switches over (the Networking card): `healthcheck_path` and
 * `healthcheck_timeout_seconds` decide when the new containers go live, `drain_seconds` how long the
 * old ones run on once traffic left them. Staged through service.update like the other settings.
 */
export function HealthCheckForm({ projectID, service, current }: { projectID: string; service: Service; current: ServiceSettings }) {
  const [path, setPath] = useState(current.healthcheck_path ?? "");
  const [timeout, setTimeoutText] = useState(String(current.healthcheck_timeout_seconds ?? 60));
  const [drain, setDrain] = useState(String(current.drain_seconds ?? DEFAULT_DRAIN_SECONDS));
  const update = useUpdateService(projectID, service.id);
  const pathErr = healthcheckPathError(path);
  const timeoutErr = healthcheckTimeoutError(timeout);
  const drainErr = drainSecondsError(drain);
  const upd: ServiceUpdate = {};
  const nextPath = path.trim() === "" ? null : path.trim();
  if (nextPath !== (current.healthcheck_path ?? null)) upd.healthcheck_path = nextPath;
  if (!timeoutErr && Number(timeout) !== current.healthcheck_timeout_seconds) upd.healthcheck_timeout_seconds = Number(timeout);
  if (!drainErr && Number(drain) !== current.drain_seconds) upd.drain_seconds = Number(drain);
  const dirty = Object.keys(upd).length > 0;
  const port = current.ports.find((p) => p.protocol !== "udp")?.container_port ?? current.ports[0]?.container_port;
  return (
    <form
      className="grid gap-3 border-t pt-4"
      aria-label="Health check"
      onSubmit={(e) => {
        e.preventDefault();
        update.mutate(upd, { onSuccess: () => toast.success("Health check staged"), onError: (er) => toast.error(errorText(er)) });
      }}
    >
      <div className="grid grid-cols-[1fr_7rem_7rem] gap-3">
        <Field
          label="Health check path"
          htmlFor="svc-healthcheck-path"
          error={pathErr ?? fieldError(update.error, "healthcheck_path")}
          hint={
            nextPath
              ? `A deploy goes live when GET ${nextPath} on port ${port ?? "(first container port)"} answers 2xx or 3xx.`
              : "Empty: a deploy goes live once its containers stayed up 10 s."
          }
        >
          <Input
            id="svc-healthcheck-path"
            className="font-mono"
            placeholder="/healthz"
            value={path}
            onChange={(e) => setPath(e.target.value)}
          />
        </Field>
        <Field
          label="Timeout (s)"
          htmlFor="svc-healthcheck-timeout"
          error={timeoutErr ?? fieldError(update.error, "healthcheck_timeout_seconds")}
        >
          <Input
            id="svc-healthcheck-timeout"
            type="number"
            min={1}
            max={3600}
            value={timeout}
            onChange={(e) => setTimeoutText(e.target.value)}
          />
        </Field>
        <Field
          label="Drain (s)"
          htmlFor="svc-drain-seconds"
          error={drainErr ?? fieldError(update.error, "drain_seconds")}
          hint="Old containers run on this long after traffic moved to the new ones."
        >
          <Input
            id="svc-drain-seconds"
            type="number"
            min={0}
            max={MAX_DRAIN_SECONDS}
            value={drain}
            onChange={(e) => setDrain(e.target.value)}
          />
        </Field>
      </div>
      {nextPath && current.ports.length === 0 ? (
        <p className="text-xs text-destructive">The check needs a container port: add one under Runtime, or the deploy fails.</p>
      ) : null}
      <div className="flex justify-end">
        <Button type="submit" size="sm" disabled={!dirty || !!pathErr || !!timeoutErr || !!drainErr || update.isPending}>
          Stage health check
        </Button>
      </div>
    </form>
  );
}
