import type { PortMapping, Protocol } from "../../../../../src/deployment.ts";
import { parsePort } from "../../../lib/validation.ts";

/** One editable row of the ports list: text as typed. */
export interface PortRow {
  container: string;
  host: string;
  protocol: Protocol;
}

export function toPortRows(ports: readonly PortMapping[]): PortRow[] {
  return ports.map((p) => ({
    container: String(p.container_port),
    host: p.host_port ? String(p.host_port) : "",
    protocol: p.protocol ?? "tcp",
  }));
}

/**
 * The rows as the API's port list, or the first problem found with its row. Empty rows are dropped;
 * a public port needs a container port; a public port and protocol are used once.
 */
export function portsFromRows(rows: readonly PortRow[]): { ports: PortMapping[]; error?: { row: number; message: string } } {
  const ports: PortMapping[] = [];
  const seen = new Set<string>();
  for (const [i, r] of rows.entries()) {
    const cp = parsePort(r.container, "Container port");
    const hp = parsePort(r.host, "Public port");
    const err = cp.error ?? hp.error;
    if (err) return { ports, error: { row: i, message: err } };
    if (cp.value === undefined) {
      if (hp.value !== undefined) return { ports, error: { row: i, message: "Set the container port to publish it." } };
      continue;
    }
    if (hp.value !== undefined) {
      const key = `${hp.value}/${r.protocol}`;
      if (seen.has(key)) return { ports, error: { row: i, message: `Public port ${hp.value}/${r.protocol} is used twice.` } };
      seen.add(key);
    }
    ports.push({ container_port: cp.value, ...(hp.value !== undefined ? { host_port: hp.value } : {}), protocol: r.protocol });
  }
  return { ports };
}
