/**
 * Public domains of a service (issue 12). A domain is a staged setting: `domain.create` and
 * `domain.delete` go through the pending-change log and Deploy like every other edit; the proxy (the
 * Caddy data plane) routes each active hostname to the serving deployment's containers.
 *
 * Wire shapes (the contract between the API, the SPA and the CLI):
 * - `GET  /api/projects/{pid}/services/{sid}/domains` → `ServiceDomain[]`
 * - `POST /api/projects/{pid}/services/{sid}/domains` with `DomainCreate` → 201 `PendingChange` (op `domain.create`)
 * - `DELETE /api/projects/{pid}/services/{sid}/domains/{id}` → 201 `PendingChange` (op `domain.delete`)
 */

export const DOMAIN_PENDING = "pending";
export const DOMAIN_ACTIVE = "active";
export const DOMAIN_ERROR = "error";
export type DomainStatus = typeof DOMAIN_PENDING | typeof DOMAIN_ACTIVE | typeof DOMAIN_ERROR;

/** Who signs a domain's certificate: an ACME directory, or Caddy's internal CA (`.localhost`, IPs, admin-marked names). */
export const TLS_ACME = "acme";
export const TLS_INTERNAL = "internal";
export type TlsIssuer = typeof TLS_ACME | typeof TLS_INTERNAL;

export interface ServiceDomain {
  id: string;
  project_id: string;
  service_id: string;
  /** Lower-case, RFC 1123, unique across the instance. */
  hostname: string;
  /** The container port requests go to. */
  target_port: number;
  /** True for `<service>-<project-slug>.<base domain>` names the instance made. */
  generated: boolean;
  status: DomainStatus;
  tls: TlsIssuer;
  /** The current certificate's issuer (its CN), when there is one. */
  cert_issuer: string | null;
  cert_expires_at: string | null;
  last_error: string | null;
  created_at: string;
}

/** `POST …/domains` body: a hostname (with an optional target port; default the service's first port), or `generate`. */
export interface DomainCreate {
  hostname?: string;
  target_port?: number;
  generate?: boolean;
}

/** A listed domain may be a staged create (not applied yet): then `id` is the pending change's id. */
export interface ServiceDomainListed extends ServiceDomain {
  /** True for a `domain.create` still in the pending-change log. */
  staged?: boolean;
  /** True for an applied domain whose `domain.delete` is staged. */
  staged_delete?: boolean;
}

/** What the proxy routes: an applied domain and its project's Docker network (`dk-<slug>`, which the proxy joins). */
export interface DomainRoute {
  domain: ServiceDomain;
  network: string;
}

/**
 * The reconciler's view of the proxy (src/proxy): which containers serve a service now. The
 * reconciler calls it where it switches the TCP forwarder, after a promotion and before the old
 * containers are stopped, and awaits the proxy's reload.
 */
export interface IngressRoutes {
  /** Addresses (IPs on the project network) of the containers serving the service; [] withdraws them. */
  setServiceUpstreams(serviceID: string, hosts: string[]): Promise<void>;
  /**
   * Milliseconds until containers the proxy stopped routing to have had `seconds` (the service's
   * `drain_seconds`) to finish their requests; 0 when the service has no domain or nothing switched
   * that recently. The reconciler stops them only then.
   */
  drainLeftMs(serviceID: string, seconds: number): number;
}

/**
 * The name the proxy's routes dial for a service (with its port): every serving container of the
 * service answers to it on its project network. Id-based, so it survives a rename, and unique on
 * every network the proxy joins.
 */
export function proxyAlias(serviceID: string): string {
  return `svc-${serviceID}`;
}

/**
 * Seconds old containers keep running after the route (the proxy's and the service name) moved away
 * from them, before they get SIGTERM: a service setting, `drain_seconds`.
 */
export const DEFAULT_DRAIN_SECONDS = 5;
export const MAX_DRAIN_SECONDS = 300;

/** `drain_seconds`: a whole number of seconds from 0 (stop at once) to MAX_DRAIN_SECONDS. */
export function validateDrainSeconds(seconds: unknown, v: { add(field: string, message: string): void }): void {
  if (seconds === undefined) return;
  if (typeof seconds !== "number" || !Number.isInteger(seconds) || seconds < 0 || seconds > MAX_DRAIN_SECONDS)
    v.add("drain_seconds", `Drain time must be a whole number of seconds between 0 and ${MAX_DRAIN_SECONDS}.`);
}

/** The status the proxy observed for one domain (issuer CN and expiry come from the served certificate). */
export interface DomainStatusUpdate {
  status: DomainStatus;
  cert_issuer?: string | null;
  cert_expires_at?: string | null;
  last_error?: string | null;
}

export const HOSTNAME_MAX = 253;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Lower-cased and trimmed, without one trailing dot. */
export function normalizeHostname(h: string): string {
  const s = h.trim().toLowerCase();
  return s.endsWith(".") ? s.slice(0, -1) : s;
}

export function isIPv4(h: string): boolean {
  return IPV4.test(h);
}

/**
 * RFC 1123 host name (letters, digits, hyphens; labels of 1–63, total ≤ 253) or an IPv4 address; no
 * wildcard, no port, no scheme. Returns the error message, or null when valid. `h` must be normalized.
 */
export function hostnameProblem(h: string): string | null {
  if (h === "") return "Hostname is required.";
  if (h.length > HOSTNAME_MAX) return `Hostname is too long (max ${HOSTNAME_MAX} characters).`;
  if (h.includes("*")) return "Wildcard hostnames are not allowed.";
  if (isIPv4(h)) return null;
  const labels = h.split(".");
  if (labels.some((l) => !LABEL.test(l)))
    return "Hostname must be a DNS name: labels of letters, digits and hyphens (1–63 characters, no leading or trailing hyphen).";
  if (/^\d+$/.test(labels[labels.length - 1] as string)) return "Hostname cannot end in a numeric label.";
  return null;
}

/** Which issuer signs `hostname`: Caddy's internal CA for `.localhost`, IP addresses and admin-marked names. */
export function tlsIssuerFor(hostname: string, internalHostnames: readonly string[]): TlsIssuer {
  if (hostname === "localhost" || hostname.endsWith(".localhost") || isIPv4(hostname)) return TLS_INTERNAL;
  return internalHostnames.includes(hostname) ? TLS_INTERNAL : TLS_ACME;
}

/** `<service>-<project-slug>.<base domain>`, the service name folded into one DNS label. */
export function generatedHostname(serviceName: string, projectSlug: string, baseDomain: string): string {
  const svc = serviceName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  const label = `${svc || "service"}-${projectSlug}`.slice(0, 63).replace(/-+$/g, "");
  return `${label}.${normalizeHostname(baseDomain)}`;
}

/** The message of a hostname clash (409): names the project that holds it. */
export function hostnameTakenMessage(hostname: string, projectName: string): string {
  return `Hostname "${hostname}" is already used by project "${projectName}".`;
}

/**
 * DomainService reads domains and records what the proxy observed. Creating and deleting go through
 * the pending-change log (`domain.create`, `domain.delete`).
 */
export interface DomainService {
  /** Applied domains of the service, then its staged creates (`staged: true`). Throws ENOTFOUND. */
  findServiceDomains(projectID: string, serviceID: string): Promise<ServiceDomainListed[]>;
  /** Throws ENOTFOUND "Domain not found." unless the domain belongs to that service. */
  findDomainByID(serviceID: string, id: string): Promise<ServiceDomain>;
  /** Every applied domain with its project network, by hostname (what the proxy must route). */
  findRoutes(): Promise<DomainRoute[]>;
  /** Every project network (the proxy joins them all). */
  findProjectNetworks(): Promise<string[]>;
  /** Records the proxy's observation; a vanished domain is ignored. */
  setDomainStatus(id: string, upd: DomainStatusUpdate): Promise<void>;
}

/** Field errors of the proxy's admin settings (issue 12), added to `v`. Values must be normalized by `normalizeProxySettings`. */
export function validateProxySettings(
  upd: { base_domain?: unknown; acme_email?: unknown; acme_directory?: unknown; internal_hostnames?: unknown },
  v: { add(field: string, message: string): void },
): void {
  if (upd.base_domain !== undefined) {
    if (typeof upd.base_domain !== "string") v.add("base_domain", "Base domain must be a string.");
    else if (upd.base_domain.trim() !== "") {
      const h = normalizeHostname(upd.base_domain);
      const problem = hostnameProblem(h);
      if (problem) v.add("base_domain", problem.replace(/^Hostname/, "Base domain"));
      else if (isIPv4(h)) v.add("base_domain", "Base domain must be a DNS name, not an IP address.");
    }
  }
  if (upd.acme_email !== undefined) {
    const e = upd.acme_email;
    if (typeof e !== "string") v.add("acme_email", "ACME email must be a string.");
    else if (e.trim() !== "" && (e.trim().length > 254 || !/^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/.test(e.trim())))
      v.add("acme_email", "ACME email must be an email address.");
  }
  if (upd.acme_directory !== undefined) {
    const d = upd.acme_directory;
    let ok = false;
    if (typeof d === "string" && d.length <= 2000) {
      try {
        const u = new URL(d.trim());
        ok = (u.protocol === "https:" || u.protocol === "http:") && u.hostname !== "" && u.username === "" && u.password === "";
      } catch {
        ok = false;
      }
    }
    if (!ok) v.add("acme_directory", "ACME directory must be an http(s) URL.");
  }
  if (upd.internal_hostnames !== undefined) {
    const list = upd.internal_hostnames;
    if (!Array.isArray(list)) v.add("internal_hostnames", "Internal hostnames must be a list.");
    else if (list.length > 1000) v.add("internal_hostnames", "At most 1000 internal hostnames.");
    else
      list.forEach((h: unknown, i) => {
        const problem = typeof h === "string" ? hostnameProblem(normalizeHostname(h)) : "Hostname must be a string.";
        if (problem) v.add(`internal_hostnames[${i}]`, problem);
      });
  }
}

/** The proxy as the API sees it. */
export interface ProxyControl {
  /** PEM of the proxy's internal CA root. Throws EUNAVAILABLE when the proxy does not answer. */
  rootCertificate(): Promise<string>;
}
