import { execFile } from "node:child_process";
import { isIP } from "node:net";
import type * as deploykit from "../index.ts";

/** Runs a firewall tool with fixed arguments (never through a shell) and optional stdin. */
export type Exec = (cmd: string, args: string[], stdin?: string) => Promise<{ code: number; stderr: string }>;

export const execTool: Exec = (cmd, args, stdin) =>
  new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 15_000 }, (err, _stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code as number) : 127) : 0;
      resolve({ code, stderr: String(stderr || (err ? err.message : "")).trim() });
    });
    // A tool that exits before reading its input closes the pipe: that is its exit code's business,
    // never an unhandled EPIPE that takes the daemon down.
    child.stdin?.on("error", () => {});
    child.stdin?.end(stdin);
  });

const FAMILIES = [
  { v: 4, save: "iptables", restore: "iptables-restore" },
  { v: 6, save: "ip6tables", restore: "ip6tables-restore" },
] as const;

/** The chain of one instance: `DEPLOYKIT-<instance id prefix>` (iptables chain names are at most 28 characters). */
export function chainName(instanceID: string): string {
  return `DEPLOYKIT-${instanceID.replace(/[^A-Za-z0-9]/g, "").slice(0, 16)}`;
}

/**
 * The `iptables-restore --noflush` input that (re)writes the chain in one atomic step: declaring a
 * user chain in restore input creates it or empties it; the host's own chains are left alone.
 */
export function restoreInput(chain: string, subnets: readonly string[], ports: readonly number[]): string {
  const lines = ["*filter", `:${chain} - [0:0]`];
  for (const subnet of subnets)
    for (const port of ports)
      lines.push(`-A ${chain} -s ${subnet} -p tcp -m tcp --dport ${port} -m conntrack --ctstate NEW -j REJECT --reject-with tcp-reset`);
  lines.push("COMMIT", "");
  return lines.join("\n");
}

/** A CIDR we would put in a rule: an address and a prefix length, nothing else. */
export function validSubnet(s: string): 4 | 6 | 0 {
  const m = /^([0-9A-Fa-f:.]+)\/(\d{1,3})$/.exec(s);
  if (!m) return 0;
  const v = isIP(m[1] as string);
  const bits = Number(m[2]);
  if (v === 4 && bits <= 32) return 4;
  if (v === 6 && bits <= 128) return 6;
  return 0;
}

/**
 * HostFirewall on iptables/ip6tables: the host's INPUT chain jumps (one rule, inserted first) to a
 * chain of this instance's own, which rejects new TCP connections from DeployKit's networks to the
 * daemon's ports. Packets a container sends to any host address (bridge gateway, public address)
 * traverse INPUT, so one chain covers them all; traffic between project networks is already dropped
 * by Docker's own isolation chains. Without iptables (or privilege) isolation is off and says why.
 */
export class IptablesFirewall implements deploykit.HostFirewall {
  readonly chain: string;
  readonly #exec: Exec;
  readonly #log: deploykit.Logger;
  #state = "off: not applied yet";
  #applied = new Map<4 | 6, string>();
  #warned = false;

  constructor(opts: { instanceID: string; logger: deploykit.Logger; exec?: Exec }) {
    this.chain = chainName(opts.instanceID);
    this.#exec = opts.exec ?? execTool;
    this.#log = opts.logger;
  }

  state(): string {
    return this.#state;
  }

  async isolate(subnets: readonly string[], ports: readonly number[]): Promise<void> {
    const valid = [...new Set(ports)].filter((p) => Number.isInteger(p) && p > 0 && p < 65536).sort((a, b) => a - b);
    const byFamily = new Map<4 | 6, string[]>([
      [4, []],
      [6, []],
    ]);
    for (const s of [...new Set(subnets)].sort()) {
      const v = validSubnet(s);
      if (v) byFamily.get(v)?.push(s);
    }
    try {
      for (const f of FAMILIES) {
        const nets = byFamily.get(f.v) ?? [];
        // IPv6: only when a network has an IPv6 subnet (and then ip6tables must work too).
        if (f.v === 6 && nets.length === 0 && !this.#applied.has(6)) continue;
        const input = restoreInput(this.chain, nets, valid);
        if (this.#applied.get(f.v) === input) continue;
        const r = await this.#exec(f.restore, ["-w", "5", "--noflush"], input);
        if (r.code !== 0) throw new Error(`${f.restore}: ${r.stderr || `exit ${r.code}`}`);
        await this.#jump(f.save);
        this.#applied.set(f.v, input);
      }
      this.#state = "on";
      this.#warned = false;
    } catch (err) {
      this.#state = `off: ${why(err)}`;
      if (!this.#warned) {
        this.#warned = true;
        this.#log.warn(
          { err: why(err) },
          "workload isolation is off: containers may reach the daemon's port through the host (needs iptables and root)",
        );
      }
    }
  }

  async close(): Promise<void> {
    for (const f of FAMILIES) {
      if (!this.#applied.has(f.v)) continue;
      // Remove every jump (a crashed predecessor may have left one), then the chain.
      for (let i = 0; i < 8; i++) {
        const r = await this.#exec(f.save, ["-w", "5", "-D", "INPUT", "-j", this.chain]);
        if (r.code !== 0) break;
      }
      await this.#exec(f.save, ["-w", "5", "-F", this.chain]);
      await this.#exec(f.save, ["-w", "5", "-X", this.chain]);
      this.#applied.delete(f.v);
    }
    this.#state = "off: closed";
  }

  async #jump(tool: string): Promise<void> {
    const check = await this.#exec(tool, ["-w", "5", "-C", "INPUT", "-j", this.chain]);
    if (check.code === 0) return;
    const r = await this.#exec(tool, ["-w", "5", "-I", "INPUT", "1", "-j", this.chain]);
    if (r.code !== 0) throw new Error(`${tool}: ${r.stderr || `exit ${r.code}`}`);
  }
}

function why(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
