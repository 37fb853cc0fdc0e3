import { describe, expect, it } from "vitest";
import { FieldErrorCollector } from "./errors.ts";
import { addressClass, imageRegistry, parseIPv4, registryRefusal, validateRegistryAllowlist } from "./registry.ts";

const none = { allowlist: [], hostAddresses: [] };

describe("imageRegistry (Docker's split of a reference)", () => {
  it.each([
    ["nginx:1.27", null],
    ["library/nginx", null],
    ["localhost", null],
    ["localhost:5000", null],
    ["localhost/x", "localhost"],
    ["LOCALHOST/x", "LOCALHOST"],
    ["ghcr.io/org/app:tag", "ghcr.io"],
    ["127.0.0.1:9/a/b:1", "127.0.0.1:9"],
    ["[::1]:5000/x", "[::1]:5000"],
  ])("%s → %s", (image, registry) => expect(imageRegistry(image)).toBe(registry));
});

describe("parseIPv4 reads what a resolver reads", () => {
  it.each([
    ["127.0.0.1", [127, 0, 0, 1]],
    ["127.1", [127, 0, 0, 1]],
    ["2130706433", [127, 0, 0, 1]],
    ["0x7f.1", [127, 0, 0, 1]],
    ["0177.0.0.01", [127, 0, 0, 1]],
    ["10.1.65535", [10, 1, 255, 255]],
    ["256.0.0.1", null],
    ["1.2.3.4.5", null],
    ["registry", null],
    ["1..2", null],
  ])("%s", (s, want) => expect(parseIPv4(s)).toEqual(want));
});

describe("registryRefusal (C08)", () => {
  // The catalogue's references first, then the spellings that reach the same places.
  it.each([
    ["127.0.0.1:2375/x", "a loopback address"],
    ["localhost:3000/x", "a loopback address"],
    ["169.254.169.254/latest", "a link-local address"],
    ["10.0.0.1:5000/x", "a private address"],
    ["[::1]:5000/x", "a loopback address"],
    ["172.16.0.1/x", "a private address"],
    ["172.31.255.255/x", "a private address"],
    ["192.168.1.1:5000/x", "a private address"],
    ["100.64.0.1/x", "a private address"],
    ["[fd00::1]:5000/x", "a private address"],
    ["[fe80::1]/x", "a link-local address"],
    ["[::ffff:127.0.0.1]/x", "a loopback address"],
    ["[::]:5000/x", "an unspecified address"],
    ["0.0.0.0:5000/x", "an unspecified address"],
    ["127.1:5000/x", "a loopback address"],
    ["2130706433:5000/x", "a loopback address"],
    ["0x7f.1/x", "a loopback address"],
    ["LOCALHOST/x", "a loopback address"],
    ["reg.localhost:5000/x", "a loopback address"],
    ["127.0.0.1.:5000/x", "a loopback address"],
  ])("refuses %s as %s", (image, kind) => {
    expect(registryRefusal(image, none)).toContain(`is ${kind};`);
  });

  it.each([
    "nginx:1.27",
    "library/nginx:latest",
    "localhost:5000",
    "ghcr.io/org/app:tag",
    "registry.example.com:5000/x",
    "8.8.8.8/x",
    "172.32.0.1/x",
    "100.128.0.1/x",
  ])("lets %s through", (image) => {
    expect(registryRefusal(image, none)).toBeNull();
  });

  it("refuses the host's own addresses and name, however they are spelled", () => {
    const policy = { allowlist: [], hostAddresses: ["203.0.113.7", "2001:db8::7", "buildhost"] };
    for (const image of ["203.0.113.7:3000/x", "[2001:db8:0:0::7]:3000/x", "buildhost.:3000/x", "BuildHost/x", "0xcb.0.113.7/x"])
      expect(registryRefusal(image, policy), image).toContain("is this host's own address;");
    expect(registryRefusal("203.0.113.8:3000/x", policy)).toBeNull();
  });

  it("lets an allow-listed registry through: the host for any port, host:port for that port only", () => {
    const policy = { allowlist: ["127.0.0.1:9", "registry.localhost", "10.0.0.5"], hostAddresses: ["10.0.0.5"] };
    expect(registryRefusal("127.0.0.1:9/x", policy)).toBeNull();
    expect(registryRefusal("127.0.0.1:10/x", policy)).toContain("loopback");
    expect(registryRefusal("127.0.0.1/x", policy)).toContain("loopback");
    expect(registryRefusal("registry.localhost:5000/x", policy)).toBeNull();
    expect(registryRefusal("10.0.0.5:5000/x", policy)).toBeNull();
  });

  it("says what to do", () => {
    expect(registryRefusal("10.0.0.1:5000/x", none)).toBe(
      'Registry "10.0.0.1:5000" is a private address; DeployKit does not pull from loopback, link-local, private or this host\'s own addresses unless an admin adds the registry to the allow-list in Settings.',
    );
  });

  it("classifies names it cannot resolve as public", () => {
    expect(addressClass("registry.internal")).toBeNull();
  });
});

describe("validateRegistryAllowlist", () => {
  it.each([
    [["registry.lan", "10.0.0.5:5000", " LOCALHOST:5000 "], {}],
    ["registry.lan", { registry_allowlist: ["The registry allow-list must be a list."] }],
    [["http://registry.lan"], { "registry_allowlist[0]": [expect.stringContaining("registry host")] }],
    [
      ["a/b", "ok", "x:70000", 5],
      {
        "registry_allowlist[0]": [expect.any(String)],
        "registry_allowlist[2]": [expect.any(String)],
        "registry_allowlist[3]": [expect.any(String)],
      },
    ],
    [Array(51).fill("a"), { registry_allowlist: ["The registry allow-list holds at most 50 entries."] }],
  ])("%j", (list, fields) => {
    const v = new FieldErrorCollector();
    validateRegistryAllowlist(list, v);
    expect(v.fields).toEqual(fields);
  });
});
