import { describe, expect, it } from "vitest";
import { nopLogger } from "../index.ts";
import { chainName, type Exec, execTool, IptablesFirewall, restoreInput, validSubnet } from "./iptables.ts";

function fakeExec(fail = false) {
  const calls: { cmd: string; args: string[]; stdin?: string }[] = [];
  const exec: Exec = async (cmd, args, stdin) => {
    calls.push({ cmd, args, ...(stdin !== undefined ? { stdin } : {}) });
    if (fail) return { code: 4, stderr: "Permission denied (you must be root)" };
    // `-C` (check) finds no jump the first time.
    if (args.includes("-C")) return { code: calls.filter((c) => c.args.includes("-I")).length > 0 ? 0 : 1, stderr: "" };
    return { code: 0, stderr: "" };
  };
  return { exec, calls };
}

describe("iptables firewall", () => {
  it("writes one chain of its own atomically: new TCP connections from each subnet to each port are reset", () => {
    expect(restoreInput("DEPLOYKIT-abc", ["172.20.0.0/16"], [8080])).toBe(
      [
        "*filter",
        ":DEPLOYKIT-abc - [0:0]",
        "-A DEPLOYKIT-abc -s 172.20.0.0/16 -p tcp -m tcp --dport 8080 -m conntrack --ctstate NEW -j REJECT --reject-with tcp-reset",
        "COMMIT",
        "",
      ].join("\n"),
    );
    expect(chainName("0123456789abcdef0123")).toBe("DEPLOYKIT-0123456789abcdef");
    expect(chainName("x").length).toBeLessThanOrEqual(28);
  });

  it("puts only well-formed CIDRs in a rule", () => {
    expect(validSubnet("172.18.0.0/16")).toBe(4);
    expect(validSubnet("fd00::/64")).toBe(6);
    for (const bad of ["172.18.0.0", "172.18.0.0/33", "1.2.3.4/8 -j ACCEPT", "-s 0.0.0.0/0", ""]) expect(validSubnet(bad)).toBe(0);
  });

  it("applies, jumps from INPUT once, skips an unchanged rule set, and removes everything on close", async () => {
    const { exec, calls } = fakeExec();
    const fw = new IptablesFirewall({ instanceID: "abc123", logger: nopLogger, exec });
    await fw.isolate(["172.20.0.0/16", "bogus; rm -rf /"], [8080]);
    expect(fw.state()).toBe("on");
    const restore = calls.find((c) => c.cmd === "iptables-restore");
    expect(restore?.args).toEqual(["-w", "5", "--noflush"]);
    expect(restore?.stdin).toContain("-s 172.20.0.0/16");
    expect(restore?.stdin).not.toContain("bogus");
    expect(calls.some((c) => c.cmd === "iptables" && c.args.join(" ") === "-w 5 -I INPUT 1 -j DEPLOYKIT-abc123")).toBe(true);
    expect(calls.some((c) => c.cmd.startsWith("ip6tables"))).toBe(false);

    const before = calls.length;
    await fw.isolate(["172.20.0.0/16"], [8080]);
    expect(calls.length).toBe(before);

    await fw.close();
    expect(calls.slice(before).map((c) => `${c.cmd} ${c.args.slice(2).join(" ")}`)).toEqual(
      expect.arrayContaining(["iptables -D INPUT -j DEPLOYKIT-abc123", "iptables -F DEPLOYKIT-abc123", "iptables -X DEPLOYKIT-abc123"]),
    );
    expect(fw.state()).toBe("off: closed");
  });

  it("a tool that exits without reading its input is an exit code, not an EPIPE that crashes the daemon", async () => {
    expect(await execTool("true", [], "x".repeat(4 * 1024 * 1024))).toEqual({ code: 0, stderr: "" });
    expect((await execTool("false", [])).code).toBe(1);
    expect((await execTool("/nonexistent/iptables", [])).code).not.toBe(0);
  });

  it("without iptables or privilege, isolation is off and says why instead of failing the daemon", async () => {
    const { exec } = fakeExec(true);
    const fw = new IptablesFirewall({ instanceID: "abc", logger: nopLogger, exec });
    await fw.isolate(["172.20.0.0/16"], [8080]);
    expect(fw.state()).toMatch(/^off: iptables-restore: Permission denied/);
  });
});
