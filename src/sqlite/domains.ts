import * as deploykit from "../index.ts";
import { type DB, isUniqueError, newID, type Tx } from "./db.ts";
import { findProjectByID } from "./project.ts";
import { findServiceByID } from "./service-rows.ts";
import { getSettings } from "./settings.ts";

interface DomainRow {
  id: string;
  project_id: string;
  service_id: string;
  hostname: string;
  target_port: number;
  generated: number;
  status: deploykit.DomainStatus;
  cert_issuer: string | null;
  cert_expires_at: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

function toDomain(r: DomainRow, internal: readonly string[]): deploykit.ServiceDomain {
  return {
    id: r.id,
    project_id: r.project_id,
    service_id: r.service_id,
    hostname: r.hostname,
    target_port: r.target_port,
    generated: r.generated === 1,
    status: r.status,
    tls: deploykit.tlsIssuerFor(r.hostname, internal),
    cert_issuer: r.cert_issuer,
    cert_expires_at: r.cert_expires_at,
    last_error: r.last_error,
    created_at: r.created_at,
  };
}

export class DomainService implements deploykit.DomainService {
  readonly #db: DB;

  constructor(db: DB) {
    this.#db = db;
  }

  async findServiceDomains(projectID: string, serviceID: string): Promise<deploykit.ServiceDomainListed[]> {
    return this.#db.read((tx) => {
      const svc = findServiceByID(tx, serviceID);
      if (svc.project_id !== projectID) throw deploykit.errorf(deploykit.ENOTFOUND, "Service not found.");
      const internal = getSettings(tx).internal_hostnames;
      const log = tx.all<{ id: string; op: string; target_id: string | null; payload: string; created_at: string }>(
        "SELECT id, op, target_id, payload, created_at FROM pending_changes WHERE project_id = ? AND op IN ('domain.create', 'domain.delete') ORDER BY seq",
        projectID,
      );
      const deleting = new Set(log.filter((c) => c.op === deploykit.OP_DOMAIN_DELETE).map((c) => c.target_id));
      const out: deploykit.ServiceDomainListed[] = tx
        .all<DomainRow>("SELECT * FROM domains WHERE service_id = ? ORDER BY created_at, rowid", serviceID)
        .map((r) => {
          const d: deploykit.ServiceDomainListed = toDomain(r, internal);
          if (deleting.has(r.id)) d.staged_delete = true;
          return d;
        });
      for (const c of log) {
        if (c.op !== deploykit.OP_DOMAIN_CREATE || c.target_id !== serviceID) continue;
        const p = JSON.parse(c.payload) as { hostname: string; target_port: number; generated?: boolean };
        out.push({
          id: c.id,
          project_id: projectID,
          service_id: serviceID,
          hostname: p.hostname,
          target_port: p.target_port,
          generated: p.generated === true,
          status: deploykit.DOMAIN_PENDING,
          tls: deploykit.tlsIssuerFor(p.hostname, internal),
          cert_issuer: null,
          cert_expires_at: null,
          last_error: null,
          created_at: c.created_at,
          staged: true,
        });
      }
      return out;
    });
  }

  async findDomainByID(serviceID: string, id: string): Promise<deploykit.ServiceDomain> {
    return this.#db.read((tx) => {
      const r = tx.get<DomainRow>("SELECT * FROM domains WHERE id = ? AND service_id = ?", id, serviceID);
      if (!r) throw deploykit.errorf(deploykit.ENOTFOUND, "Domain not found.");
      return toDomain(r, getSettings(tx).internal_hostnames);
    });
  }

  async findRoutes(): Promise<deploykit.DomainRoute[]> {
    return this.#db.read((tx) => {
      const internal = getSettings(tx).internal_hostnames;
      return tx
        .all<DomainRow & { slug: string }>(
          `SELECT d.*, p.slug AS slug
             FROM domains d
             JOIN projects p ON p.id = d.project_id
            ORDER BY d.hostname`,
        )
        .map((r) => ({ domain: toDomain(r, internal), network: deploykit.projectNetworkName(r.slug) }));
    });
  }

  async findProjectNetworks(): Promise<string[]> {
    return this.#db.read((tx) =>
      tx.all<{ slug: string }>("SELECT slug FROM projects ORDER BY slug").map((r) => deploykit.projectNetworkName(r.slug)),
    );
  }

  async setDomainStatus(id: string, upd: deploykit.DomainStatusUpdate): Promise<void> {
    this.#db.write((tx) => {
      const r = tx.get<DomainRow>("SELECT * FROM domains WHERE id = ?", id);
      if (!r) return;
      const next = {
        status: upd.status,
        cert_issuer: upd.cert_issuer !== undefined ? upd.cert_issuer : r.cert_issuer,
        cert_expires_at: upd.cert_expires_at !== undefined ? upd.cert_expires_at : r.cert_expires_at,
        last_error: upd.last_error !== undefined ? upd.last_error : r.last_error,
      };
      if (
        next.status === r.status &&
        next.cert_issuer === r.cert_issuer &&
        next.cert_expires_at === r.cert_expires_at &&
        next.last_error === r.last_error
      )
        return;
      tx.run(
        "UPDATE domains SET status = ?, cert_issuer = ?, cert_expires_at = ?, last_error = ?, updated_at = ? WHERE id = ?",
        next.status,
        next.cert_issuer,
        next.cert_expires_at,
        next.last_error,
        tx.now,
        id,
      );
    });
  }
}

/** The project holding `hostname`, applied or staged (in any project's log), other than an entry being replaced. */
function hostnameHolder(tx: Tx, hostname: string, projectID: string, log: deploykit.PendingChange[]): string | null {
  const applied = tx.get<{ id: string; project_id: string }>("SELECT id, project_id FROM domains WHERE hostname = ?", hostname);
  // A delete of it staged in this same log frees it for this project.
  if (applied && !(applied.project_id === projectID && log.some((c) => c.op === deploykit.OP_DOMAIN_DELETE && c.target_id === applied.id)))
    return applied.project_id;
  const staged = tx.get<{ project_id: string }>(
    "SELECT project_id FROM pending_changes WHERE op = 'domain.create' AND json_extract(payload, '$.hostname') = ? LIMIT 1",
    hostname,
  );
  return staged ? staged.project_id : null;
}

function takenError(tx: Tx, hostname: string, ownerProjectID: string): deploykit.DeployKitError {
  const name = tx.get<{ name: string }>("SELECT name FROM projects WHERE id = ?", ownerProjectID)?.name ?? "another project";
  return deploykit.errorf(deploykit.ECONFLICT, deploykit.hostnameTakenMessage(hostname, name));
}

/**
 * Resolves a staged `domain.create` (`{hostname?, target_port?, generate?}`) into its stored payload
 * `{hostname, target_port, generated}`: the generated name, the default port, the checks.
 */
export function prepareDomainCreate(
  tx: Tx,
  projectID: string,
  log: deploykit.PendingChange[],
  svc: deploykit.Service,
  p: Record<string, unknown>,
): { hostname: string; target_port: number; generated: boolean } {
  const v = new deploykit.FieldErrorCollector();
  let hostname = "";
  const generated = p.generate === true;
  if (p.generate !== undefined && typeof p.generate !== "boolean") v.add("generate", "generate must be a boolean.");
  if (generated) {
    if (p.hostname !== undefined) v.add("hostname", "Give a hostname or generate one, not both.");
    const base = getSettings(tx).base_domain;
    if (base === "") v.add("generate", "No base domain is set: an admin must set one in the settings to generate domains.");
    else hostname = deploykit.generatedHostname(svc.name, findProjectByID(tx, projectID).slug, base);
  } else if (typeof p.hostname !== "string") v.add("hostname", "Hostname is required.");
  else {
    hostname = deploykit.normalizeHostname(p.hostname);
    const problem = deploykit.hostnameProblem(hostname);
    if (problem) v.add("hostname", problem);
  }
  let port = p.target_port;
  if (port === undefined || port === null) {
    const staged = log.filter((c) => c.op === deploykit.OP_SERVICE_UPDATE && c.target_id === svc.id && Array.isArray(c.payload.ports));
    const ports = (staged.at(-1)?.payload.ports as deploykit.PortMapping[] | undefined) ?? svc.ports;
    port = ports[0]?.container_port;
    if (port === undefined) v.add("target_port", "The service exposes no port: give target_port.");
  } else if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)
    v.add("target_port", "Target port must be between 1 and 65535.");
  v.throwIfAny();
  const holder = hostnameHolder(tx, hostname, projectID, log);
  if (holder !== null) throw takenError(tx, hostname, holder);
  return { hostname, target_port: port as number, generated };
}

/** Apply of `domain.create`: the row; a name taken meanwhile is ECONFLICT naming the owner. */
export function createDomain(
  tx: Tx,
  projectID: string,
  serviceID: string,
  p: { hostname: string; target_port: number; generated: boolean },
): void {
  const problem = deploykit.hostnameProblem(p.hostname);
  if (problem) throw deploykit.fieldError({ hostname: [problem] });
  try {
    tx.run(
      `INSERT INTO domains (id, project_id, service_id, hostname, target_port, generated, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
      newID(),
      projectID,
      serviceID,
      p.hostname,
      p.target_port,
      p.generated ? 1 : 0,
      tx.now,
      tx.now,
    );
  } catch (err) {
    if (!isUniqueError(err)) throw err;
    const owner = tx.get<{ project_id: string }>("SELECT project_id FROM domains WHERE hostname = ?", p.hostname);
    throw takenError(tx, p.hostname, owner?.project_id ?? "");
  }
}
