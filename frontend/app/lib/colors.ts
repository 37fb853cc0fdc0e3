/** Eight fixed user colours (cursors, avatars), picked by a 32-bit hash of the user id. */
export const USER_COLORS = ["#f97316", "#22c55e", "#3b82f6", "#a855f7", "#ec4899", "#14b8a6", "#eab308", "#ef4444"] as const;

/** FNV-1a, 32 bit: stable across sessions and browsers. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function userColor(userID: string): string {
  return USER_COLORS[hashString(userID) % USER_COLORS.length] as string;
}

/** Colours for container ids in the log view (distinct from user colours, readable on dark). */
export const CONTAINER_COLORS = ["#38bdf8", "#a3e635", "#fbbf24", "#c084fc", "#f472b6", "#2dd4bf"] as const;

export function containerColor(containerID: string): string {
  return CONTAINER_COLORS[hashString(containerID) % CONTAINER_COLORS.length] as string;
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return "?";
  const first = parts[0]?.[0] ?? "";
  const last = parts.length > 1 ? (parts[parts.length - 1]?.[0] ?? "") : "";
  return (first + last).toUpperCase();
}
