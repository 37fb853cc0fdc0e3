/** Small validation helpers shared by the domain input validators. */

/** Byte length of a string in UTF-8, without any runtime library. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

export function isBlank(s: string | undefined | null): boolean {
  return s === undefined || s === null || s.trim() === "";
}

/** True for strings that contain a NUL or other C0 control character except tab/newline. */
export function hasControlChars(s: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: detecting them is the point
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s);
}

export const MAX_NAME_LENGTH = 200;
