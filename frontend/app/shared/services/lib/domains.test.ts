import { describe, expect, it } from "vitest";
import type { ServiceDomain } from "../../../../../src/domains.ts";
import type { PendingChange } from "../../../../../src/pending-change.ts";
import {
  dnsRecords,
  drainSecondsError,
  healthcheckPathError,
  healthcheckTimeoutError,
  hostnameError,
  primaryURL,
  publicAddressFrom,
  stagedDomains,
  stagedLabel,
} from "./domains.ts";

function domain(hostname: string, status: ServiceDomain["status"]): ServiceDomain {
  return {
    id: `d-${hostname}`,
    project_id: "p1",
    service_id: "s1",
    hostname,
    target_port: 8080,
    generated: false,
    status,
    tls: "acme",
    cert_issuer: null,
    cert_expires_at: null,
    last_error: null,
    created_at: "",
  };
}

function change(op: string, fields: Partial<PendingChange>): PendingChange {
  return {
    id: `c-${Math.random()}`,
    project_id: "p1",
    seq: 1,
    op: op as PendingChange["op"],
    target_type: "service",
    payload: {},
    created_at: "",
    ...fields,
  } as PendingChange;
}

describe("primaryURL", () => {
  it("is the first active domain, else the first one, else none", () => {
    expect(primaryURL([])).toBeNull();
    expect(primaryURL(undefined)).toBeNull();
    expect(primaryURL([domain("a.example.com", "pending"), domain("b.example.com", "active")])).toBe("https://b.example.com");
    expect(primaryURL([domain("a.example.com", "error"), domain("b.example.com", "pending")])).toBe("https://a.example.com");
  });
});

describe("hostnameError", () => {
  it.each(["app.example.com", "App.Example.COM", "a-b.example.co.uk", "web.localhost", "example.com."])("accepts %s", (h) => {
    expect(hostnameError(h)).toBeNull();
  });
  it.each([
    ["", /Enter a hostname/],
    ["*.example.com", /Wildcard/],
    ["https://app.example.com", /no scheme/],
    ["app", /full name/],
    ["-app.example.com", /hyphens/],
    ["app_1.example.com", /hyphens/],
    [`${"a".repeat(64)}.example.com`, /hyphens/],
  ])("refuses %j", (h, msg) => {
    expect(hostnameError(h)).toMatch(msg);
  });
});

describe("dnsRecords", () => {
  it("an A record to the public address, and a CNAME to the base domain as the alternative", () => {
    expect(dnsRecords("App.Example.com", { baseDomain: "apps.host.net", publicAddress: "203.0.113.7" })).toEqual([
      { type: "A", name: "app.example.com", value: "203.0.113.7" },
      { type: "CNAME", name: "app.example.com", value: "apps.host.net" },
    ]);
  });
  it("AAAA for an IPv6 address; words when the address is unknown; no CNAME inside the base domain", () => {
    expect(dnsRecords("x.example.com", { publicAddress: "2001:db8::1" })).toEqual([
      { type: "AAAA", name: "x.example.com", value: "2001:db8::1" },
    ]);
    expect(dnsRecords("web.apps.host.net", { baseDomain: "apps.host.net" })).toEqual([
      { type: "A", name: "web.apps.host.net", value: "this server's public IP address" },
    ]);
  });
  it("none for names the internal CA signs", () => {
    expect(dnsRecords("web.localhost", {})).toEqual([]);
    expect(dnsRecords("10.0.0.5", {})).toEqual([]);
    expect(dnsRecords("intra.corp", { internal: ["intra.corp"] })).toEqual([]);
  });
});

describe("publicAddressFrom", () => {
  it("uses the browser's address only when it is a public IP", () => {
    expect(publicAddressFrom("203.0.113.7")).toBe("203.0.113.7");
    expect(publicAddressFrom("[2001:db8::1]")).toBe("2001:db8::1");
    expect(publicAddressFrom("deploy.example.com")).toBeNull();
    expect(publicAddressFrom("127.0.0.1")).toBeNull();
    expect(publicAddressFrom("192.168.1.10")).toBeNull();
    expect(publicAddressFrom("172.20.0.1")).toBeNull();
    expect(publicAddressFrom("::1")).toBeNull();
  });
});

describe("stagedDomains", () => {
  it("collects this service's staged adds and removals", () => {
    const add = change("domain.create", { target_id: "s1", payload: { hostname: "a.example.com", target_port: 80 } });
    const gen = change("domain.create", { target_id: "s1", payload: { generate: true } });
    const other = change("domain.create", { target_id: "s2", payload: { hostname: "b.example.com" } });
    const del = change("domain.delete", {
      target_type: "domain" as PendingChange["target_type"],
      target_id: "d1",
      payload: { service_id: "s1" },
    });
    const upd = change("service.update", { target_id: "s1", payload: { image: "x" } });
    const r = stagedDomains([add, gen, other, del, upd], "s1");
    expect(r.adds).toEqual([add, gen]);
    expect([...r.removes]).toEqual(["d1"]);
    expect(stagedLabel(add)).toBe("a.example.com");
    expect(stagedLabel(gen)).toBe("generated domain");
  });
});

describe("health check fields", () => {
  it.each([
    ["", null],
    ["/healthz", null],
    ["healthz", /must start with \//],
    ["/a b", /cannot contain spaces/],
    [`/${"a".repeat(512)}`, /512/],
  ])("path %j", (p, want) => {
    const err = healthcheckPathError(p);
    if (want === null) expect(err).toBeNull();
    else expect(err).toMatch(want);
  });
  it("timeout from 1 to 3600 whole seconds", () => {
    expect(healthcheckTimeoutError("60")).toBeNull();
    expect(healthcheckTimeoutError("3600")).toBeNull();
    for (const bad of ["", "0", "3601", "1.5", "x"]) expect(healthcheckTimeoutError(bad)).not.toBeNull();
  });

  it.for(["0", "5", "300"])("accepts drain time %s", (ok) => {
    expect(drainSecondsError(ok)).toBeNull();
  });

  it.for(["", "-1", "301", "1.5", "x"])("refuses drain time %j with the server's message", (bad) => {
    expect(drainSecondsError(bad)).toBe("Drain time must be a whole number of seconds between 0 and 300.");
  });
});
