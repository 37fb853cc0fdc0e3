/**
 * WebSockets per client address that have not authenticated yet (canvas and shell sockets): anyone
 * may open one before authenticating, but one address may not hold hundreds open.
 */
export class UnauthenticatedSockets {
  readonly #count = new Map<string, number>();

  /** The address already holds `max`: its next upgrade is refused (429). */
  full(address: string, max: number): boolean {
    return (this.#count.get(address) ?? 0) >= max;
  }

  /** Counts one more socket of the address; the returned function uncounts it (once). */
  add(address: string): () => void {
    this.#count.set(address, (this.#count.get(address) ?? 0) + 1);
    let counted = true;
    return () => {
      if (!counted) return;
      counted = false;
      const n = (this.#count.get(address) ?? 1) - 1;
      if (n <= 0) this.#count.delete(address);
      else this.#count.set(address, n);
    };
  }
}
