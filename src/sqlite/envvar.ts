import * as deploykit from "../index.ts";
import { type DB, isUniqueError, newID, type Param, type Tx } from "./db.ts";
import { findProjectByID } from "./project.ts";
import { referenceCatalog, resolveServiceEnv } from "./references.ts";
import { openValue } from "./secret-rows.ts";
import { findServiceByID } from "./service-rows.ts";

export class EnvVarService implements deploykit.EnvVarService {
  readonly #db: DB;

  constructor(db: DB) {
    this.#db = db;
  }

  async findEnvVarByID(id: string): Promise<deploykit.EnvVar> {
    return this.#db.read((tx) => findEnvVarByID(tx, id));
  }

  async findEnvVars(filter: deploykit.EnvVarFilter): Promise<deploykit.EnvVar[]> {
    return this.#db.read((tx) => findEnvVars(tx, filter));
  }

  async createEnvVar(input: deploykit.EnvVarCreate): Promise<deploykit.EnvVar> {
    validateEnvVarCreate(input);
    return this.#db.write((tx) => {
      assertOwnerExists(tx, input.scope, input.scope_id);
      return createEnvVar(tx, input);
    });
  }

  async updateEnvVar(id: string, value: string): Promise<deploykit.EnvVar> {
    const v = new deploykit.FieldErrorCollector();
    deploykit.validateEnvValue(value, v);
    v.throwIfAny();
    return this.#db.write((tx) => updateEnvVar(tx, findEnvVarByID(tx, id), value));
  }

  async deleteEnvVar(id: string): Promise<void> {
    this.#db.write((tx) => {
      findEnvVarByID(tx, id);
      tx.run("DELETE FROM env_vars WHERE id = ?", id);
    });
  }

  async resolveForService(serviceID: string): Promise<deploykit.ResolvedEnv> {
    return this.#db.read((tx) => resolveServiceEnv(tx, findServiceByID(tx, serviceID)));
  }

  async findReferenceCatalog(projectID: string): Promise<deploykit.ReferenceCatalog> {
    return this.#db.read((tx) => {
      findProjectByID(tx, projectID);
      return referenceCatalog(tx, projectID);
    });
  }

  async findRawLayout(scope: deploykit.EnvScope, scopeID: string): Promise<string> {
    return this.#db.read(
      (tx) => tx.get<{ text: string }>("SELECT text FROM env_raw WHERE scope = ? AND scope_id = ?", scope, scopeID)?.text ?? "",
    );
  }

  async saveRawLayout(scope: deploykit.EnvScope, scopeID: string, text: string): Promise<void> {
    this.#db.write((tx) => {
      tx.run(
        "INSERT INTO env_raw (scope, scope_id, text, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (scope, scope_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at",
        scope,
        scopeID,
        text,
        tx.now,
      );
    });
  }
}

export const SCOPE_MESSAGE = "Scope must be 'project', 'group', 'service' or 'shared'.";

export function validateEnvVarCreate(input: deploykit.EnvVarCreate): void {
  const v = new deploykit.FieldErrorCollector();
  if (!deploykit.isEnvScope(input.scope)) v.add("scope", SCOPE_MESSAGE);
  if (deploykit.isBlank(input.scope_id)) v.add("scope_id", "Scope id is required.");
  deploykit.validateEnvKey(input.key, v);
  deploykit.validateEnvValue(input.value, v);
  v.throwIfAny();
}

/** The project an owner belongs to; throws ENOTFOUND naming the missing owner. */
export function assertOwnerExists(tx: Tx, scope: deploykit.EnvScope, scopeID: string): string {
  if (scope === deploykit.SCOPE_PROJECT || scope === deploykit.SCOPE_SHARED) {
    if (!tx.get("SELECT 1 FROM projects WHERE id = ?", scopeID)) throw deploykit.errorf(deploykit.ENOTFOUND, "Project not found.");
    return scopeID;
  }
  if (scope === deploykit.SCOPE_GROUP) {
    const g = tx.get<{ project_id: string }>("SELECT project_id FROM canvas_nodes WHERE id = ? AND type = 'group'", scopeID);
    if (!g) throw deploykit.errorf(deploykit.ENOTFOUND, "Group not found.");
    return g.project_id;
  }
  const s = tx.get<{ project_id: string }>("SELECT project_id FROM services WHERE id = ?", scopeID);
  if (!s) throw deploykit.errorf(deploykit.ENOTFOUND, "Service not found.");
  return s.project_id;
}

/** A stored env_vars row. */
export interface EnvVarRow extends Omit<deploykit.EnvVar, "sealed"> {
  sealed: number;
}

/** The variable a row holds, its value opened (plaintext inside the store, sealed on disk). */
export function envVarRow(tx: Tx, r: EnvVarRow): deploykit.EnvVar {
  return { ...r, value: openValue(tx.cipher, r.value), sealed: r.sealed === 1 };
}

export function findEnvVarByID(tx: Tx, id: string): deploykit.EnvVar {
  const row = tx.get<EnvVarRow>("SELECT * FROM env_vars WHERE id = ?", id);
  if (!row) throw deploykit.errorf(deploykit.ENOTFOUND, "Env var not found.");
  return envVarRow(tx, row);
}

export function findEnvVars(tx: Tx, filter: deploykit.EnvVarFilter): deploykit.EnvVar[] {
  const conds: string[] = [];
  const params: Param[] = [];
  for (const field of ["scope", "scope_id", "key"] as const) {
    const v = filter[field];
    if (v !== undefined) {
      conds.push(`${field} = ?`);
      params.push(v);
    }
  }
  const w = conds.length > 0 ? `WHERE ${conds.join(" AND ")}` : "";
  return tx.all<EnvVarRow>(`SELECT * FROM env_vars ${w} ORDER BY key, scope, scope_id`, ...params).map((r) => envVarRow(tx, r));
}

export function createEnvVar(tx: Tx, input: deploykit.EnvVarCreate): deploykit.EnvVar {
  const ev: deploykit.EnvVar = {
    id: newID(),
    scope: input.scope,
    scope_id: input.scope_id,
    key: input.key,
    value: input.value,
    sealed: input.sealed === true,
    created_at: tx.now,
    updated_at: tx.now,
  };
  try {
    tx.run(
      "INSERT INTO env_vars (id, scope, scope_id, key, value, sealed, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ev.id,
      ev.scope,
      ev.scope_id,
      ev.key,
      tx.cipher.seal(ev.value),
      ev.sealed ? 1 : 0,
      tx.now,
      tx.now,
    );
  } catch (err) {
    if (isUniqueError(err)) throw deploykit.errorf(deploykit.ECONFLICT, `Env var "${input.key}" already exists.`);
    throw err;
  }
  return ev;
}

export function updateEnvVar(tx: Tx, ev: deploykit.EnvVar, value: string): deploykit.EnvVar {
  tx.run("UPDATE env_vars SET value = ?, updated_at = ? WHERE id = ?", tx.cipher.seal(value), tx.now, ev.id);
  return { ...ev, value, updated_at: tx.now };
}
