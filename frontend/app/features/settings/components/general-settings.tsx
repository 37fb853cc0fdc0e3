import { useState } from "react";
import { toast } from "sonner";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { Field, Input, Textarea } from "../../../components/ui/input.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { ApiError, errorText, fieldError } from "../../../lib/api-client.ts";
import { useAbout } from "../../system/api/system.ts";
import { useSettings, useUpdateSettings } from "../api/settings.ts";

export function GeneralSettings() {
  const settings = useSettings();
  const about = useAbout();
  return (
    <div className="grid gap-6">
      {settings.isPending ? (
        <Skeleton className="h-44" />
      ) : settings.isError ? (
        <p className="text-sm text-destructive">{errorText(settings.error)}</p>
      ) : (
        <>
          <InstanceNameCard name={settings.data.instance_name} />
          <RegistryAllowlistCard list={settings.data.registry_allowlist} />
          <PublishedPortsCard min={settings.data.published_port_min} max={settings.data.published_port_max} />
          <DefaultLimitsCard
            memory={settings.data.default_memory_mb}
            cpus={settings.data.default_cpus}
            pids={settings.data.default_pids_limit}
          />
        </>
      )}
      <Card>
        <CardHeader>
          <CardTitle>Instance</CardTitle>
          <CardDescription>Set when the daemon starts; change them with its flags.</CardDescription>
        </CardHeader>
        <CardContent>
          <dl className="grid grid-cols-[10rem_1fr] gap-y-2 text-sm">
            <dt className="text-muted-foreground">Instance id</dt>
            <dd className="min-h-5 font-mono text-xs">
              {about.data?.deploykit.instance_id ?? (about.isPending ? <Skeleton className="h-4 w-64" /> : "—")}
            </dd>
            <dt className="text-muted-foreground">Database</dt>
            <dd className="min-h-5 font-mono text-xs">
              {about.data?.database.path ?? (about.isPending ? <Skeleton className="h-4 w-48" /> : "—")}
            </dd>
            <dt className="text-muted-foreground">Reconcile interval</dt>
            <dd className="min-h-5 font-mono text-xs">
              {about.data?.deploykit.reconcile_interval_seconds !== undefined ? (
                `${about.data.deploykit.reconcile_interval_seconds} s (-reconcile-interval)`
              ) : about.isPending ? (
                <Skeleton className="h-4 w-16" />
              ) : (
                "—"
              )}
            </dd>
            <dt className="text-muted-foreground">Version</dt>
            <dd className="min-h-5 font-mono text-xs">
              {about.data?.deploykit.version ?? (about.isPending ? <Skeleton className="h-4 w-16" /> : "—")}
            </dd>
          </dl>
        </CardContent>
      </Card>
    </div>
  );
}

function InstanceNameCard({ name }: { name: string }) {
  const [value, setValue] = useState(name);
  const update = useUpdateSettings();
  return (
    <Card>
      <CardHeader>
        <CardTitle>Instance name</CardTitle>
        <CardDescription>Shown in the header and the browser tab.</CardDescription>
      </CardHeader>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate({ instance_name: value.trim() }, { onSuccess: () => toast.success("Settings saved") });
        }}
      >
        <CardContent>
          <Field
            label="Name"
            htmlFor="instance-name"
            error={fieldError(update.error, "instance_name") ?? (update.error ? errorText(update.error) : null)}
          >
            <Input id="instance-name" value={value} onChange={(e) => setValue(e.target.value)} />
          </Field>
        </CardContent>
        <CardFooter className="justify-end">
          <Button type="submit" disabled={value.trim() === "" || value.trim() === name || update.isPending}>
            Save
          </Button>
        </CardFooter>
      </form>
    </Card>
  );
}

/** Registries on private or host addresses that images may name (the server refuses them otherwise). */
function RegistryAllowlistCard({ list }: { list: string[] }) {
  const [value, setValue] = useState(list.join("\n"));
  const update = useUpdateSettings();
  const entries = value
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const fields = update.error instanceof ApiError ? Object.entries(update.error.fields ?? {}) : [];
  // Entries are checked one by one (`registry_allowlist[2]`): name the line that was refused.
  const named = fields.map(([k, v]) => {
    const i = /\[(\d+)\]$/.exec(k)?.[1];
    return i === undefined ? v[0] : `${entries[Number(i)]}: ${v[0]}`;
  });
  const problem = named.length > 0 ? named.join(" ") : update.error ? errorText(update.error) : null;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Registry allow-list</CardTitle>
        <CardDescription>
          Images cannot name a registry on a loopback, link-local or private address, or on this host's own addresses: Docker would connect
          to it from the host. List the registries that may be used anyway, one per line, as host or host:port.
        </CardDescription>
      </CardHeader>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate({ registry_allowlist: entries }, { onSuccess: () => toast.success("Settings saved") });
        }}
      >
        <CardContent>
          <Field label="Allowed registries" htmlFor="registry-allowlist" error={problem}>
            <Textarea
              id="registry-allowlist"
              className="font-mono text-xs"
              placeholder={"registry.lan:5000\n10.0.0.5"}
              value={value}
              onChange={(e) => setValue(e.target.value)}
            />
          </Field>
        </CardContent>
        <CardFooter className="justify-end">
          <Button type="submit" disabled={entries.join("\n") === list.join("\n") || update.isPending}>
            Save
          </Button>
        </CardFooter>
      </form>
    </Card>
  );
}

/** The host ports services may publish; staging a port outside the range is refused. */
function PublishedPortsCard({ min, max }: { min: number; max: number }) {
  const [low, setLow] = useState(String(min));
  const [high, setHigh] = useState(String(max));
  const update = useUpdateSettings();
  const lo = Number(low);
  const hi = Number(high);
  const valid = Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && hi <= 65535 && lo <= hi;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Published ports</CardTitle>
        <CardDescription>
          Host ports services may publish. Ports below 1024 belong to the host (SSH, web servers); the daemon's own port is always reserved.
        </CardDescription>
      </CardHeader>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate({ published_port_min: lo, published_port_max: hi }, { onSuccess: () => toast.success("Settings saved") });
        }}
      >
        <CardContent className="grid gap-4 sm:grid-cols-2">
          <Field label="Lowest" htmlFor="ports-min" error={fieldError(update.error, "published_port_min")}>
            <Input id="ports-min" inputMode="numeric" value={low} onChange={(e) => setLow(e.target.value)} />
          </Field>
          <Field
            label="Highest"
            htmlFor="ports-max"
            error={
              fieldError(update.error, "published_port_max") ??
              (update.error && !fieldError(update.error, "published_port_min") ? errorText(update.error) : null)
            }
          >
            <Input id="ports-max" inputMode="numeric" value={high} onChange={(e) => setHigh(e.target.value)} />
          </Field>
        </CardContent>
        <CardFooter className="justify-end">
          <Button type="submit" disabled={!valid || (lo === min && hi === max) || update.isPending}>
            Save
          </Button>
        </CardFooter>
      </form>
    </Card>
  );
}

/** Limits for containers whose service sets none, so one runaway service cannot take the host down. */
function DefaultLimitsCard({ memory, cpus, pids }: { memory: number; cpus: number; pids: number }) {
  const [mem, setMem] = useState(String(memory));
  const [cpu, setCpu] = useState(String(cpus));
  const [proc, setProc] = useState(String(pids));
  const update = useUpdateSettings();
  const m = Number(mem);
  const c = Number(cpu);
  const p = Number(proc);
  const memErr = mem.trim() === "" || !Number.isInteger(m) || m < 0 || (m > 0 && m < 6) ? "0 (no limit) or at least 6 MiB." : null;
  const cpuErr = cpu.trim() === "" || !Number.isFinite(c) || c < 0 || c > 1024 ? "0 (no limit) or a number of cores such as 0.5." : null;
  const pidsErr = proc.trim() === "" || !Number.isInteger(p) || p < 16 ? "A whole number, at least 16." : null;
  const unchanged = m === memory && c === cpus && p === pids;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Default limits</CardTitle>
        <CardDescription>
          Applied to every container whose service sets no limit of its own, from its next deploy or restart. A service can choose its own
          memory and CPU limits in its Settings; the process limit applies to all.
        </CardDescription>
      </CardHeader>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate(
            { default_memory_mb: m, default_cpus: c, default_pids_limit: p },
            { onSuccess: () => toast.success("Settings saved") },
          );
        }}
      >
        <CardContent className="grid gap-4 sm:grid-cols-3">
          <Field label="Memory (MiB)" htmlFor="limit-mem" error={memErr ?? fieldError(update.error, "default_memory_mb")}>
            <Input id="limit-mem" inputMode="numeric" value={mem} onChange={(e) => setMem(e.target.value)} />
          </Field>
          <Field label="CPUs" htmlFor="limit-cpus" error={cpuErr ?? fieldError(update.error, "default_cpus")}>
            <Input id="limit-cpus" inputMode="decimal" value={cpu} onChange={(e) => setCpu(e.target.value)} />
          </Field>
          <Field label="Processes" htmlFor="limit-pids" error={pidsErr ?? fieldError(update.error, "default_pids_limit")}>
            <Input id="limit-pids" inputMode="numeric" value={proc} onChange={(e) => setProc(e.target.value)} />
          </Field>
        </CardContent>
        <CardFooter className="justify-end">
          <Button type="submit" disabled={Boolean(memErr || cpuErr || pidsErr) || unchanged || update.isPending}>
            Save
          </Button>
        </CardFooter>
      </form>
    </Card>
  );
}
