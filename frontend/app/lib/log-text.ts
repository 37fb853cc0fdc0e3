/**
 * Container output as inert display text. Log lines are written by whatever runs in a container, so
 * they are attacker-controlled: terminal escape sequences (colours, `ESC ] 0 ; title BEL`, cursor
 * moves) are removed, and every other control character is shown as a visible symbol (`\r` as `␍`,
 * ESC as `␛`, C1 controls as `<U+009B>`-style text) so nothing can move the cursor, overwrite a line
 * or fake one. The result is plain text; React puts it into the DOM as a text node, so HTML such as
 * `<img src=x onerror=…>` is shown, never parsed.
 */

// CSI (ESC [ … final byte), OSC (ESC ] … BEL or ESC \), other ESC-introduced strings (DCS, SOS,
// PM, APC up to ST) and two-byte escapes; the 8-bit forms of CSI (U+009B) and OSC (U+009D) too.
const ESCAPES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  /\u001b\[[0-?]*[ -/]*[@-~]|\u009b[0-?]*[ -/]*[@-~]|(?:\u001b\]|\u009d)[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?|\u001b[PX^_][^\u001b\u009c]*(?:\u001b\\|\u009c)?|\u001b[ -/]*[0-~]/g;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function visible(c: string): string {
  const code = c.charCodeAt(0);
  if (code < 0x20) return String.fromCharCode(0x2400 + code);
  if (code === 0x7f) return "\u2421";
  return `<U+${code.toString(16).toUpperCase().padStart(4, "0")}>`;
}

/** One log line as text that displays exactly what it is and does nothing else. */
export function inertLogText(line: string): string {
  return line.replace(ESCAPES, "").replace(CONTROLS, visible);
}
