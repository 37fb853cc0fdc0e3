import { ExternalLink, Globe, Plus, Trash2, Wand2 } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";
import type { PortMapping } from "../../../../../src/deployment.ts";
import type { ServiceDomain } from "../../../../../src/domains.ts";
import type { Service } from "../../../../../src/service.ts";
import { Badge, type BadgeVariant } from "../../../components/ui/badge.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { formatDateTime } from "../../../lib/format.ts";
import { usePendingChanges } from "../../../shared/pending-changes/api/pending-changes.ts";
import type { ServiceSettings } from "../../../shared/pending-changes/lib/staged.ts";
import { useCreateDomain, useDeleteDomain, useDomains } from "../../../shared/services/api/domains.ts";
import {
  type DnsRecord,
  dnsRecords,
  hostnameError,
  publicAddressFrom,
  stagedDomains,
  stagedLabel,
} from "../../../shared/services/lib/domains.ts";
import { useSettings } from "../../../shared/settings/api/settings.ts";
import { HealthCheckForm } from "./health-check-form.tsx";

const STATUS_VARIANT: Record<ServiceDomain["status"], BadgeVariant> = { pending: "warning", active: "success", error: "destructive" };

/**
 * Railway-style networking (issue 12): the service's public domains with their certificate state,
 * "Generate domain", "Add custom domain" with the DNS record to create, and the HTTP health check.
 * Every edit is staged and applies on Deploy.
 */
export function NetworkingCard({ projectID, service, current }: { projectID: string; service: Service; current: ServiceSettings }) {
  const domains = useDomains(projectID, service.id);
  const pending = usePendingChanges(projectID);
  const staged = stagedDomains(pending.data ?? [], service.id);
  const create = useCreateDomain(projectID, service.id);
  const remove = useDeleteDomain(projectID, service.id);
  // The base domain (a CNAME target) and the names the internal CA signs: admin settings anyone signed in may read.
  const settings = useSettings();
  const baseDomain = settings.data?.base_domain ?? "";
  const ports = current.ports.filter((p) => p.protocol !== "udp");
  const generate = () =>
    create.mutate(
      { generate: true },
      { onSuccess: () => toast.success("Domain staged: deploy to create it"), onError: (e) => toast.error(errorText(e)) },
    );
  return (
    <Card>
      <CardHeader>
        <CardTitle className="flex items-center gap-2">
          <Globe className="size-4" /> Networking
        </CardTitle>
        <CardDescription>
          Public HTTPS domains with automatic certificates, routed to this service's containers once they are healthy. Changes apply on
          Deploy.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-5">
        <section className="grid gap-2" aria-label="Domains">
          {domains.isPending ? (
            <Skeleton className="h-10" />
          ) : domains.isError ? (
            <p className="text-sm text-destructive">{errorText(domains.error)}</p>
          ) : (domains.data ?? []).length === 0 && staged.adds.length === 0 ? (
            <p className="text-sm text-muted-foreground">No public domain yet.</p>
          ) : null}
          <ul className="grid gap-2">
            {(domains.data ?? []).map((d) => (
              <DomainRow
                key={d.id}
                domain={d}
                removing={staged.removes.has(d.id)}
                busy={remove.isPending}
                onRemove={() =>
                  remove.mutate(d.id, {
                    onSuccess: () => toast.success(`Removal of ${d.hostname} staged`),
                    onError: (e) => toast.error(errorText(e)),
                  })
                }
              />
            ))}
            {staged.adds.map((c) => (
              <li
                key={c.id}
                className="flex items-center gap-2 rounded-md border border-dashed px-3 py-2 text-sm"
                data-testid="staged-domain"
              >
                <span className="font-mono">{stagedLabel(c)}</span>
                <Badge variant="info">Pending deploy</Badge>
              </li>
            ))}
          </ul>
          <div className="flex flex-wrap gap-2">
            <Button
              variant="outline"
              size="sm"
              onClick={generate}
              disabled={create.isPending || ports.length === 0}
              title={baseDomain ? `A name under ${baseDomain}` : undefined}
            >
              <Wand2 /> Generate domain
            </Button>
          </div>
          {ports.length === 0 ? <p className="text-xs text-muted-foreground">Add a container port first: a domain routes to one.</p> : null}
          {create.error && !fieldError(create.error, "hostname") && !fieldError(create.error, "target_port") ? (
            <p className="text-xs text-destructive">{errorText(create.error)}</p>
          ) : null}
        </section>
        <CustomDomainForm
          ports={ports}
          baseDomain={baseDomain}
          internal={settings.data?.internal_hostnames ?? []}
          pending={create.isPending}
          error={create.error}
          onSubmit={(hostname, target_port, done) =>
            create.mutate(
              { hostname, target_port },
              {
                onSuccess: () => {
                  toast.success(`${hostname} staged: deploy to route it`);
                  done();
                },
                onError: (e) => toast.error(errorText(e)),
              },
            )
          }
        />
        <HealthCheckForm
          key={`${current.healthcheck_path}|${current.healthcheck_timeout_seconds}|${current.drain_seconds}`}
          projectID={projectID}
          service={service}
          current={current}
        />
      </CardContent>
    </Card>
  );
}

function DomainRow({
  domain: d,
  removing,
  busy,
  onRemove,
}: {
  domain: ServiceDomain;
  removing: boolean;
  busy: boolean;
  onRemove: () => void;
}) {
  return (
    <li className="grid gap-1 rounded-md border px-3 py-2" data-testid="domain-row">
      <div className="flex items-center gap-2">
        <a
          href={`https://${d.hostname}`}
          target="_blank"
          rel="noreferrer"
          className={`flex min-w-0 items-center gap-1 font-mono text-sm hover:underline ${removing ? "line-through opacity-60" : ""}`}
        >
          <span className="truncate">https://{d.hostname}</span>
          <ExternalLink className="size-3 shrink-0" />
        </a>
        <Badge variant={STATUS_VARIANT[d.status] ?? "outline"}>{d.status}</Badge>
        {d.generated ? <Badge variant="outline">generated</Badge> : null}
        {removing ? <Badge variant="info">Removal pending deploy</Badge> : null}
        <span className="ml-auto text-xs text-muted-foreground">→ port {d.target_port}</span>
        <Button variant="ghost" size="icon" aria-label={`Remove ${d.hostname}`} disabled={removing || busy} onClick={onRemove}>
          <Trash2 />
        </Button>
      </div>
      <p className="text-xs text-muted-foreground">
        {d.tls === "internal" ? "Internal CA certificate" : "ACME certificate"}
        {d.cert_issuer ? ` from ${d.cert_issuer}` : ""}
        {d.cert_expires_at ? `, expires ${formatDateTime(d.cert_expires_at)}` : d.status === "pending" ? ", being issued" : ""}
      </p>
      {d.last_error ? <p className="text-xs text-destructive">{d.last_error}</p> : null}
    </li>
  );
}

function CustomDomainForm(props: {
  ports: PortMapping[];
  baseDomain: string;
  internal: string[];
  pending: boolean;
  error: unknown;
  onSubmit: (hostname: string, port: number, done: () => void) => void;
}) {
  const [open, setOpen] = useState(false);
  const [host, setHost] = useState("");
  const [port, setPort] = useState(String(props.ports[0]?.container_port ?? ""));
  const hostErr = host.trim() === "" ? null : hostnameError(host);
  const portNum = Number(port);
  const portErr = !Number.isInteger(portNum) || portNum < 1 || portNum > 65535 ? "A container port from 1 to 65535." : null;
  const hostname = host.trim().toLowerCase().replace(/\.$/, "");
  const records =
    hostErr || hostname === ""
      ? []
      : dnsRecords(hostname, {
          baseDomain: props.baseDomain,
          publicAddress: publicAddressFrom(window.location.hostname),
          internal: props.internal,
        });
  if (!open)
    return (
      <Button variant="outline" size="sm" className="w-fit" onClick={() => setOpen(true)}>
        <Plus /> Add custom domain
      </Button>
    );
  return (
    <form
      className="grid gap-3 rounded-md border p-3"
      aria-label="Add custom domain"
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit(hostname, portNum, () => {
          setHost("");
          setOpen(false);
        });
      }}
    >
      <div className="grid grid-cols-[1fr_8rem] gap-3">
        <Field label="Hostname" htmlFor="domain-host" error={hostErr ?? fieldError(props.error, "hostname")}>
          <Input
            id="domain-host"
            className="font-mono"
            placeholder="app.example.com"
            value={host}
            onChange={(e) => setHost(e.target.value)}
          />
        </Field>
        <Field label="Target port" htmlFor="domain-port" error={portErr ?? fieldError(props.error, "target_port")}>
          {props.ports.length > 0 ? (
            <select
              id="domain-port"
              className="h-9 rounded-md border border-input bg-transparent px-2 text-sm"
              value={port}
              onChange={(e) => setPort(e.target.value)}
            >
              {props.ports.map((p) => (
                <option key={p.container_port} value={String(p.container_port)}>
                  {p.container_port}
                </option>
              ))}
            </select>
          ) : (
            <Input id="domain-port" inputMode="numeric" value={port} onChange={(e) => setPort(e.target.value)} />
          )}
        </Field>
      </div>
      {records.length > 0 ? <DnsHint records={records} /> : null}
      {hostname !== "" && !hostErr && records.length === 0 ? (
        <p className="text-xs text-muted-foreground">An internal name: the proxy's own CA signs it and no public DNS record is needed.</p>
      ) : null}
      <div className="flex justify-end gap-2">
        <Button variant="ghost" onClick={() => setOpen(false)}>
          Cancel
        </Button>
        <Button type="submit" disabled={hostname === "" || !!hostErr || !!portErr || props.pending}>
          Add domain
        </Button>
      </div>
    </form>
  );
}

function DnsHint({ records }: { records: DnsRecord[] }) {
  return (
    <div className="grid gap-1 text-xs" data-testid="dns-hint">
      <p className="text-muted-foreground">
        Create {records.length > 1 ? "one of these DNS records" : "this DNS record"} at your DNS provider; the certificate is issued once it
        resolves here.
      </p>
      <table className="w-full font-mono">
        <thead className="text-left text-muted-foreground">
          <tr>
            <th className="pr-3 font-normal">Type</th>
            <th className="pr-3 font-normal">Name</th>
            <th className="font-normal">Value</th>
          </tr>
        </thead>
        <tbody>
          {records.map((r) => (
            <tr key={r.type}>
              <td className="pr-3">{r.type}</td>
              <td className="pr-3">{r.name}</td>
              <td>{r.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
