import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type Dockerode from "dockerode";
import * as deploykit from "../index.ts";
import { INITIAL_CONFIG_IN_CONTAINER, initialConfig, MOUNT } from "./caddy.ts";

export const DEFAULT_PROXY_IMAGE = "caddy:2";
export const DEFAULT_PROXY_CONTAINER = "deploykit-proxy";
export const LABEL_PROXY_SPEC = "deploykit.proxy-spec";

export interface ListenAddr {
  /** "" = every interface. */
  host: string;
  /** 0 = a free port Docker picks. */
  port: number;
}

/** What the proxy container is made from; a change to any of it recreates the container. */
export interface ProxyContainerOptions {
  instanceID: string;
  image: string;
  /** The container's name (default deploykit-proxy; tests running several daemons on one dockerd give their own). */
  containerName: string;
  http: ListenAddr;
  https: ListenAddr;
  /** Daemon-owned directory (created 0700): the admin socket, the initial config and Caddy's data (certificates, CA). */
  dir: string;
  /** Host directory mounted read-only at /deploykit-trust in the proxy (tests: Pebble's root). */
  trustDir?: string;
}

/** A hash of the settings the container was created with (label LABEL_PROXY_SPEC), the daemon's user included. */
export function proxySpec(o: ProxyContainerOptions): string {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return createHash("sha256")
    .update(JSON.stringify([o.image, o.http, o.https, o.dir, uid, gid, o.trustDir ?? ""]))
    .digest("hex")
    .slice(0, 16);
}

/** Creates the daemon-owned directories (0700) and the initial config a new container starts from. */
export function prepareProxyDir(o: ProxyContainerOptions): void {
  const admin = join(o.dir, "admin");
  for (const d of [o.dir, admin, join(o.dir, "data"), join(o.dir, "config")]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(d, 0o700);
  }
  // A socket left by a previous container would make Caddy's listen fail.
  rmSync(join(admin, "admin.sock"), { force: true });
  writeFileSync(join(admin, "caddy.json"), JSON.stringify(initialConfig()), { mode: 0o600 });
}

export function proxyContainerSpec(o: ProxyContainerOptions): Dockerode.ContainerCreateOptions {
  const binds = [`${o.dir}:${MOUNT}`];
  if (o.trustDir) binds.push(`${o.trustDir}:/deploykit-trust:ro`);
  return {
    name: o.containerName,
    Image: o.image,
    // --resume: a proxy restarted by Docker comes back with the last config the daemon pushed.
    Cmd: ["caddy", "run", "--resume", "--config", INITIAL_CONFIG_IN_CONTAINER],
    // The daemon's own user: the socket and data stay the daemon's; no root in the proxy.
    User: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
    Env: [`HOME=${MOUNT}`, `XDG_DATA_HOME=${MOUNT}/data`, `XDG_CONFIG_HOME=${MOUNT}/config`],
    Labels: { ...deploykit.instanceLabels(o.instanceID), [LABEL_PROXY_SPEC]: proxySpec(o), "deploykit.role": "proxy" },
    ExposedPorts: { "80/tcp": {}, "443/tcp": {} },
    HostConfig: {
      Binds: binds,
      PortBindings: {
        "80/tcp": [{ HostIp: o.http.host, HostPort: o.http.port === 0 ? "" : String(o.http.port) }],
        "443/tcp": [{ HostIp: o.https.host, HostPort: o.https.port === 0 ? "" : String(o.https.port) }],
      },
      RestartPolicy: { Name: "unless-stopped" },
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" },
    },
  };
}
