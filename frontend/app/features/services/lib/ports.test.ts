import { describe, expect, it } from "vitest";
import { portsFromRows, toPortRows } from "./ports.ts";

describe("ports rows", () => {
  it("round-trips every port with protocol and optional public port", () => {
    const ports = [
      { container_port: 80, host_port: 8080, protocol: "tcp" as const },
      { container_port: 9000, protocol: "tcp" as const },
      { container_port: 53, host_port: 5353, protocol: "udp" as const },
    ];
    expect(portsFromRows(toPortRows(ports))).toEqual({ ports });
  });

  it("drops empty rows and names the first bad one", () => {
    expect(portsFromRows([{ container: "", host: "", protocol: "tcp" }])).toEqual({ ports: [] });
    expect(portsFromRows([{ container: "", host: "80", protocol: "tcp" }]).error).toEqual({
      row: 0,
      message: "Set the container port to publish it.",
    });
    expect(portsFromRows([{ container: "70000", host: "", protocol: "tcp" }]).error?.message).toMatch(/between 1 and 65535/);
    const dup = portsFromRows([
      { container: "80", host: "8080", protocol: "tcp" },
      { container: "81", host: "8080", protocol: "tcp" },
    ]);
    expect(dup.error).toEqual({ row: 1, message: "Public port 8080/tcp is used twice." });
    // The same number over UDP is another port.
    expect(
      portsFromRows([
        { container: "80", host: "8080", protocol: "tcp" },
        { container: "80", host: "8080", protocol: "udp" },
      ]).error,
    ).toBeUndefined();
  });
});
