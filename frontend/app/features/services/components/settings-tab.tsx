import { useQueryClient } from "@tanstack/react-query";
import { CronExpressionParser } from "cron-parser";
import { Plus, Trash2, X } from "lucide-react";
import { useMemo, useState } from "react";
import { toast } from "sonner";
import type { Resources, VolumeMount } from "../../../../../src/deployment.ts";
import type { RestartPolicy } from "../../../../../src/ops.ts";
import type { Service, ServiceUpdate } from "../../../../../src/service.ts";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { ConfirmDialog } from "../../../components/ui/dialog.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { formatCommand, parseCommand } from "../../../lib/command.ts";
import { effectiveSettings, serviceOverrides } from "../../../lib/diff.ts";
import { useSeededState } from "../../../lib/seeded-state.ts";
import { iconURLError, MAX_REPLICAS, serviceNameError, VOLUME_NAME_PATTERN } from "../../../lib/validation.ts";
import { useUser } from "../../auth/auth-context.tsx";
import { addPendingChange, usePendingChanges } from "../../pending-changes/api/pending-changes.ts";
import { useSettings } from "../../settings/api/settings.ts";
import { stageServiceDelete, useUpdateService } from "../api/services.ts";
import { currentSource, type SourceService } from "../lib/builds.ts";
import { type PortRow, portsFromRows, toPortRows } from "../lib/ports.ts";
import { NetworkingCard } from "./networking-card.tsx";
import { SourceCard } from "./source-card.tsx";

export function SettingsTab({ projectID, service, taken }: { projectID: string; service: Service; taken: ReadonlySet<string> }) {
  const pending = usePendingChanges(projectID);
  const override = serviceOverrides(pending.data ?? []).get(service.id);
  const current = effectiveSettings(service, override);
  const currentName = override?.name ?? service.name;
  const source = currentSource(service as SourceService, pending.data ?? [], service.id);
  const admin = useUser().role === "admin";
  return (
    <div className="grid grid-cols-1 gap-4">
      <RenameCard projectID={projectID} service={service} currentName={currentName} taken={taken} />
      <IconCard
        key={service.id}
        projectID={projectID}
        service={service}
        current={override && override.icon_url !== undefined ? override.icon_url : service.icon_url}
      />
      <SourceCard key={service.id} projectID={projectID} serviceID={service.id} current={source} admin={admin} />
      <RuntimeCard key={service.id} projectID={projectID} service={service} current={current} />
      <OperationsCard key={service.id} projectID={projectID} service={service} current={current} />
      <NetworkingCard projectID={projectID} service={service} current={current} />
      <DeleteCard projectID={projectID} service={service} staged={override?.deleted ?? false} />
    </div>
  );
}

function RenameCard({
  projectID,
  service,
  currentName,
  taken,
}: {
  projectID: string;
  service: Service;
  currentName: string;
  taken: ReadonlySet<string>;
}) {
  const [name, setName] = useState(currentName);
  const update = useUpdateService(projectID, service.id);
  const trimmed = name.trim();
  const err = trimmed === currentName ? null : serviceNameError(trimmed, taken, service.name);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Name</CardTitle>
        <CardDescription>
          Other services reach this one as {currentName} on the project network. Renaming rewrites references.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="flex items-start gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            update.mutate(
              { name: trimmed },
              { onSuccess: () => toast.success("Rename staged"), onError: (er) => toast.error(errorText(er)) },
            );
          }}
        >
          <Field
            label={<span className="sr-only">Service name</span>}
            htmlFor="service-name"
            error={err ?? fieldError(update.error, "name")}
            className="flex-1"
          >
            <Input id="service-name" value={name} onChange={(e) => setName(e.target.value)} aria-invalid={!!err} />
          </Field>
          <Button type="submit" disabled={trimmed === currentName || !!err || update.isPending}>
            Rename
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}

function IconCard({ projectID, service, current }: { projectID: string; service: Service; current: string | null }) {
  const update = useUpdateService(projectID, service.id);
  const [url, setURL] = useSeededState(current ?? "", update.isPending);
  const trimmed = url.trim();
  const err = iconURLError(trimmed);
  const stage = (icon_url: string) =>
    update.mutate(
      { icon_url },
      {
        onSuccess: () => toast.success(icon_url ? "Icon change staged" : "Icon removal staged"),
        onError: (e) => toast.error(errorText(e)),
      },
    );
  return (
    <Card>
      <CardHeader>
        <CardTitle>Icon</CardTitle>
        <CardDescription>An http(s) URL to a PNG, SVG or JPG shown on the canvas.</CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="flex items-start gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            stage(trimmed);
          }}
        >
          <Field
            label={<span className="sr-only">Icon URL</span>}
            htmlFor="service-icon"
            error={err ?? fieldError(update.error, "icon_url")}
            className="flex-1"
          >
            <Input
              id="service-icon"
              value={url}
              onChange={(e) => setURL(e.target.value)}
              placeholder="https://example.com/icon.svg"
              aria-invalid={!!err}
            />
          </Field>
          <Button type="submit" disabled={trimmed === "" || trimmed === (current ?? "") || !!err || update.isPending}>
            Save
          </Button>
          <Button variant="outline" disabled={!current || update.isPending} onClick={() => stage("")}>
            Clear
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}

interface RuntimeForm {
  image: string;
  ports: PortRow[];
  replicas: string;
  memory: string;
  cpus: string;
  stopGrace: string;
  command: string;
  entrypoint: string;
  volumes: VolumeMount[];
}

function toForm(s: ReturnType<typeof effectiveSettings>): RuntimeForm {
  return {
    image: s.image,
    ports: toPortRows(s.ports),
    replicas: String(s.replicas || 1),
    memory: s.resources?.memory_mb ? String(s.resources.memory_mb) : "",
    cpus: s.resources?.cpus ? String(s.resources.cpus) : "",
    stopGrace: String(s.stop_grace_seconds ?? 30),
    command: formatCommand(s.start_command),
    entrypoint: formatCommand(s.entrypoint),
    volumes: s.volumes.map((v) => ({ ...v })),
  };
}

function RuntimeCard({
  projectID,
  service,
  current,
}: {
  projectID: string;
  service: Service;
  current: ReturnType<typeof effectiveSettings>;
}) {
  const update = useUpdateService(projectID, service.id);
  const initial = useMemo(() => toForm(current), [current]);
  const [f, setF] = useSeededState<RuntimeForm>(initial, update.isPending);
  const instance = useSettings();
  const set = <K extends keyof RuntimeForm>(k: K, v: RuntimeForm[K]) => setF((x) => ({ ...x, [k]: v }));
  const setVolume = (i: number, patch: Partial<RuntimeForm["volumes"][number]>) =>
    set(
      "volumes",
      f.volumes.map((x, j) => (j === i ? { ...x, ...patch } : x)),
    );
  const portsParsed = portsFromRows(f.ports);
  const setPort = (i: number, patch: Partial<PortRow>) =>
    set(
      "ports",
      f.ports.map((x, j) => (j === i ? { ...x, ...patch } : x)),
    );
  const replicas = Number(f.replicas);
  const replicasErr =
    !Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS
      ? `Replicas must be between 1 and ${MAX_REPLICAS}.`
      : replicas > 1 && f.volumes.length > 0
        ? "A service with a volume runs one replica: two containers never share a volume."
        : null;
  const command = parseCommand(f.command);
  const commandErr = command.error ?? null;
  const entrypoint = parseCommand(f.entrypoint);
  const entrypointErr = entrypoint.error ?? null;
  const stopGrace = Number(f.stopGrace);
  const stopGraceErr =
    f.stopGrace.trim() === "" || !Number.isInteger(stopGrace) || stopGrace < 0 || stopGrace > 300
      ? "Stop grace must be a whole number of seconds from 0 to 300."
      : null;
  const memory = f.memory.trim() === "" ? 0 : Number(f.memory);
  const memoryErr =
    !Number.isInteger(memory) || memory < 0 || (memory > 0 && memory < 6) ? "Memory must be empty (no limit) or at least 6 MiB." : null;
  const cpus = f.cpus.trim() === "" ? 0 : Number(f.cpus);
  const cpusErr = !Number.isFinite(cpus) || cpus < 0 || cpus > 1024 ? "CPUs must be a number such as 0.5." : null;
  const volErr = f.volumes
    .map((v) =>
      !VOLUME_NAME_PATTERN.test(v.name)
        ? `Volume "${v.name}": lowercase letters, digits and hyphens.`
        : !v.mount_path.startsWith("/") || v.mount_path === "/"
          ? `Volume "${v.name}": mount path must be absolute.`
          : null,
    )
    .find(Boolean);
  const portErr = portsParsed.error?.message ?? null;

  const build = (): ServiceUpdate => {
    const upd: ServiceUpdate = {};
    if (f.image.trim() !== initial.image) upd.image = f.image.trim();
    if (!portsParsed.error && JSON.stringify(portsParsed.ports) !== JSON.stringify(current.ports)) upd.ports = portsParsed.ports;
    if (f.replicas !== initial.replicas) upd.replicas = replicas;
    if (f.stopGrace !== initial.stopGrace) upd.stop_grace_seconds = stopGrace;
    if (f.command.trim() !== initial.command && JSON.stringify(command.argv) !== JSON.stringify(current.start_command ?? []))
      upd.start_command = command.argv.length > 0 ? command.argv : null;
    if (f.entrypoint.trim() !== initial.entrypoint && JSON.stringify(entrypoint.argv) !== JSON.stringify(current.entrypoint ?? []))
      upd.entrypoint = entrypoint.argv.length > 0 ? entrypoint.argv : null;
    if (f.memory !== initial.memory || f.cpus !== initial.cpus) {
      const r: Resources = { ...(current.resources ?? {}) };
      if (memory > 0) r.memory_mb = memory;
      else delete r.memory_mb;
      if (cpus > 0) r.cpus = cpus;
      else delete r.cpus;
      upd.resources = Object.keys(r).length ? r : null;
    }
    if (JSON.stringify(f.volumes) !== JSON.stringify(initial.volumes)) upd.volumes = f.volumes;
    return upd;
  };
  const upd = build();
  const dirty = Object.keys(upd).length > 0;
  const invalid = !!(
    portErr ||
    replicasErr ||
    stopGraceErr ||
    commandErr ||
    entrypointErr ||
    memoryErr ||
    cpusErr ||
    volErr ||
    f.image.trim() === ""
  );
  const serverErr = (k: string) => fieldError(update.error, k);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Runtime</CardTitle>
        <CardDescription>Image, ports, replicas, limits and volumes. Changes are staged and apply on Deploy.</CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="grid grid-cols-1 gap-4"
          onSubmit={(e) => {
            e.preventDefault();
            update.mutate(upd, { onSuccess: () => toast.success("Settings staged"), onError: (er) => toast.error(errorText(er)) });
          }}
        >
          <Field label="Image" htmlFor="svc-image" error={serverErr("image")}>
            <Input id="svc-image" className="font-mono" value={f.image} onChange={(e) => set("image", e.target.value)} />
          </Field>
          <div className="grid grid-cols-1 gap-2">
            <span className="text-sm font-medium">Ports</span>
            {f.ports.length === 0 ? <p className="text-xs text-muted-foreground">No ports: reachable by no one.</p> : null}
            {f.ports.map((row, i) => (
              <div key={i} className="flex items-center gap-2" data-testid="port-row">
                <Input
                  id={i === 0 ? "svc-cport" : undefined}
                  aria-label="Container port"
                  inputMode="numeric"
                  className="w-28"
                  value={row.container}
                  placeholder="container"
                  onChange={(e) => setPort(i, { container: e.target.value })}
                />
                <Input
                  id={i === 0 ? "svc-hport" : undefined}
                  aria-label="Public port"
                  inputMode="numeric"
                  className="w-32"
                  value={row.host}
                  placeholder="not published"
                  onChange={(e) => setPort(i, { host: e.target.value })}
                />
                <select
                  aria-label="Protocol"
                  className="h-9 rounded-md border border-input bg-transparent px-2 text-sm"
                  value={row.protocol}
                  onChange={(e) => setPort(i, { protocol: e.target.value === "udp" ? "udp" : "tcp" })}
                >
                  <option value="tcp">TCP</option>
                  <option value="udp">UDP</option>
                </select>
                <Button
                  variant="ghost"
                  size="icon"
                  aria-label="Remove port"
                  onClick={() =>
                    set(
                      "ports",
                      f.ports.filter((_, j) => j !== i),
                    )
                  }
                >
                  <X />
                </Button>
              </div>
            ))}
            <p className="min-h-4 text-xs text-destructive">
              {portErr ? `Port ${(portsParsed.error?.row ?? 0) + 1}: ${portErr}` : (serverErr("ports") ?? "")}
            </p>
            <Button
              variant="outline"
              size="sm"
              className="w-fit"
              onClick={() => set("ports", [...f.ports, { container: "", host: "", protocol: "tcp" }])}
            >
              <Plus /> Add port
            </Button>
          </div>
          <div className="grid grid-cols-3 gap-3">
            <Field label="Replicas" htmlFor="svc-replicas" error={replicasErr ?? serverErr("replicas")}>
              <Input
                id="svc-replicas"
                type="number"
                min={1}
                max={MAX_REPLICAS}
                value={f.replicas}
                onChange={(e) => set("replicas", e.target.value)}
              />
            </Field>
            <Field label="Memory (MiB)" htmlFor="svc-mem" error={memoryErr ?? serverErr("resources.memory_mb")}>
              <Input
                id="svc-mem"
                inputMode="numeric"
                value={f.memory}
                onChange={(e) => set("memory", e.target.value)}
                placeholder={limitPlaceholder(instance.data?.default_memory_mb, "MiB")}
              />
            </Field>
            <Field label="CPUs" htmlFor="svc-cpus" error={cpusErr ?? serverErr("resources.cpus")}>
              <Input
                id="svc-cpus"
                inputMode="decimal"
                value={f.cpus}
                onChange={(e) => set("cpus", e.target.value)}
                placeholder={limitPlaceholder(instance.data?.default_cpus, "cores")}
              />
            </Field>
          </div>
          <ArgvField
            label="Start command"
            id="svc-command"
            value={f.command}
            parsed={command}
            serverError={serverErr("start_command")}
            runsAs={(argv) => `Runs as ${JSON.stringify(argv)} — no shell; \${{VAR}} is this service's variable.`}
            empty="Empty: the image's own command."
            onChange={(v) => set("command", v)}
          />
          <ArgvField
            label="Entrypoint"
            id="svc-entrypoint"
            value={f.entrypoint}
            parsed={entrypoint}
            serverError={serverErr("entrypoint")}
            runsAs={(argv) => `Runs as ${JSON.stringify(argv)}, before the start command.`}
            empty="Empty: the image's own entrypoint."
            onChange={(v) => set("entrypoint", v)}
          />
          <Field
            label="Stop grace (seconds)"
            htmlFor="svc-stop-grace"
            error={stopGraceErr ?? serverErr("stop_grace_seconds")}
            hint={
              f.volumes.length > 0
                ? "Time the old container gets to shut down cleanly. With a volume, Deploy stops it before the new one starts."
                : "Time a container gets to shut down cleanly before it is killed."
            }
          >
            <Input
              id="svc-stop-grace"
              type="number"
              min={0}
              max={300}
              className="w-32"
              value={f.stopGrace}
              onChange={(e) => set("stopGrace", e.target.value)}
            />
          </Field>
          <div className="grid grid-cols-1 gap-2">
            <span className="text-sm font-medium">Volumes</span>
            {f.volumes.length === 0 ? (
              <p className="text-xs text-muted-foreground">No volumes: data is lost when the container is replaced.</p>
            ) : null}
            {f.volumes.map((v, i) => (
              <div key={i} className="flex gap-2">
                <Input
                  aria-label="Volume name"
                  value={v.name}
                  placeholder="data"
                  className="w-36 font-mono"
                  onChange={(e) => setVolume(i, { name: e.target.value })}
                />
                <Input
                  aria-label="Mount path"
                  value={v.mount_path}
                  placeholder="/var/lib/data"
                  className="flex-1 font-mono"
                  onChange={(e) => setVolume(i, { mount_path: e.target.value })}
                />
                <Button
                  variant="ghost"
                  size="icon"
                  aria-label="Remove volume"
                  onClick={() =>
                    set(
                      "volumes",
                      f.volumes.filter((_, j) => j !== i),
                    )
                  }
                >
                  <X />
                </Button>
              </div>
            ))}
            <p className="min-h-4 text-xs text-destructive">{volErr ?? serverErr("volumes")}</p>
            <Button
              variant="outline"
              size="sm"
              className="w-fit"
              onClick={() =>
                set("volumes", [...f.volumes, { name: `data${f.volumes.length ? f.volumes.length + 1 : ""}`, mount_path: "" }])
              }
            >
              <Plus /> Add volume
            </Button>
          </div>
          <div className="flex justify-end gap-2">
            <Button variant="ghost" disabled={!dirty} onClick={() => setF(initial)}>
              Reset
            </Button>
            <Button type="submit" disabled={!dirty || invalid || update.isPending}>
              Stage changes
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}

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
function OperationsCard({
  projectID,
  service,
  current,
}: {
  projectID: string;
  service: Service;
  current: ReturnType<typeof effectiveSettings>;
}) {
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
  const retriesErr = !Number.isInteger(retries) || retries < 0 || retries > 1000 ? "Max retries: a whole number from 0 to 1000." : null;
  const preDeploy = parseCommand(f.preDeploy);
  const cron = cronPreview(f.schedule);
  const timeout = Number(f.timeout);
  const timeoutErr = !Number.isInteger(timeout) || timeout < 1 || timeout > 604800 ? "Timeout: whole seconds from 1 to 604800." : null;
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
                  max={1000}
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
          <div className="flex justify-end gap-2">
            <Button variant="ghost" disabled={!dirty} onClick={() => setF(initial)}>
              Reset
            </Button>
            <Button type="submit" disabled={!dirty || invalid || update.isPending}>
              Stage changes
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}

/** An argv setting edited as one shell-like line, with the parsed list shown (no shell runs it). */
function ArgvField(props: {
  label: string;
  id: string;
  value: string;
  parsed: ReturnType<typeof parseCommand>;
  serverError: string | null | undefined;
  runsAs: (argv: string[]) => string;
  empty: string;
  placeholder?: string;
  onChange: (value: string) => void;
}) {
  const { argv, error } = props.parsed;
  return (
    <Field
      label={props.label}
      htmlFor={props.id}
      error={error ?? props.serverError ?? null}
      hint={argv.length > 0 ? props.runsAs(argv) : props.empty}
    >
      <Input
        id={props.id}
        className="font-mono"
        value={props.value}
        placeholder={props.placeholder ?? "image default"}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </Field>
  );
}

function DeleteCard({ projectID, service, staged }: { projectID: string; service: Service; staged: boolean }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const qc = useQueryClient();
  return (
    <Card className="border-red-900/60">
      <CardHeader>
        <CardTitle>Delete service</CardTitle>
        <CardDescription>Stages the deletion: containers, volumes and variables go on Deploy. Discard all to cancel.</CardDescription>
      </CardHeader>
      <CardContent>
        <Button variant="destructive" disabled={staged} onClick={() => setOpen(true)}>
          <Trash2 /> {staged ? "Deletion staged" : "Delete service"}
        </Button>
      </CardContent>
      <ConfirmDialog
        open={open}
        onOpenChange={setOpen}
        title={`Delete ${service.name}?`}
        description="The service is removed on the next Deploy."
        confirmLabel="Stage deletion"
        pending={busy}
        onConfirm={async () => {
          setBusy(true);
          try {
            addPendingChange(qc, projectID, await stageServiceDelete(projectID, service.id));
            toast.success("Deletion staged");
            setOpen(false);
          } catch (e) {
            toast.error(errorText(e));
          } finally {
            setBusy(false);
          }
        }}
      />
    </Card>
  );
}

/** What an empty limit field means: the admin's default (shown as the effective value) or none. */
export function limitPlaceholder(defaultValue: number | undefined, unit: string): string {
  if (defaultValue === undefined) return "default";
  return defaultValue > 0 ? `default: ${defaultValue} ${unit}` : "no limit";
}
