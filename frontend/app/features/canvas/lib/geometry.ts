/** Geometry for floating edges: where the line between two boxes' centres leaves each box. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Side = "top" | "right" | "bottom" | "left";

/** Intersection of the segment from `a`'s centre to `b`'s centre with `a`'s border. */
export function borderPoint(a: Box, b: Box): { x: number; y: number } {
  const w = a.width / 2;
  const h = a.height / 2;
  const cx = a.x + w;
  const cy = a.y + h;
  const tx = b.x + b.width / 2;
  const ty = b.y + b.height / 2;
  const dx = tx - cx;
  const dy = ty - cy;
  if ((dx === 0 && dy === 0) || w === 0 || h === 0) return { x: cx, y: cy };
  const scale = 1 / Math.max(Math.abs(dx) / w, Math.abs(dy) / h);
  return { x: cx + dx * scale, y: cy + dy * scale };
}

/** Which side of `box` a border point lies on. */
export function sideOf(box: Box, p: { x: number; y: number }): Side {
  const eps = 1;
  if (p.x <= box.x + eps) return "left";
  if (p.x >= box.x + box.width - eps) return "right";
  if (p.y <= box.y + eps) return "top";
  return "bottom";
}

/** The last group (in list order) whose box contains the point, excluding `exceptID`. */
export function groupAt<T extends Box & { id: string }>(groups: readonly T[], p: { x: number; y: number }, exceptID?: string): T | null {
  let hit: T | null = null;
  for (const g of groups) {
    if (g.id === exceptID) continue;
    if (p.x >= g.x && p.x <= g.x + g.width && p.y >= g.y && p.y <= g.y + g.height) hit = g;
  }
  return hit;
}
