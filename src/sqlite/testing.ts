/**
 * Test helpers (STYLE.md §12): a real in-memory database and fixtures created through the public
 * services. Free of any test framework so benchmarks and other folders' tests can use them too.
 */
import * as deploykit from "../index.ts";
import { AuthService } from "./auth.ts";
import { ContainerService } from "./container.ts";
import { DB, type DBOptions } from "./db.ts";
import { createDeployment, DeploymentService, findDeploymentByID, markHealthy } from "./deployment.ts";
import { EnvVarService } from "./envvar.ts";
import { createProject, deleteProject, ProjectService } from "./project.ts";
import { SecretCipher } from "./secret-cipher.ts";
import { createService, deleteService, ServiceService } from "./service.ts";
import { findServiceByID, findServices } from "./service-rows.ts";
import { UserService } from "./user.ts";

/** bcrypt's minimum cost: tests check behaviour, not hashing strength. */
export const TEST_BCRYPT_COST = 4;

/** A clock that only moves when told to. */
export class FakeClock {
  #t: number;

  constructor(start = "2026-01-01T00:00:00.000Z") {
    this.#t = Date.parse(start);
  }

  readonly now = (): Date => new Date(this.#t);

  advance(ms: number): void {
    this.#t += ms;
  }
}

/** One fixed key for every test database, so a test can close a file and open it again. */
export const TEST_SECRET_KEY = Buffer.alloc(32, 7);

/** Opens a migrated database (":memory:" unless `path` is given), values sealed with TEST_SECRET_KEY. */
export function mustOpenDB(opts: DBOptions & { path?: string } = {}): DB {
  const db = new DB(opts.path ?? ":memory:", { cipher: new SecretCipher(TEST_SECRET_KEY), ...opts });
  db.open();
  return db;
}

export async function mustCreateProject(db: DB, name = "Test project"): Promise<deploykit.Project> {
  return new ProjectService(db).createProject({ name });
}

let userSeq = 0;

export async function mustCreateUser(db: DB, input: Partial<deploykit.UserCreate> = {}): Promise<deploykit.User> {
  userSeq++;
  return new UserService(db, { bcryptCost: TEST_BCRYPT_COST }).createUser({
    email: input.email ?? `user${userSeq}@example.com`,
    name: input.name ?? `User ${userSeq}`,
    password: input.password ?? "password123",
    role: input.role ?? deploykit.ROLE_MEMBER,
  });
}

/** A signed-in user: the first one registers (admin), later ones are created and log in. */
export async function mustCreateAuthUser(
  db: DB,
  input: Partial<deploykit.UserCreate> = {},
): Promise<{ user: deploykit.User; tokens: deploykit.AuthTokens; password: string }> {
  const auth = new AuthService(db, { bcryptCost: TEST_BCRYPT_COST });
  const password = input.password ?? "password123";
  if (await auth.canRegister()) {
    userSeq++;
    const r = await auth.register({ email: input.email ?? `admin${userSeq}@example.com`, name: input.name ?? "Admin", password });
    return { ...r, password };
  }
  const user = await mustCreateUser(db, { ...input, password });
  const tokens = await auth.login({ email: user.email, password });
  return { user, tokens, password };
}

export async function mustCreateService(
  db: DB,
  projectID: string,
  input: Partial<deploykit.ServiceCreate> = {},
): Promise<deploykit.Service> {
  userSeq++;
  return new ServiceService(db).createService(projectID, { name: input.name ?? `svc-${userSeq}`, image: "nginx:1.27", ...input });
}

export async function mustCreateDeployment(
  db: DB,
  serviceID: string,
  input: Partial<deploykit.DeploymentCreate> = {},
): Promise<deploykit.Deployment> {
  return new DeploymentService(db).createDeployment(serviceID, { image: "nginx:1.27", ...input });
}

export async function mustCreateEnvVar(db: DB, input: deploykit.EnvVarCreate): Promise<deploykit.EnvVar> {
  return new EnvVarService(db).createEnvVar(input);
}

/** Awaits `p` and checks it failed with this code (and message, when given). Returns the error. */
export async function expectError(p: Promise<unknown>, code: deploykit.ErrorCode, message?: string): Promise<deploykit.DeployKitError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new Error(`expected ${code}${message ? ` "${message}"` : ""}, got success`);
  if (!deploykit.isDeployKitError(err)) throw new Error(`expected a DeployKitError ${code}, got ${String(err)}`, { cause: err });
  if (err.code !== code || (message !== undefined && err.message !== message))
    throw new Error(`expected ${code} "${message ?? "*"}", got ${err.code} "${err.message}"`, { cause: err });
  return err;
}

/**
 * A real in-memory store for the unit tests of a consumer (the reconciler): the SQLite services it is
 * given, and synchronous fixtures (better-sqlite3 is synchronous) written through the same helpers
 * those services use, so a fixture obeys the same rules as production rows.
 */
export class TestStore {
  readonly db: DB;
  readonly projects: ProjectService;
  readonly services: ServiceService;
  readonly deployments: DeploymentService;
  readonly containers: ContainerService;

  constructor(now: () => number = Date.now, opts: DBOptions = {}) {
    this.db = mustOpenDB({ ...opts, now: () => new Date(now()) });
    this.projects = new ProjectService(this.db);
    this.services = new ServiceService(this.db);
    this.deployments = new DeploymentService(this.db);
    this.containers = new ContainerService(this.db);
  }

  /** A project whose slug is `slug` (tests name networks and containers after it). */
  addProject(slug: string): deploykit.Project {
    return this.db.write((tx) => {
      const p = createProject(tx, { name: slug });
      // A real slug has a random suffix; tests pin it so expected names are literal.
      tx.run("UPDATE projects SET slug = ? WHERE id = ?", slug, p.id);
      return { ...p, slug };
    });
  }

  addService(projectID: string, name: string, input: Partial<deploykit.ServiceCreate> = {}): deploykit.Service {
    const create = { name, image: "app:1", ...input };
    deploykit.validateServiceCreate(create);
    return this.db.write((tx) => createService(tx, projectID, create));
  }

  /**
   * Like DeploymentService.createDeployment. `promote` makes it the serving deployment, as a pass
   * would; `legacy` skips today's validation, for rows an older version wrote.
   */
  addDeployment(
    serviceID: string,
    input: deploykit.DeploymentCreate,
    opts: { promote?: boolean; legacy?: boolean } = {},
  ): deploykit.Deployment {
    if (!opts.legacy) deploykit.validateDeploymentCreate(input);
    return this.db.write((tx) => {
      const d = createDeployment(tx, serviceID, input);
      return opts.promote ? markHealthy(tx, d.id, 0).deployment : d;
    });
  }

  dep(id: string): deploykit.Deployment {
    return this.db.read((tx) => findDeploymentByID(tx, id));
  }

  svc(id: string): deploykit.Service {
    return this.db.read((tx) => findServiceByID(tx, id));
  }

  /** Every service of every project. */
  allServices(): deploykit.Service[] {
    return this.db.read((tx) => findServices(tx, { limit: deploykit.MAX_LIMIT }).items);
  }

  /** The container rows of a service, newest first. */
  rowsOf(serviceID: string): deploykit.Container[] {
    return this.db.read((tx) =>
      tx.all<deploykit.Container>("SELECT * FROM containers WHERE service_id = ? ORDER BY created_at DESC, rowid DESC", serviceID),
    );
  }

  /** Forgets every container row, as a lost database would. */
  clearContainerRows(): void {
    this.db.write((tx) => tx.run("DELETE FROM containers"));
  }

  deleteService(id: string): void {
    this.db.write((tx) => deleteService(tx, id));
  }

  deleteProject(id: string): void {
    this.db.write((tx) => deleteProject(tx, id));
  }
}
