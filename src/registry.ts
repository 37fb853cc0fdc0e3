import { type FieldErrorCollector, fieldError } from "./errors.ts";

/**
 * The registry rule (catalogue C08). dockerd pulls from whatever registry host a reference names,
 * from the host's network: a reference such as `127.0.0.1:2375/x` or `169.254.169.254/latest` would
 * make it connect to the host's own services, the cloud metadata endpoint or the private network.
 * So a registry that is loopback, link-local, private (RFC 1918, RFC 6598 shared, RFC 4193 unique
 * local), unspecified, or one of the host's own addresses and names is refused when an image is
 * staged, unless an admin names it in the allow-list (Settings). Names are not resolved: a public
 * name that resolves to a private address is not caught here.
 */

export const REGISTRY_ALLOWLIST_MAX = 50;
/** An allow-list entry: a registry host, optionally with a port (`registry.lan`, `10.0.0.5:5000`). */
export const REGISTRY_ENTRY_PATTERN = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$/;
export const REGISTRY_ENTRY_MESSAGE = "Each entry must be a registry host, optionally with a port, such as registry.lan or 10.0.0.5:5000.";

/** What the rule needs besides the reference: the admin's allow-list and the host's own addresses and names. */
export interface RegistryPolicy {
  allowlist: readonly string[];
  hostAddresses: readonly string[];
}

/** The host's own addresses and names (interfaces and hostname); src/cmd wires the OS's. */
export type HostAddresses = () => readonly string[];

/**
 * The registry host[:port] an image reference pulls from, or null for Docker Hub. Docker's rule:
 * the first path component is a registry when it contains `.` or `:`, is `localhost`, or has an
 * upper-case letter.
 */
export function imageRegistry(image: string): string | null {
  const slash = image.indexOf("/");
  if (slash < 0) return null;
  const first = image.slice(0, slash);
  if (!/[.:]/.test(first) && first !== "localhost" && first === first.toLowerCase()) return null;
  return first;
}

/** Splits `host:port`, `[v6]:port`, `host` into the host (lower case, no brackets, no trailing dot) and the port. */
export function splitRegistry(registry: string): { host: string; port: string | null } {
  let host = registry;
  let port: string | null = null;
  if (registry.startsWith("[")) {
    const end = registry.indexOf("]");
    host = end > 0 ? registry.slice(1, end) : registry.slice(1);
    const rest = end > 0 ? registry.slice(end + 1) : "";
    if (rest.startsWith(":")) port = rest.slice(1);
  } else {
    const colon = registry.lastIndexOf(":");
    if (colon >= 0) {
      host = registry.slice(0, colon);
      port = registry.slice(colon + 1);
    }
  }
  return { host: host.toLowerCase().replace(/\.$/, ""), port };
}

/**
 * An IPv4 address as the C library's inet_aton reads it (1 to 4 parts, decimal, octal `0…` or hex
 * `0x…`): `127.1`, `0x7f000001` and `2130706433` are all 127.0.0.1 to a resolver. Null otherwise.
 */
export function parseIPv4(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length < 1 || parts.length > 4) return null;
  const nums: number[] = [];
  for (const p of parts) {
    let n: number;
    if (/^0x[0-9a-f]*$/i.test(p)) n = p.length === 2 ? 0 : Number.parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) n = Number.parseInt(p, 8);
    else if (/^[1-9][0-9]*$/.test(p)) n = Number(p);
    else return null;
    if (!Number.isSafeInteger(n)) return null;
    nums.push(n);
  }
  const last = nums.pop() as number;
  if (nums.some((n) => n > 255) || last >= 256 ** (4 - nums.length)) return null;
  const out = [...nums];
  for (let i = 4 - nums.length - 1; i >= 0; i--) out.push(Math.floor(last / 256 ** i) % 256);
  return out;
}

/** An IPv6 address as 8 groups (an embedded dotted IPv4 tail allowed, a zone ignored), or null. */
export function parseIPv6(s: string): number[] | null {
  let addr = s.replace(/%.*$/, "");
  if (!addr.includes(":")) return null;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  if (v4) {
    const q = v4[1]?.split(".").map(Number) ?? [];
    if (q.length !== 4 || q.some((n) => n > 255)) return null;
    addr = `${addr.slice(0, v4.index)}${((q[0] as number) * 256 + (q[1] as number)).toString(16)}:${((q[2] as number) * 256 + (q[3] as number)).toString(16)}`;
  }
  const halves = addr.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string | undefined) => (h ? h.split(":") : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (all.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return null;
  return all.map((g) => Number.parseInt(g, 16));
}

/** One spelling per address, so the host's own addresses compare equal however they are written. */
function canonical(host: string): string {
  const v4 = parseIPv4(host);
  if (v4) return v4.join(".");
  const v6 = parseIPv6(host);
  if (v6) {
    const mapped = v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff;
    if (mapped) return [(v6[6] as number) >> 8, (v6[6] as number) & 255, (v6[7] as number) >> 8, (v6[7] as number) & 255].join(".");
    return v6.map((g) => g.toString(16)).join(":");
  }
  return host.toLowerCase().replace(/\.$/, "");
}

/** What kind of non-public place `host` names, or null when it is none of them. */
export function addressClass(host: string): string | null {
  const h = host.toLowerCase().replace(/\.$/, "");
  if (h === "localhost" || h.endsWith(".localhost")) return "a loopback address";
  const c = canonical(h);
  const v4 = parseIPv4(c);
  if (v4) {
    const [a, b] = v4 as [number, number, number, number];
    if (a === 127) return "a loopback address";
    if (a === 0) return "an unspecified address";
    if (a === 169 && b === 254) return "a link-local address";
    if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return "a private address";
    if (a === 100 && b >= 64 && b <= 127) return "a private address";
    return null;
  }
  const v6 = parseIPv6(c);
  if (v6) {
    const first = v6[0] as number;
    if (v6.every((g) => g === 0)) return "an unspecified address";
    if (v6.slice(0, 7).every((g) => g === 0) && v6[7] === 1) return "a loopback address";
    if ((first & 0xffc0) === 0xfe80) return "a link-local address";
    if ((first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfec0) return "a private address";
  }
  return null;
}

/** True when an allow-list entry names `registry`: the same host and, when the entry has a port, the same port. */
export function registryAllowed(registry: string, allowlist: readonly string[]): boolean {
  const r = splitRegistry(registry);
  return allowlist.some((entry) => {
    const e = splitRegistry(entry.trim());
    return e.host === r.host && (e.port === null || e.port === r.port);
  });
}

/** Why `image` may not be pulled under `policy`, or null when it may. */
export function registryRefusal(image: string, policy: RegistryPolicy): string | null {
  const registry = imageRegistry(image);
  if (registry === null || registryAllowed(registry, policy.allowlist)) return null;
  const { host } = splitRegistry(registry);
  const own = new Set(policy.hostAddresses.map(canonical));
  const kind = addressClass(host) ?? (own.has(canonical(host)) ? "this host's own address" : null);
  if (kind === null) return null;
  return `Registry "${registry}" is ${kind}; DeployKit does not pull from loopback, link-local, private or this host's own addresses unless an admin adds the registry to the allow-list in Settings.`;
}

/** Throws EINVALID on `field` when `image` names a refused registry. */
export function assertRegistryAllowed(image: string, policy: RegistryPolicy, field = "image"): void {
  const why = registryRefusal(image, policy);
  if (why !== null) throw fieldError({ [field]: [why] });
}

/** Allow-list entries: at most REGISTRY_ALLOWLIST_MAX, each a host with an optional port. */
export function validateRegistryAllowlist(list: unknown, v: FieldErrorCollector, field = "registry_allowlist"): void {
  if (!Array.isArray(list)) {
    v.add(field, "The registry allow-list must be a list.");
    return;
  }
  if (list.length > REGISTRY_ALLOWLIST_MAX) v.add(field, `The registry allow-list holds at most ${REGISTRY_ALLOWLIST_MAX} entries.`);
  list.forEach((e, i) => {
    const s = typeof e === "string" ? e.trim().toLowerCase() : "";
    const port = /:(\d+)$/.exec(s)?.[1];
    if (!REGISTRY_ENTRY_PATTERN.test(s) || (port !== undefined && Number(port) > 65535)) v.add(`${field}[${i}]`, REGISTRY_ENTRY_MESSAGE);
  });
}

/** Entries as stored: trimmed, lower case, without duplicates. */
export function normalizeRegistryAllowlist(list: readonly string[]): string[] {
  return [...new Set(list.map((e) => e.trim().toLowerCase()))];
}
