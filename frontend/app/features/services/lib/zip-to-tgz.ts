/**
 * A dropped .zip becomes the gzip tarball the uploads route takes, in the browser: the zip's central
 * directory is read, each entry inflated with DecompressionStream("deflate-raw"), written as a
 * ustar entry (a PAX record for long names), and the whole gzipped with CompressionStream. No
 * library; zip64 and encrypted archives are refused with a message.
 *
 * When every entry sits under one top-level folder (GitHub's "Download ZIP", a compressed folder),
 * that folder is the root. `__MACOSX/` resource forks are left out.
 */

export class ArchiveError extends Error {}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  localOffset: number;
  mode: number;
  mtime: number;
  dir: boolean;
  symlink: boolean;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

function readEntries(buf: Uint8Array): ZipEntry[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ArchiveError("Not a zip archive (no central directory).");
  const count = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  if (count === 0xffff || p === 0xffffffff) throw new ArchiveError("Zip64 archives are not supported: upload a .tar.gz instead.");
  const names = new TextDecoder();
  const out: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || view.getUint32(p, true) !== 0x02014b50) throw new ArchiveError("Corrupt zip central directory.");
    const madeBy = view.getUint16(p + 4, true) >> 8;
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const dosTime = view.getUint16(p + 12, true);
    const dosDate = view.getUint16(p + 14, true);
    const compressedSize = view.getUint32(p + 20, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const external = view.getUint32(p + 38, true);
    const localOffset = view.getUint32(p + 42, true);
    const name = names.decode(buf.subarray(p + 46, p + 46 + nameLen)).replace(/\\/g, "/");
    p += 46 + nameLen + extraLen + commentLen;
    if (flags & 1) throw new ArchiveError(`${name} is encrypted: upload an unencrypted archive.`);
    if (compressedSize === 0xffffffff || localOffset === 0xffffffff)
      throw new ArchiveError("Zip64 archives are not supported: upload a .tar.gz instead.");
    const unixMode = madeBy === 3 ? external >>> 16 : 0;
    const dir = name.endsWith("/");
    const mtime =
      Date.UTC(1980 + (dosDate >> 9), ((dosDate >> 5) & 15) - 1, dosDate & 31, dosTime >> 11, (dosTime >> 5) & 63, (dosTime & 31) * 2) /
      1000;
    out.push({
      name,
      method,
      compressedSize,
      localOffset,
      mode: unixMode & 0o7777 || (dir ? 0o755 : 0o644),
      mtime: Number.isFinite(mtime) ? mtime : 0,
      dir,
      symlink: (unixMode & S_IFMT) === S_IFLNK,
    });
  }
  return out;
}

async function entryData(buf: Uint8Array, e: ZipEntry): Promise<Uint8Array> {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getUint32(e.localOffset, true) !== 0x04034b50) throw new ArchiveError(`Corrupt zip entry ${e.name}.`);
  const start = e.localOffset + 30 + view.getUint16(e.localOffset + 26, true) + view.getUint16(e.localOffset + 28, true);
  const raw = buf.subarray(start, start + e.compressedSize);
  if (e.method === 0) return raw;
  if (e.method !== 8) throw new ArchiveError(`${e.name} uses an unsupported zip compression (method ${e.method}).`);
  const stream = new Blob([raw as BlobPart]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Archive paths relative to the root, or null for entries to leave out; throws on a path that leaves the root. */
function relativeNames(entries: ZipEntry[]): (string | null)[] {
  const kept = entries.map((e) => (e.name.startsWith("__MACOSX/") || e.name.split("/").includes(".DS_Store") ? null : e.name));
  for (const n of kept) {
    if (n === null) continue;
    const parts = n.split("/").filter((s) => s !== "");
    if (n.startsWith("/") || /^[A-Za-z]:/.test(n) || parts.includes("..")) throw new ArchiveError(`${n}: a path outside the archive.`);
  }
  const tops = new Set(kept.filter((n): n is string => n !== null).map((n) => n.split("/")[0]));
  const [top] = tops;
  const strip = tops.size === 1 && kept.every((n) => n === null || n.startsWith(`${top}/`)) ? `${top}/` : "";
  return kept.map((n) => {
    if (n === null) return null;
    const rel = n.slice(strip.length).replace(/^\.\//, "");
    return rel === "" || rel === "/" ? null : rel;
  });
}

const enc = new TextEncoder();

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, "0")}\0`;
}

function header(name: string, opts: { size: number; mode: number; mtime: number; type: string; link?: string }): Uint8Array {
  const h = new Uint8Array(512);
  const put = (s: string | Uint8Array, at: number, len: number) => h.set((typeof s === "string" ? enc.encode(s) : s).subarray(0, len), at);
  put(name, 0, 100);
  put(octal(opts.mode, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(opts.size, 12), 124, 12);
  put(octal(Math.max(0, Math.floor(opts.mtime)), 12), 136, 12);
  put("        ", 148, 8);
  put(opts.type, 156, 1);
  if (opts.link) put(opts.link, 157, 100);
  put("ustar\u000000", 257, 8);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  return h;
}

function pad(n: number): Uint8Array {
  return new Uint8Array((512 - (n % 512)) % 512);
}

/** A PAX extended header carrying what ustar cannot hold (names or link targets over 100 bytes). */
function pax(records: Record<string, string>, mtime: number): Uint8Array[] {
  let body = "";
  for (const [k, v] of Object.entries(records)) {
    const rec = ` ${k}=${v}\n`;
    let len = enc.encode(rec).length + 1;
    len += String(len + String(len).length - 1).length - 1;
    body += `${len}${rec}`;
  }
  const data = enc.encode(body);
  return [header("PaxHeader", { size: data.length, mode: 0o644, mtime, type: "x" }), data, pad(data.length)];
}

/** Converts a zip archive to a gzip-compressed tarball. */
export async function zipToTarGz(zip: Blob): Promise<Blob> {
  const buf = new Uint8Array(await zip.arrayBuffer());
  const entries = readEntries(buf);
  const names = relativeNames(entries);
  const parts: Uint8Array[] = [];
  for (const [i, e] of entries.entries()) {
    const name = names[i];
    if (!name) continue;
    const data = e.dir ? new Uint8Array(0) : await entryData(buf, e);
    const link = e.symlink ? new TextDecoder().decode(data) : undefined;
    const long: Record<string, string> = {};
    if (enc.encode(name).length > 100) long.path = name;
    if (link && enc.encode(link).length > 100) long.linkpath = link;
    if (Object.keys(long).length > 0) parts.push(...pax(long, e.mtime));
    const type = e.dir ? "5" : e.symlink ? "2" : "0";
    const size = e.dir || e.symlink ? 0 : data.length;
    parts.push(header(name, { size, mode: e.mode, mtime: e.mtime, type, link }));
    if (size > 0) parts.push(data, pad(size));
  }
  parts.push(new Uint8Array(1024));
  const tar = new Blob(parts as BlobPart[]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Response(tar).blob();
}
