import { Download } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";
import type { Settings } from "../../../../../src/settings.ts";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { Field, Input, Textarea } from "../../../components/ui/input.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { ApiError, errorText, fieldError, rawRequest, responseError } from "../../../lib/api-client.ts";
import { useSettings, useUpdateSettings } from "../../../shared/settings/api/settings.ts";
import { useAbout } from "../../../shared/system/api/system.ts";
import {
  type DirectoryChoice,
  directoryChoice,
  LETS_ENCRYPT_PRODUCTION,
  LETS_ENCRYPT_STAGING,
  listLines,
} from "../lib/domains-settings.ts";
import { BuildLimitsCard } from "./build-limits.tsx";
import { BuildBasesCard } from "./build-settings.tsx";

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
          <DomainsCard settings={settings.data} />
          <BuildLimitsCard settings={settings.data} />
          <BuildBasesCard settings={settings.data} />
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

/** Issue 12: generated names, the ACME account and directory, and the names the internal CA signs. */
function DomainsCard({ settings }: { settings: Settings }) {
  const initialDir = settings.acme_directory ?? LETS_ENCRYPT_PRODUCTION;
  const [baseDomain, setBaseDomain] = useState(settings.base_domain ?? "");
  const [email, setEmail] = useState(settings.acme_email ?? "");
  const [choice, setChoice] = useState<DirectoryChoice>(directoryChoice(initialDir));
  const [custom, setCustom] = useState(directoryChoice(initialDir) === "custom" ? initialDir : "");
  const [internal, setInternal] = useState((settings.internal_hostnames ?? []).join("\n"));
  const update = useUpdateSettings();
  const directory = choice === "production" ? LETS_ENCRYPT_PRODUCTION : choice === "staging" ? LETS_ENCRYPT_STAGING : custom.trim();
  const directoryErr =
    choice === "custom" && !/^https:\/\/\S+$/.test(directory) ? "An https:// URL of an RFC 8555 (ACME) directory." : null;
  const emailErr = email.trim() !== "" && !/^[^\s@]+@[^\s@]+$/.test(email.trim()) ? "An email address such as ops@example.com." : null;
  const upd = {
    base_domain: baseDomain.trim().toLowerCase().replace(/\.$/, ""),
    acme_email: email.trim(),
    acme_directory: directory,
    internal_hostnames: listLines(internal),
  };
  const dirty =
    upd.base_domain !== (settings.base_domain ?? "") ||
    upd.acme_email !== (settings.acme_email ?? "") ||
    upd.acme_directory !== initialDir ||
    upd.internal_hostnames.join("\n") !== (settings.internal_hostnames ?? []).join("\n");
  const [downloading, setDownloading] = useState(false);
  const downloadRoot = async () => {
    setDownloading(true);
    try {
      const res = await rawRequest("/api/system/proxy/root.crt");
      if (!res.ok) throw await responseError(res);
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement("a");
      a.href = url;
      a.download = "deploykit-root.crt";
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      toast.error(errorText(e));
    } finally {
      setDownloading(false);
    }
  };
  const serverErr = (k: string) => fieldError(update.error, k);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Public domains</CardTitle>
        <CardDescription>
          Services get https:// domains on the proxy. Generated names live under the base domain; certificates come from the ACME directory,
          or from the proxy's internal CA for .localhost names, IP addresses and the internal names below.
        </CardDescription>
      </CardHeader>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate(upd, { onSuccess: () => toast.success("Settings saved") });
        }}
      >
        <CardContent className="grid gap-4">
          <Field
            label="Base domain"
            htmlFor="base-domain"
            error={serverErr("base_domain")}
            hint={
              upd.base_domain
                ? `Generated: <service>-<project>.${upd.base_domain}. Point a wildcard record *.${upd.base_domain} at this server.`
                : "Empty: no domain can be generated; custom domains still work."
            }
          >
            <Input
              id="base-domain"
              className="font-mono"
              placeholder="apps.example.com"
              value={baseDomain}
              onChange={(e) => setBaseDomain(e.target.value)}
            />
          </Field>
          <Field label="ACME email" htmlFor="acme-email" error={emailErr ?? serverErr("acme_email")} hint="Expiry and account notices.">
            <Input id="acme-email" type="email" placeholder="ops@example.com" value={email} onChange={(e) => setEmail(e.target.value)} />
          </Field>
          <Field label="ACME directory" htmlFor="acme-directory" error={directoryErr ?? serverErr("acme_directory")}>
            <select
              id="acme-directory"
              className="h-9 rounded-md border border-input bg-transparent px-2 text-sm"
              value={choice}
              onChange={(e) => setChoice(e.target.value as DirectoryChoice)}
            >
              <option value="production">Let's Encrypt production</option>
              <option value="staging">Let's Encrypt staging (untrusted test certificates)</option>
              <option value="custom">Custom RFC 8555 directory</option>
            </select>
            {choice === "custom" ? (
              <Input
                aria-label="Custom ACME directory URL"
                className="font-mono"
                placeholder="https://acme.example.com/directory"
                value={custom}
                onChange={(e) => setCustom(e.target.value)}
              />
            ) : (
              <p className="font-mono text-xs text-muted-foreground">{directory}</p>
            )}
          </Field>
          <Field
            label="Internal hostnames"
            htmlFor="internal-hostnames"
            error={serverErr("internal_hostnames")}
            hint="One per line: names the internal CA signs instead of ACME (not reachable from the internet)."
          >
            <Textarea
              id="internal-hostnames"
              className="font-mono text-xs"
              placeholder={"intranet.corp\nwiki.lan"}
              value={internal}
              onChange={(e) => setInternal(e.target.value)}
            />
          </Field>
          {update.error && !serverErr("base_domain") && !serverErr("acme_email") && !serverErr("acme_directory") ? (
            <p className="text-xs text-destructive">{errorText(update.error)}</p>
          ) : null}
        </CardContent>
        <CardFooter className="justify-between">
          <Button variant="outline" size="sm" disabled={downloading} onClick={() => void downloadRoot()}>
            <Download /> Internal CA root certificate
          </Button>
          <Button type="submit" disabled={!dirty || !!directoryErr || !!emailErr || update.isPending}>
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
