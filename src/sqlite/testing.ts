/**
 * Test helpers (STYLE.md §12): a real in-memory database and fixtures created through the public
 * services. Free of any test framework so benchmarks and other folders' tests can use them too.
 */
import * as deploykit from "../index.ts";
import { AuthService } from "./auth.ts";
import { DB, type DBOptions } from "./db.ts";
import { DeploymentService } from "./deployment.ts";
import { EnvVarService } from "./envvar.ts";
import { ProjectService } from "./project.ts";
import { SecretCipher } from "./secret-cipher.ts";
import { ServiceService } from "./service.ts";
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
