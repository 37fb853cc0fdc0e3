import { mkdtemp, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";
import { afterAll, describe, expect, it } from "vitest";
import { makeZip } from "../../../../../test/harness/zip.ts";
import { ArchiveError, zipToTarGz } from "./zip-to-tgz.ts";

const root = await mkdtemp(join(tmpdir(), "dk-zip-"));
afterAll(() => rm(root, { recursive: true, force: true }));
let n = 0;

/** Converts, then extracts the tarball with the tar package (what the server uses) into a fresh dir. */
async function mustExtract(zip: Blob): Promise<string> {
  const tgz = await zipToTarGz(zip);
  const file = join(root, `${n}.tgz`);
  await writeFile(file, Buffer.from(await tgz.arrayBuffer()));
  const dir = join(root, String(n++));
  await import("node:fs/promises").then((fs) => fs.mkdir(dir));
  await tar.x({ file, cwd: dir, strict: true });
  return dir;
}

describe("zipToTarGz", () => {
  it("keeps contents, directories and executable bits; stored and deflated entries alike", async () => {
    const dir = await mustExtract(
      makeZip([
        { name: "index.html", data: "<h1>hi</h1>\n" },
        { name: "css/", mode: 0o755 },
        { name: "css/site.css", data: "body { color: red }\n".repeat(50), deflate: true },
        { name: "run.sh", data: "#!/bin/sh\necho ok\n", mode: 0o755, deflate: true },
        { name: "latest", data: "index.html", symlink: true },
      ]),
    );
    expect(await readFile(join(dir, "index.html"), "utf8")).toBe("<h1>hi</h1>\n");
    expect(await readFile(join(dir, "css/site.css"), "utf8")).toBe("body { color: red }\n".repeat(50));
    expect((await stat(join(dir, "run.sh"))).mode & 0o111).not.toBe(0);
    expect((await stat(join(dir, "index.html"))).mode & 0o111).toBe(0);
    expect(await readlink(join(dir, "latest"))).toBe("index.html");
  });

  it("makes the single top-level folder the root and leaves out __MACOSX", async () => {
    const dir = await mustExtract(
      makeZip([
        { name: "web-main/" },
        { name: "web-main/package.json", data: "{}" },
        { name: "web-main/src/index.js", data: "x", deflate: true },
        { name: "__MACOSX/web-main/._package.json", data: "junk" },
      ]),
    );
    expect(await readFile(join(dir, "package.json"), "utf8")).toBe("{}");
    expect(await readFile(join(dir, "src/index.js"), "utf8")).toBe("x");
    await expect(stat(join(dir, "__MACOSX"))).rejects.toThrow();
    await expect(stat(join(dir, "web-main"))).rejects.toThrow();
  });

  it("carries names longer than ustar's 100 bytes in a PAX header", async () => {
    const long = `${"deep/".repeat(30)}file.txt`;
    const dir = await mustExtract(
      makeZip([
        { name: long, data: "deep" },
        { name: "a.txt", data: "a" },
      ]),
    );
    expect(await readFile(join(dir, long), "utf8")).toBe("deep");
  });

  it.each([
    [makeZip([{ name: "../evil.sh", data: "x" }]), /outside the archive/],
    [makeZip([{ name: "/etc/cron.d/x", data: "x" }]), /outside the archive/],
    [new Blob(["not a zip at all"]), /Not a zip archive/],
  ])("refuses %#", async (zip, message) => {
    await expect(zipToTarGz(zip)).rejects.toThrow(ArchiveError);
    await expect(zipToTarGz(zip)).rejects.toThrow(message);
  });
});
