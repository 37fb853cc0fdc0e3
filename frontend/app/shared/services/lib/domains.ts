import { validateHealthcheckPath, validateHealthcheckTimeout } from "../../../../../src/deployment-validate.ts";
import { type ServiceDomain, validateDrainSeconds } from "../../../../../src/domains.ts";
import { OP_DOMAIN_CREATE, OP_DOMAIN_DELETE, type PendingChange } from "../../../../../src/pending-change.ts";
import { firstError } from "../../../lib/validation.ts";
import { domainChangeHost, domainChangeService } from "../../pending-changes/lib/staged.ts";

/** The domain a service is shown by: the first active one, else the first one. */
export function primaryDomain(domains: readonly ServiceDomain[] | undefined): ServiceDomain | null {
  if (!domains || domains.length === 0) return null;
  return domains.find((d) => d.status === "active") ?? domains[0] ?? null;
}

export function primaryURL(domains: readonly ServiceDomain[] | undefined): string | null {
  const d = primaryDomain(domains);
  return d ? `https://${d.hostname}` : null;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The same rule as the server's (RFC 1123, lower case, no wildcard), for an answer while typing. */
export function hostnameError(raw: string): string | null {
  const h = raw.trim().toLowerCase().replace(/\.$/, "");
  if (h === "") return "Enter a hostname such as app.example.com.";
  if (h.includes("*")) return "Wildcard names are not allowed.";
  if (h.includes("://") || h.includes("/")) return "Only the hostname: no scheme or path.";
  if (h.length > 253) return "A hostname has at most 253 characters.";
  const labels = h.split(".");
  if (labels.length < 2 && h !== "localhost") return "Use a full name with a dot, such as app.example.com.";
  if (!labels.every((l) => LABEL.test(l))) return "Letters, digits and hyphens in each dot-separated part (not at its ends).";
  return null;
}

export function isIPAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || (host.includes(":") && /^[0-9a-f:.[\]]+$/i.test(host));
}

/** Names the proxy's internal CA signs: no public DNS record to create for them. */
export function isInternalName(host: string, internal: readonly string[] = []): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || isIPAddress(h) || internal.some((n) => n.toLowerCase() === h);
}

/** The browser's address for this server when it is a public IP literal (then it is the address to point DNS at). */
export function publicAddressFrom(locationHost: string): string | null {
  const h = locationHost.replace(/^\[|\]$/g, "");
  if (!isIPAddress(h)) return null;
  if (/^(127\.|10\.|192\.168\.|169\.254\.|0\.)/.test(h) || /^172\.(1[6-9]|2\d|3[01])\./.test(h)) return null;
  if (h === "::1" || /^f[cd]/i.test(h) || /^fe80/i.test(h)) return null;
  return h;
}

export interface DnsRecord {
  type: "A" | "AAAA" | "CNAME";
  name: string;
  value: string;
}

/**
 * The DNS record(s) that point a custom hostname at this server: an A (or AAAA) record to its public
 * address, or a CNAME to the base domain (which already points here). Empty for names the internal
 * CA signs, which need no public record.
 */
export function dnsRecords(
  hostname: string,
  opts: { baseDomain?: string; publicAddress?: string | null; internal?: readonly string[] },
): DnsRecord[] {
  const host = hostname.trim().toLowerCase();
  if (host === "" || isInternalName(host, opts.internal)) return [];
  const out: DnsRecord[] = [];
  const addr = opts.publicAddress ?? null;
  out.push({ type: addr?.includes(":") ? "AAAA" : "A", name: host, value: addr ?? "this server's public IP address" });
  const base = (opts.baseDomain ?? "").trim().toLowerCase();
  if (base !== "" && host !== base && !host.endsWith(`.${base}`)) out.push({ type: "CNAME", name: host, value: base });
  return out;
}

/** Staged, not yet deployed domain changes of one service: names being added, domain ids being removed. */
export function stagedDomains(changes: readonly PendingChange[], serviceID: string): { adds: PendingChange[]; removes: Set<string> } {
  const adds: PendingChange[] = [];
  const removes = new Set<string>();
  for (const c of changes) {
    const op = c.op as string;
    if (op !== OP_DOMAIN_CREATE && op !== OP_DOMAIN_DELETE) continue;
    if (op === OP_DOMAIN_CREATE) {
      if (domainChangeService(c) === serviceID) adds.push(c);
    } else if (c.target_id && (domainChangeService(c) === serviceID || domainChangeService(c) === null)) removes.add(c.target_id);
  }
  return { adds, removes };
}

/** A staged create in words: its hostname, or that a name is generated on Deploy. */
export function stagedLabel(c: PendingChange): string {
  return domainChangeHost(c) || "generated domain";
}

/** The server's health check path rule (src/deployment-validate.ts) on what the field holds; empty turns the check off. */
export function healthcheckPathError(raw: string): string | null {
  const p = raw.trim();
  return p === "" ? null : firstError((v) => validateHealthcheckPath(p, v));
}

/** The server's drain_seconds rule (src/domains.ts validateDrainSeconds) on what the field holds. */
export function drainSecondsError(raw: string): string | null {
  return firstError((v) => validateDrainSeconds(raw.trim() === "" ? Number.NaN : Number(raw), v));
}

/** The server's health check timeout rule (src/deployment-validate.ts) on what the field holds. */
export function healthcheckTimeoutError(raw: string): string | null {
  return firstError((v) => validateHealthcheckTimeout(raw.trim() === "" ? Number.NaN : Number(raw), v));
}
