import type * as deploykit from "../index.ts";

/**
 * DockerSnapshot caches the three Docker lists the reconciler reads, so one resync makes a constant
 * number of list calls however many services it passes over. Passes patch the cache with their own
 * creates and removes instead of invalidating it; other changes show up on the next fresh list.
 * A failed list is cached too (for the same TTL), so a Docker outage does not turn into one failing
 * list call per service.
 */
export class DockerSnapshot {
  readonly #runtime: Pick<deploykit.ContainerRuntime, "listContainers" | "listVolumes" | "inspectContainer">;
  readonly #provisioner: Pick<deploykit.Provisioner, "listNetworks">;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #observe: (err?: unknown) => void;
  #pins = 0;
  readonly #ensuring = new Map<string, Promise<void>>();
  readonly #inspections = new Map<string, { at: number; promise: Promise<deploykit.ContainerInspection> }>();
  readonly #containers: Entry<deploykit.RunningContainer>;
  readonly #volumes: Entry<deploykit.Volume>;
  readonly #networks: Entry<deploykit.Network>;
  #index?: { list: deploykit.RunningContainer[]; version: number; by: Map<string, deploykit.RunningContainer[]> };

  constructor(opts: {
    runtime: Pick<deploykit.ContainerRuntime, "listContainers" | "listVolumes" | "inspectContainer">;
    provisioner: Pick<deploykit.Provisioner, "listNetworks">;
    ttlMs: number;
    now: () => number;
    /** Called after every list: no argument on success, the error on failure. */
    observe: (err?: unknown) => void;
  }) {
    this.#runtime = opts.runtime;
    this.#provisioner = opts.provisioner;
    this.#ttlMs = opts.ttlMs;
    this.#now = opts.now;
    this.#observe = opts.observe;
    this.#containers = new Entry(() => this.#runtime.listContainers());
    this.#volumes = new Entry(() => this.#runtime.listVolumes());
    this.#networks = new Entry(() => this.#provisioner.listNetworks());
  }

  /** Managed containers; throws what the list threw. */
  containers(): Promise<deploykit.RunningContainer[]> {
    return this.#get(this.#containers);
  }

  /**
   * Managed containers of one service (a copy), from an index of the cached list rebuilt only when
   * the list changed: a resync's passes each read their own without scanning everyone's (issue 19).
   */
  async containersOf(serviceID: string): Promise<deploykit.RunningContainer[]> {
    const now = this.#now();
    const entry = this.#containers;
    if (!entry.fresh(now, this.#ttlMs, this.#pins > 0)) entry.load(now, this.#observe);
    const list = await entry.shared();
    if (this.#index?.list !== list || this.#index.version !== entry.version) {
      const by = new Map<string, deploykit.RunningContainer[]>();
      for (const c of list) {
        const mine = by.get(c.service_id);
        if (mine) mine.push(c);
        else by.set(c.service_id, [c]);
      }
      this.#index = { list, version: entry.version, by };
    }
    return [...(this.#index.by.get(serviceID) ?? [])];
  }

  volumes(): Promise<deploykit.Volume[]> {
    return this.#get(this.#volumes);
  }

  networks(): Promise<deploykit.Network[]> {
    return this.#get(this.#networks);
  }

  /**
   * Runs `create` once per network name at a time: Docker accepts two networks with one name, and
   * passes of two services of a project would otherwise both create it.
   */
  async ensureNetwork(name: string, create: () => Promise<deploykit.Network>): Promise<void> {
    let p = this.#ensuring.get(name);
    if (!p) {
      p = (async () => {
        // Two networks under one name (racing creates of an older version) make every container
        // create on it fail: `create` (the provisioner's ensure) repairs that, so call it then too.
        if ((await this.networks()).filter((n) => n.name === name).length === 1) return;
        this.replaceNetwork(await create());
      })().finally(() => this.#ensuring.delete(name));
      this.#ensuring.set(name, p);
    }
    await p;
  }

  /**
   * Inspection of one container, shared like the lists: a resync prefetches every listed container's
   * inspection in parallel, and the passes read them from here.
   */
  inspect(dockerID: string): Promise<deploykit.ContainerInspection> {
    const now = this.#now();
    const hit = this.#inspections.get(dockerID);
    if (hit && (this.#pins > 0 || now - hit.at < this.#ttlMs)) return hit.promise;
    const promise = this.#runtime.inspectContainer(dockerID);
    promise.catch(() => {});
    this.#inspections.set(dockerID, { at: now, promise });
    return promise;
  }

  /**
   * Lists containers and starts inspecting all of them, `concurrency` at a time. Inspections are
   * per-container calls that a pass would make anyway; overlapping them is what keeps a resync of
   * hundreds of services short. Resolves when every inspection has answered.
   */
  async prefetchInspections(concurrency: number): Promise<void> {
    let ids: string[];
    try {
      ids = (await this.containers()).map((c) => c.docker_id);
    } catch {
      return;
    }
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        await this.inspect(ids[next++] as string).catch(() => {});
        // An answer already cached (or a fake's) settles as a microtask: let the loop turn.
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
  }

  /** The next read of each list asks Docker again. */
  invalidate(): void {
    this.#inspections.clear();
    this.#containers.clear();
    this.#volumes.clear();
    this.#networks.clear();
  }

  /** While pinned (a resync in progress), cached lists do not expire. */
  pin(): void {
    this.#pins++;
  }

  unpin(): void {
    if (this.#pins > 0) this.#pins--;
  }

  /**
   * Records a container this process just created and started. A list taken while it was being
   * created may already hold it as "created" (and an inspection from then): the fresh entry replaces
   * both, or the next pass would take it for a container someone stopped and replace it at once.
   */
  addContainer(c: deploykit.RunningContainer): void {
    this.#inspections.delete(c.docker_id);
    this.#containers.patch((list) => {
      removeWhere(list, (x) => x.docker_id === c.docker_id);
      list.push(c);
    });
  }

  /** The next inspection of this container asks Docker again (it was restarted). */
  forgetInspection(dockerID: string): void {
    this.#inspections.delete(dockerID);
  }

  removeContainer(dockerID: string): void {
    this.#inspections.delete(dockerID);
    this.#containers.patch((list) => removeWhere(list, (c) => c.docker_id === dockerID));
  }

  addVolume(v: deploykit.Volume): void {
    this.#volumes.patch((list) => {
      if (!list.some((x) => x.name === v.name)) list.push(v);
    });
  }

  removeVolume(name: string): void {
    this.#volumes.patch((list) => removeWhere(list, (v) => v.name === name));
  }

  /** The network named `n.name` is now exactly `n` (duplicates of the name removed from the list). */
  replaceNetwork(n: deploykit.Network): void {
    this.#networks.patch((list) => {
      for (let i = list.length - 1; i >= 0; i--) if (list[i]?.name === n.name) list.splice(i, 1);
      list.push(n);
    });
  }

  removeNetwork(name: string): void {
    this.#networks.patch((list) => removeWhere(list, (n) => n.name === name));
  }

  async #get<T>(entry: Entry<T>): Promise<T[]> {
    const now = this.#now();
    if (!entry.fresh(now, this.#ttlMs, this.#pins > 0)) entry.load(now, this.#observe);
    return entry.read();
  }
}

class Entry<T> {
  readonly #list: () => Promise<T[]>;
  #at = 0;
  #promise?: Promise<T[]>;
  #value?: T[];
  #failed = false;
  /** Patches made while a list call is in flight, applied to its result (which may predate them). */
  #pending: ((list: T[]) => void)[] = [];
  /** Bumped by every load, patch and clear: an index of the list is current while this is unchanged. */
  version = 0;

  constructor(list: () => Promise<T[]>) {
    this.#list = list;
  }

  fresh(now: number, ttlMs: number, pinned: boolean): boolean {
    if (!this.#promise) return false;
    // A cached failure expires with the TTL even when pinned, so a resync notices Docker coming back.
    if (pinned && !this.#failed) return true;
    return now - this.#at < ttlMs;
  }

  load(now: number, observe: (err?: unknown) => void): void {
    this.version++;
    this.#at = now;
    this.#value = undefined;
    this.#failed = false;
    this.#pending = [];
    const p = this.#list().then(
      (list) => {
        if (this.#promise === p) {
          for (const fn of this.#pending) fn(list);
          this.#pending = [];
          this.#value = list;
        }
        observe();
        return list;
      },
      (err: unknown) => {
        if (this.#promise === p) this.#failed = true;
        observe(err);
        throw err;
      },
    );
    // The rejection is delivered to every reader; this keeps an unread one from being "unhandled".
    p.catch(() => {});
    this.#promise = p;
  }

  async read(): Promise<T[]> {
    // The list is the promise's own result (patches land in that same array); re-reading #promise
    // after the await would find it gone when invalidate() ran meanwhile.
    const list = await this.#promise!;
    // Readers get a copy so patches and iteration never interfere.
    return [...list];
  }

  /** The list itself, not a copy: for indexing only, never to be changed by the caller. */
  async shared(): Promise<T[]> {
    return await this.#promise!;
  }

  patch(fn: (list: T[]) => void): void {
    this.version++;
    if (this.#value) fn(this.#value);
    else if (this.#promise && !this.#failed) this.#pending.push(fn);
  }

  clear(): void {
    this.version++;
    this.#promise = undefined;
    this.#value = undefined;
    this.#failed = false;
    this.#pending = [];
  }
}

function removeWhere<T>(list: T[], pred: (x: T) => boolean): void {
  for (let i = list.length - 1; i >= 0; i--) if (pred(list[i] as T)) list.splice(i, 1);
}
