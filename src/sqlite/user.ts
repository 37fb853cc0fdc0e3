import * as deploykit from "../index.ts";
import { type DB, isUniqueError, likeContains, newID, queryPage, type Tx } from "./db.ts";
import { PasswordHasher, type PasswordOptions } from "./password.ts";

interface UserRow {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  role: deploykit.Role;
  created_at: string;
  updated_at: string;
}

const EMAIL_TAKEN = "A user with that email already exists.";

export class UserService implements deploykit.UserService {
  readonly #db: DB;
  readonly #passwords: PasswordHasher;

  constructor(db: DB, opts: PasswordOptions = {}) {
    this.#db = db;
    this.#passwords = new PasswordHasher(opts);
  }

  async findUserByID(id: string): Promise<deploykit.User> {
    return this.#db.read((tx) => findUserByID(tx, id));
  }

  async findUsers(filter: deploykit.UserFilter): Promise<deploykit.PageResult<deploykit.User>> {
    return this.#db.read((tx) => findUsers(tx, filter));
  }

  async createUser(input: deploykit.UserCreate): Promise<deploykit.User> {
    deploykit.validateUserCreate(input);
    const hash = await this.#passwords.hash(input.password);
    return this.#db.write((tx) => createUser(tx, input, hash, input.role ? (input.role as deploykit.Role) : deploykit.ROLE_MEMBER));
  }

  async updateUser(id: string, upd: deploykit.UserUpdate): Promise<deploykit.User> {
    deploykit.validateUserUpdate(upd);
    const hash = upd.password !== undefined ? await this.#passwords.hash(upd.password) : undefined;
    return this.#db.write((tx) => {
      const user = findUserRow(tx, id);
      if (upd.role !== undefined && upd.role !== user.role && user.role === deploykit.ROLE_ADMIN && countAdmins(tx) <= 1)
        throw deploykit.errorf(deploykit.EFORBIDDEN, "You cannot remove the last admin.");
      const updated = updateUserRow(tx, user, { email: upd.email, name: upd.name, role: upd.role as deploykit.Role | undefined, hash });
      // A password reset by an admin signs the user out everywhere and revokes their keys: the old
      // password may be compromised, and so may whatever was made with it.
      if (hash !== undefined) {
        tx.run("DELETE FROM sessions WHERE user_id = ?", id);
        tx.run("DELETE FROM api_keys WHERE user_id = ?", id);
      }
      return updated;
    });
  }

  async updateProfile(id: string, upd: deploykit.ProfileUpdate, currentSessionID?: string): Promise<deploykit.User> {
    deploykit.validateProfileUpdate(upd);
    const row = this.#db.read((tx) => findUserRow(tx, id));
    // A new email needs the password too: otherwise a stolen session could take the account over, and
    // anyone signed in could probe which emails exist through the "already exists" answer.
    const newEmail = upd.email !== undefined && deploykit.normalizeEmail(upd.email) !== row.email;
    if (newEmail && deploykit.isBlank(upd.current_password))
      throw deploykit.fieldError({ current_password: ["Current password is required to change your email."] });
    if (upd.new_password !== undefined || newEmail) {
      if (!(await this.#passwords.verify(upd.current_password ?? "", row.password_hash)).ok)
        throw deploykit.fieldError({ current_password: ["Current password is incorrect."] });
    }
    const hash = upd.new_password !== undefined ? await this.#passwords.hash(upd.new_password) : undefined;
    return this.#db.write((tx) => {
      const user = updateUserRow(tx, findUserRow(tx, id), { email: upd.email, name: upd.name, hash });
      // Whoever else holds a session of this account (perhaps the reason for the change) is signed out.
      if (hash !== undefined) tx.run("DELETE FROM sessions WHERE user_id = ? AND id IS NOT ?", id, currentSessionID ?? null);
      return user;
    });
  }

  async deleteUser(callerID: string, id: string): Promise<void> {
    this.#db.write((tx) => {
      const user = findUserRow(tx, id);
      if (callerID === id) throw deploykit.errorf(deploykit.EFORBIDDEN, "You cannot delete yourself.");
      if (user.role === deploykit.ROLE_ADMIN && countAdmins(tx) <= 1)
        throw deploykit.errorf(deploykit.EFORBIDDEN, "You cannot remove the last admin.");
      tx.run("DELETE FROM users WHERE id = ?", id);
    });
  }
}

export function toUser(row: UserRow): deploykit.User {
  return { id: row.id, email: row.email, name: row.name, role: row.role, created_at: row.created_at, updated_at: row.updated_at };
}

export function findUserRow(tx: Tx, id: string): UserRow {
  const row = tx.get<UserRow>("SELECT * FROM users WHERE id = ?", id);
  if (!row) throw deploykit.errorf(deploykit.ENOTFOUND, "User not found.");
  return row;
}

export function findUserRowByEmail(tx: Tx, email: string): UserRow | undefined {
  return tx.get<UserRow>("SELECT * FROM users WHERE email = ?", deploykit.normalizeEmail(email));
}

export function findUserByID(tx: Tx, id: string): deploykit.User {
  return toUser(findUserRow(tx, id));
}

function countAdmins(tx: Tx): number {
  return tx.get<{ n: number }>("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'")?.n ?? 0;
}

export function countUsers(tx: Tx): number {
  return tx.get<{ n: number }>("SELECT COUNT(*) AS n FROM users")?.n ?? 0;
}

function findUsers(tx: Tx, filter: deploykit.UserFilter): deploykit.PageResult<deploykit.User> {
  const conds: string[] = [];
  const params: string[] = [];
  if (filter.id !== undefined) {
    conds.push("id = ?");
    params.push(filter.id);
  }
  if (filter.email) {
    conds.push("email LIKE ? ESCAPE '\\'");
    params.push(likeContains(deploykit.normalizeEmail(filter.email)));
  }
  if (filter.role) {
    conds.push("role = ?");
    params.push(filter.role);
  }
  const { rows, total } = queryPage<UserRow>(tx, {
    select: "*",
    from: "users",
    conds,
    params,
    order: "created_at DESC, rowid DESC",
    page: filter,
  });
  return { items: rows.map(toUser), total };
}

export function createUser(tx: Tx, input: deploykit.UserCreate, hash: string, role: deploykit.Role): deploykit.User {
  const user: deploykit.User = {
    id: newID(),
    email: deploykit.normalizeEmail(input.email),
    name: input.name.trim(),
    role,
    created_at: tx.now,
    updated_at: tx.now,
  };
  try {
    tx.run(
      "INSERT INTO users (id, email, name, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      user.id,
      user.email,
      user.name,
      hash,
      role,
      tx.now,
      tx.now,
    );
  } catch (err) {
    if (isUniqueError(err)) throw deploykit.errorf(deploykit.ECONFLICT, EMAIL_TAKEN);
    throw err;
  }
  return user;
}

function updateUserRow(
  tx: Tx,
  row: UserRow,
  upd: { email?: string | undefined; name?: string | undefined; role?: deploykit.Role | undefined; hash?: string | undefined },
): deploykit.User {
  const next: UserRow = { ...row };
  if (upd.email !== undefined) next.email = deploykit.normalizeEmail(upd.email);
  if (upd.name !== undefined) next.name = upd.name.trim();
  if (upd.role !== undefined) next.role = upd.role;
  if (upd.hash !== undefined) next.password_hash = upd.hash;
  next.updated_at = tx.now;
  try {
    tx.run(
      "UPDATE users SET email = ?, name = ?, role = ?, password_hash = ?, updated_at = ? WHERE id = ?",
      next.email,
      next.name,
      next.role,
      next.password_hash,
      tx.now,
      row.id,
    );
  } catch (err) {
    if (isUniqueError(err)) throw deploykit.errorf(deploykit.ECONFLICT, EMAIL_TAKEN);
    throw err;
  }
  return toUser(next);
}
