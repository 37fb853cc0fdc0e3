/**
 * The hostile-input table (reliability catalogue B01–B12): every string payload tries to create
 * `canary` through a shell, a path, a template or an option, so a test only has to check that the
 * file never appears.
 */
export function hostileStrings(canary: string): string[] {
  return [
    `; touch ${canary}`,
    `$(touch ${canary})`,
    `\`touch ${canary}\``,
    `| touch ${canary}`,
    `&& touch ${canary}`,
    `x\ntouch ${canary}`,
    `x\r\ntouch ${canary}`,
    `\${IFS}touch\${IFS}${canary}`,
    `"; touch ${canary} #`,
    `'; touch ${canary}; '`,
    `{{ touch ${canary} }}`,
    `../../../../../../${canary}`,
    "../../../../etc/passwd",
    "/etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "..\\..\\windows",
    "/var/run/docker.sock:/var/run/docker.sock",
    "-v /:/host alpine",
    "--privileged",
    "--network=host",
    "-rf",
    "a\u0000b",
    "\u0000",
    "\u202Eevil",
    "аpp", // Cyrillic а
    "ａdmin", // full-width a
    "café",
    "cafe\u0301",
    "\ud800",
    "😀".repeat(50),
    "<img src=x onerror=alert(1)>",
    "\u001b]0;pwn\u0007",
    "%00",
    "__proto__",
    "constructor",
    "",
    " ",
    "A".repeat(300),
    "x".repeat(70_000),
    "localhost:2375/x",
    "169.254.169.254/latest",
    "alpine@sha256:xyz",
    "ALPINE",
  ];
}

/** Non-string values for any field: wrong types, extremes, pollution keys. */
export const hostileValues: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  65536,
  2 ** 53 + 1,
  [],
  [1, 2, 3],
  {},
  { __proto__: { polluted: 1 } },
  JSON.parse('{"__proto__":{"polluted":1}}'),
  { constructor: { prototype: { polluted: 1 } } },
  [{ key: "A", value: "$(id)" }],
  Array.from({ length: 5000 }, (_, i) => i),
];

/** Whole request bodies that are hostile as a whole (raw text with a content type). */
export function hostileBodies(): { name: string; raw: string | Buffer; type: string }[] {
  const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
  const deepObj = (n: number) => '{"a":'.repeat(n) + "1" + "}".repeat(n);
  return [
    { name: "truncated JSON", raw: '{"name":', type: "application/json" },
    { name: "not JSON", raw: "name=x", type: "application/json" },
    { name: "invalid UTF-8", raw: Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), type: "application/json" },
    { name: "JSON array", raw: "[1,2,3]", type: "application/json" },
    { name: "JSON string", raw: '"x"', type: "application/json" },
    { name: "JSON null", raw: "null", type: "application/json" },
    { name: "duplicate keys", raw: '{"name":"a","name":"b","role":"member","role":"admin"}', type: "application/json" },
    { name: "__proto__ key", raw: '{"name":"x","__proto__":{"polluted":1}}', type: "application/json" },
    { name: "constructor.prototype", raw: '{"name":"x","constructor":{"prototype":{"polluted":1}}}', type: "application/json" },
    { name: "array nested 100k deep", raw: deep(100_000), type: "application/json" },
    { name: "object nested 50k deep", raw: deepObj(50_000), type: "application/json" },
    { name: "100k keys", raw: `{${Array.from({ length: 100_000 }, (_, i) => `"k${i}":1`).join(",")}}`, type: "application/json" },
    { name: "2 MB body", raw: JSON.stringify({ name: "x".repeat(2 * 1024 * 1024) }), type: "application/json" },
    { name: "text/plain", raw: '{"name":"x"}', type: "text/plain" },
    { name: "form-urlencoded", raw: "name=x&role=admin", type: "application/x-www-form-urlencoded" },
    {
      name: "multipart",
      raw: '--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n',
      type: "multipart/form-data; boundary=b",
    },
  ];
}
