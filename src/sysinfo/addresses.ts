import * as os from "node:os";
import type * as deploykit from "../index.ts";

/**
 * The host's own addresses (every interface, up or down) and its hostname: registries the C08 rule
 * refuses because a pull from them would reach this host's services. Read on each call, so an
 * address added after start counts.
 */
export const hostAddresses: deploykit.HostAddresses = () => {
  const out: string[] = [];
  try {
    out.push(os.hostname());
  } catch {
    // no hostname: the addresses still count
  }
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) out.push(a.address);
  return out;
};
