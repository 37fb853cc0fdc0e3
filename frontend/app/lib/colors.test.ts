import { describe, expect, it } from "vitest";
import { CONTAINER_COLORS, containerColor, hashString, initials, USER_COLORS, userColor } from "./colors.ts";

describe("colour hashing", () => {
  it("is stable and known for fixed inputs (FNV-1a)", () => {
    expect(hashString("")).toBe(0x811c9dc5);
    expect(hashString("a")).toBe(0xe40c292c);
    expect(hashString("foobar")).toBe(0xbf9cf968);
  });

  it("maps a user id to one of the eight palette colours, the same every time", () => {
    const id = "4f1c2a9e-1111-4222-8333-944455556666";
    expect(USER_COLORS).toContain(userColor(id));
    expect(userColor(id)).toBe(userColor(`${id}`));
    expect(CONTAINER_COLORS).toContain(containerColor("abcdef012345"));
  });

  it("spreads many ids over the whole palette", () => {
    const used = new Set(Array.from({ length: 200 }, (_, i) => userColor(`user-${i}`)));
    expect(used.size).toBe(USER_COLORS.length);
  });

  it.each([
    ["Ada Lovelace", "AL"],
    ["  grace  ", "G"],
    ["Jean Claude van Damme", "JD"],
    ["", "?"],
  ])("initials(%j) = %s", (name, want) => {
    expect(initials(name)).toBe(want);
  });
});
