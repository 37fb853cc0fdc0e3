import { CronExpressionParser } from "cron-parser";
import { useMemo } from "react";
import { toast } from "sonner";
import { MAX_CRON_TIMEOUT_SECONDS, MAX_RESTART_MAX_RETRIES, type RestartPolicy } from "../../../../../src/ops.ts";
import type { Service, ServiceUpdate } from "../../../../../src/service.ts";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { formatCommand, parseCommand } from "../../../lib/command.ts";
import { useSeededState } from "../../../lib/seeded-state.ts";
import type { ServiceSettings } from "../../../shared/pending-changes/lib/staged.ts";
import { useUpdateService } from "../../../shared/services/api/services.ts";
import { ArgvField } from "./argv-field.tsx";
import { StagedFormActions } from "./staged-form-actions.tsx";

interface OpsForm {
  policy: RestartPolicy;
  retries: string;
  preDeploy: string;
  schedule: string;
  timeout: string;
}

/** The next `n` fire times of a 5-field UTC schedule, or the reason it is not one. */
export function cronPreview(expr: string, n = 3, from = new Date()): { next: string[]; error?: string } {
  const t = expr.trim();
  if (t === "") return { next: [] };
  if (t.split(/\s+/).length !== 5)
    return { next: [], error: "Five fields: minute hour day-of-month month day-of-week (UTC), e.g. */5 * * * *." };
  try {
    const it = CronExpressionParser.parse(t, { tz: "UTC", currentDate: from });
    return { next: Array.from({ length: n }, () => `${(it.next().toISOString() ?? "").slice(0, 16).replace("T", " ")} UTC`) };
  } catch (err) {
    return { next: [], error: err instanceof Error ? err.message : "Not a cron expression." };
  }
}

/** Restart policy, pre-deploy command and cron schedule (issue 16): staged like the runtime settings. */
export function OperationsCard({ projectID, service, current }: { projectID: string; service: Service; current: ServiceSettings }) {
  const initial = useMemo<OpsForm>(
    () => ({
      policy: current.restart_policy,
      retries: String(current.restart_max_retries),
      preDeploy: formatCommand(current.pre_deploy_command),
      schedule: current.cron_schedule ?? "",
      timeout: String(current.cron_timeout_seconds),
    }),
    [current],
  );
  const update = useUpdateService(projectID, service.id);
  const [f, setF] = useSeededState<OpsForm>(initial, update.isPending);
  const set = <K extends keyof OpsForm>(k: K, v: OpsForm[K]) => setF((x) => ({ ...x, [k]: v }));
  const retries = Number(f.retries);
  const retriesErr =
    !Number.isInteger(retries) || retries < 0 || retries > MAX_RESTART_MAX_RETRIES
      ? `Max retries: a whole number from 0 to ${MAX_RESTART_MAX_RETRIES}.`
      : null;
  const preDeploy = parseCommand(f.preDeploy);
  const cron = cronPreview(f.schedule);
  const timeout = Number(f.timeout);
  const timeoutErr =
    !Number.isInteger(timeout) || timeout < 1 || timeout > MAX_CRON_TIMEOUT_SECONDS
      ? `Timeout: whole seconds from 1 to ${MAX_CRON_TIMEOUT_SECONDS}.`
      : null;
  const upd: ServiceUpdate = {};
  if (f.policy !== initial.policy) upd.restart_policy = f.policy;
  if (f.retries !== initial.retries) upd.restart_max_retries = retries;
  if (f.preDeploy.trim() !== initial.preDeploy && JSON.stringify(preDeploy.argv) !== JSON.stringify(current.pre_deploy_command ?? []))
    upd.pre_deploy_command = preDeploy.argv.length > 0 ? preDeploy.argv : null;
  if (f.schedule.trim() !== initial.schedule) upd.cron_schedule = f.schedule.trim() === "" ? null : f.schedule.trim();
  if (f.timeout !== initial.timeout) upd.cron_timeout_seconds = timeout;
  const dirty = Object.keys(upd).length > 0;
  const invalid = !!((f.policy === "on-failure" && retriesErr) || preDeploy.error || cron.error || timeoutErr);
  const serverErr = (k: string) => fieldError(update.error, k);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Operations</CardTitle>
        <CardDescription>Restart policy, a pre-deploy command and a cron schedule. Changes are staged and apply on Deploy.</CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="grid grid-cols-1 gap-4"
          onSubmit={(e) => {
            e.preventDefault();
            update.mutate(upd, { onSuccess: () => toast.success("Settings staged"), onError: (er) => toast.error(errorText(er)) });
          }}
        >
          <div className="grid grid-cols-2 gap-3">
            <Field
              label="Restart policy"
              htmlFor="svc-restart-policy"
              error={serverErr("restart_policy")}
              hint={
                f.policy === "always"
                  ? "Docker restarts the container whenever it exits."
                  : f.policy === "on-failure"
                    ? "Restarted only after a non-zero exit, up to the retries."
                    : "Never restarted: an exit with 0 is done, anything else fails the service."
              }
            >
              <select
                id="svc-restart-policy"
                className="h-9 rounded-md border border-input bg-transparent px-2 text-sm"
                value={f.policy}
                onChange={(e) => set("policy", e.target.value as RestartPolicy)}
              >
                <option value="always">Always</option>
                <option value="on-failure">On failure</option>
                <option value="never">Never</option>
              </select>
            </Field>
            {f.policy === "on-failure" ? (
              <Field label="Max retries" htmlFor="svc-restart-retries" error={retriesErr ?? serverErr("restart_max_retries")}>
                <Input
                  id="svc-restart-retries"
                  type="number"
                  min={0}
                  max={MAX_RESTART_MAX_RETRIES}
                  className="w-32"
                  value={f.retries}
                  onChange={(e) => set("retries", e.target.value)}
                />
              </Field>
            ) : null}
          </div>
          <ArgvField
            label="Pre-deploy command"
            id="svc-pre-deploy"
            value={f.preDeploy}
            parsed={preDeploy}
            serverError={serverErr("pre_deploy_command")}
            runsAs={(argv) =>
              `Runs ${JSON.stringify(argv)} once in a container of the new image and env, before the rollout; a failure keeps the old deployment.`
            }
            empty="Empty: no pre-deploy command."
            placeholder="none, e.g. npm run migrate"
            onChange={(v) => set("preDeploy", v)}
          />
          <div className="grid grid-cols-2 gap-3">
            <Field
              label="Cron schedule (UTC)"
              htmlFor="svc-cron"
              error={cron.error ?? serverErr("cron_schedule")}
              hint={
                cron.next.length > 0 ? `Runs instead of staying up. Next: ${cron.next.join(", ")}` : "Empty: the service runs continuously."
              }
            >
              <Input
                id="svc-cron"
                className="font-mono"
                value={f.schedule}
                placeholder="*/5 * * * *"
                onChange={(e) => set("schedule", e.target.value)}
              />
            </Field>
            {f.schedule.trim() !== "" ? (
              <Field label="Run timeout (seconds)" htmlFor="svc-cron-timeout" error={timeoutErr ?? serverErr("cron_timeout_seconds")}>
                <Input
                  id="svc-cron-timeout"
                  type="number"
                  min={1}
                  className="w-32"
                  value={f.timeout}
                  onChange={(e) => set("timeout", e.target.value)}
                />
              </Field>
            ) : null}
          </div>
          <StagedFormActions dirty={dirty} invalid={invalid} pending={update.isPending} onReset={() => setF(initial)} />
        </form>
      </CardContent>
    </Card>
  );
}
