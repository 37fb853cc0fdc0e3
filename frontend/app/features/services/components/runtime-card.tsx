import { Plus, X } from "lucide-react";
import { useMemo } from "react";
import { toast } from "sonner";
import { MAX_STOP_GRACE_SECONDS, type Resources, type VolumeMount } from "../../../../../src/deployment.ts";
import type { Service, ServiceUpdate } from "../../../../../src/service.ts";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { formatCommand, parseCommand } from "../../../lib/command.ts";
import { useSeededState } from "../../../lib/seeded-state.ts";
import { MAX_REPLICAS, VOLUME_NAME_PATTERN } from "../../../lib/validation.ts";
import type { ServiceSettings } from "../../../shared/pending-changes/lib/staged.ts";
import { useUpdateService } from "../../../shared/services/api/services.ts";
import { useSettings } from "../../../shared/settings/api/settings.ts";
import { type PortRow, portsFromRows, toPortRows } from "../lib/ports.ts";
import { ArgvField } from "./argv-field.tsx";
import { StagedFormActions } from "./staged-form-actions.tsx";

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

function toForm(s: ServiceSettings): RuntimeForm {
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

export function RuntimeCard({ projectID, service, current }: { projectID: string; service: Service; current: ServiceSettings }) {
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
    f.stopGrace.trim() === "" || !Number.isInteger(stopGrace) || stopGrace < 0 || stopGrace > MAX_STOP_GRACE_SECONDS
      ? `Stop grace must be a whole number of seconds from 0 to ${MAX_STOP_GRACE_SECONDS}.`
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
              max={MAX_STOP_GRACE_SECONDS}
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
          <StagedFormActions dirty={dirty} invalid={invalid} pending={update.isPending} onReset={() => setF(initial)} />
        </form>
      </CardContent>
    </Card>
  );
}

/** What an empty limit field means: the admin's default (shown as the effective value) or none. */
export function limitPlaceholder(defaultValue: number | undefined, unit: string): string {
  if (defaultValue === undefined) return "default";
  return defaultValue > 0 ? `default: ${defaultValue} ${unit}` : "no limit";
}
