import type Dockerode from "dockerode";
import * as deploykit from "../index.ts";
import { type Conn, ownedFilter, validateNetworkName } from "./conn.ts";
import { forbidden, ignoreNotFound, statusCode, wrap } from "./errors.ts";

/**
 * Network ensures in flight in this process, by instance and name. Docker 20.10 accepts two
 * networks with one name even with CheckDuplicate when the creates race (10 concurrent creates made
 * 10 networks here), and a name that matches two networks is refused by every later call
 * ("network … is ambiguous"): so one name is ensured by one caller at a time.
 */
const ensuring = new Map<string, Promise<deploykit.Network>>();

/** Provisioner manages one bridge network per project, labelled with this instance's labels. */
export class Provisioner implements deploykit.Provisioner {
  private readonly conn: Conn;

  constructor(conn: Conn) {
    this.conn = conn;
  }

  async listNetworks(): Promise<deploykit.Network[]> {
    try {
      const list = await this.conn.api.listNetworks({ filters: ownedFilter(this.conn.instanceID) });
      return list
        .filter((n) => deploykit.ownedBy(n.Labels, this.conn.instanceID))
        .map((n) => ({ id: n.Id, name: n.Name, labels: n.Labels ?? {}, subnets: subnetsOf(n.IPAM) }));
    } catch (err) {
      throw wrap(err);
    }
  }

  async ensureNetwork(name: string, labels: Record<string, string>): Promise<deploykit.Network> {
    validateNetworkName(name);
    const key = `${this.conn.instanceID}\0${name}`;
    let p = ensuring.get(key);
    if (!p) {
      p = this.ensureOnce(name, labels).finally(() => ensuring.delete(key));
      ensuring.set(key, p);
    }
    return p;
  }

  private async ensureOnce(name: string, labels: Record<string, string>): Promise<deploykit.Network> {
    try {
      const existing = await this.inspect(name);
      if (existing) return this.checkOwned(existing, name);
      const all = { ...labels, ...deploykit.instanceLabels(this.conn.instanceID) };
      try {
        await this.conn.api.createNetwork({ Name: name, Driver: "bridge", CheckDuplicate: true, Labels: all });
        // Read back for the subnet Docker picked (the firewall scopes its rules by it).
        const made = await this.inspect(name);
        if (!made) throw deploykit.errorf(deploykit.EUNAVAILABLE, `network ${name} vanished right after it was created`);
        return made;
      } catch (err) {
        // Lost a race with a concurrent ensure: the winner's network is as good as ours.
        if (statusCode(err) !== 409) throw err;
        const raced = await this.inspect(name);
        if (!raced) throw err;
        return this.checkOwned(raced, name);
      }
    } catch (err) {
      throw wrap(err, "network create failed");
    }
  }

  async removeNetwork(name: string): Promise<void> {
    validateNetworkName(name);
    try {
      const net = await this.inspect(name);
      if (!net) return;
      if (!deploykit.ownedBy(net.labels, this.conn.instanceID)) throw forbidden("network", name);
      await ignoreNotFound(this.conn.api.getNetwork(net.id).remove());
    } catch (err) {
      // "network has active endpoints" (403): still in use; the caller retries once containers are gone.
      if (statusCode(err) === 403) {
        throw new deploykit.DeployKitError(deploykit.ECONFLICT, `network ${name} is in use`, { cause: err });
      }
      throw wrap(err, "network remove failed");
    }
  }

  private async inspect(name: string): Promise<deploykit.Network | undefined> {
    const info = await ignoreNotFound(this.conn.api.getNetwork(name).inspect()).catch((err: unknown) => {
      if (statusCode(err) === 400 && /ambiguous/i.test(String((err as Error).message))) return this.dedupe(name);
      throw err;
    });
    // Docker resolves ids and id prefixes too; only an exact name is the network we mean.
    if (!info || info.Name !== name) return undefined;
    return { id: info.Id, name: info.Name, labels: info.Labels ?? {}, subnets: subnetsOf(info.IPAM) };
  }

  private checkOwned(net: deploykit.Network, name: string): deploykit.Network {
    if (!deploykit.ownedBy(net.labels, this.conn.instanceID)) {
      throw deploykit.errorf(deploykit.ECONFLICT, `A network named ${name} exists and is not managed by this DeployKit instance.`);
    }
    return net;
  }

  /**
   * Repairs a name that matches several of this instance's networks (left by racing creates before
   * ensures were serialized): keeps the one with the most containers, stopped ones included (the
   * oldest on a tie), and removes the others, which have none. Refuses (ECONFLICT) when one of them
   * is not this instance's, or when more than one has containers: which to keep is then not ours to guess.
   */
  private async dedupe(name: string): Promise<Dockerode.NetworkInspectInfo> {
    const all = (await this.conn.api.listNetworks({ filters: { name: [name] } })).filter((n) => n.Name === name);
    const foreign = all.find((n) => !deploykit.ownedBy(n.Labels, this.conn.instanceID));
    if (foreign)
      throw deploykit.errorf(deploykit.ECONFLICT, `A network named ${name} exists and is not managed by this DeployKit instance.`);
    const infos = await Promise.all(
      all.map(async (n) => ({
        info: (await this.conn.api.getNetwork(n.Id).inspect()) as Dockerode.NetworkInspectInfo,
        users: (await this.conn.api.listContainers({ all: true, filters: { network: [n.Id] } })).length,
      })),
    );
    infos.sort((a, b) => b.users - a.users || a.info.Created.localeCompare(b.info.Created));
    const [keep, ...rest] = infos;
    if (!keep) throw deploykit.errorf(deploykit.ENOTFOUND, `network ${name} not found`);
    const inUse = rest.filter((n) => n.users > 0);
    if (inUse.length > 0)
      throw deploykit.errorf(
        deploykit.ECONFLICT,
        `Networks ${[keep, ...inUse].map((n) => n.info.Id.slice(0, 12)).join(", ")} share the name ${name} and each has containers; remove all but one by hand.`,
      );
    for (const extra of rest) {
      await ignoreNotFound(this.conn.api.getNetwork(extra.info.Id).remove()).catch((err: unknown) =>
        this.conn.logger.warn({ err, network: extra.info.Id, name }, "duplicate network could not be removed"),
      );
    }
    this.conn.logger.warn(
      { name, kept: keep.info.Id, removed: rest.map((n) => n.info.Id) },
      "network name shared by several networks repaired",
    );
    return keep.info;
  }
}

function subnetsOf(ipam: { Config?: { Subnet?: string }[] | null } | undefined): string[] {
  return (ipam?.Config ?? []).map((c) => c.Subnet).filter((s): s is string => typeof s === "string" && s !== "");
}
