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
