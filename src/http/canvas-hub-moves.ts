import type * as deploykit from "../index.ts";

/**
 * Write-behind for node moves. A drag sends a move every few milliseconds; peers get each one at
 * once, while the database gets the latest position per node every `delayMs` (one transaction,
 * one fsync) instead of one per message. Reads of the canvas flush first, and an upsert or delete
 * of a node drops its pending move so an older position never lands after a newer write.
 */
export class MoveWriter {
  private readonly pending = new Map<string, Map<string, deploykit.NodePosition>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly writes = new Map<string, Promise<void>>();
  private readonly canvas: Pick<deploykit.CanvasService, "moveNodes">;
  private readonly logger: deploykit.Logger;
  private readonly delayMs: number;

  constructor(canvas: Pick<deploykit.CanvasService, "moveNodes">, logger: deploykit.Logger, delayMs: number) {
    this.canvas = canvas;
    this.logger = logger;
    this.delayMs = delayMs;
  }

  add(projectID: string, positions: deploykit.NodePosition[]): void {
    let m = this.pending.get(projectID);
    if (!m) {
      m = new Map();
      this.pending.set(projectID, m);
    }
    for (const p of positions) m.set(p.id, p);
    if (!this.timers.has(projectID)) {
      this.timers.set(
        projectID,
        setTimeout(() => void this.flush(projectID), this.delayMs),
      );
    }
  }

  /** Drops a node's pending move (it is being replaced or deleted by a newer write). */
  forget(projectID: string, nodeID: string): void {
    this.pending.get(projectID)?.delete(nodeID);
  }

  /** Writes what is pending for the project and waits for every earlier write. */
  async flush(projectID: string): Promise<void> {
    const timer = this.timers.get(projectID);
    if (timer) clearTimeout(timer);
    this.timers.delete(projectID);
    const batch = [...(this.pending.get(projectID)?.values() ?? [])];
    this.pending.delete(projectID);
    const previous = this.writes.get(projectID) ?? Promise.resolve();
    if (batch.length === 0) return previous;
    const write = previous
      .then(() => this.canvas.moveNodes(projectID, batch))
      .then(
        () => {},
        (err) => this.logger.error({ err, project_id: projectID, nodes: batch.length }, "saving node positions failed"),
      );
    this.writes.set(projectID, write);
    await write;
    if (this.writes.get(projectID) === write) this.writes.delete(projectID);
  }

  async flushAll(): Promise<void> {
    await Promise.all([...new Set([...this.pending.keys(), ...this.writes.keys()])].map((p) => this.flush(p)));
  }
}
