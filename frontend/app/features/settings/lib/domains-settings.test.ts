import { describe, expect, it } from "vitest";
import { directoryChoice, LETS_ENCRYPT_PRODUCTION, LETS_ENCRYPT_STAGING, listLines } from "./domains-settings.ts";

describe("ACME directory choice", () => {
  it("names Let's Encrypt's two directories and treats anything else as custom", () => {
    expect(directoryChoice(LETS_ENCRYPT_PRODUCTION)).toBe("production");
    expect(directoryChoice("")).toBe("production");
    expect(directoryChoice(LETS_ENCRYPT_STAGING)).toBe("staging");
    expect(directoryChoice("https://pebble:14000/dir")).toBe("custom");
  });
});

describe("listLines", () => {
  it("splits on lines and commas, trims, lower-cases and drops blanks", () => {
    expect(listLines(" Intranet.corp \n\nwiki.lan, A.B\n")).toEqual(["intranet.corp", "wiki.lan", "a.b"]);
    expect(listLines("")).toEqual([]);
  });
});
