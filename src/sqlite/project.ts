import { randomBytes } from "node:crypto";
import * as deploykit from "../index.ts";
import { type DB, likeContains, newID, queryPage, type Tx } from "./db.ts";

interface ProjectRow {
  id: string;
  name: string;
  slug: string;
  created_at: string;
  updated_at: string;
}

export class ProjectService implements deploykit.ProjectService {
  readonly #db: DB;

  constructor(db: DB) {
    this.#db = db;
  }

  async findProjectByID(id: string): Promise<deploykit.Project> {
    return this.#db.read((tx) => findProjectByID(tx, id));
  }

  async findProjects(filter: deploykit.ProjectFilter): Promise<deploykit.PageResult<deploykit.Project>> {
    return this.#db.read((tx) => findProjects(tx, filter));
  }

  async createProject(input: deploykit.ProjectCreate): Promise<deploykit.Project> {
    deploykit.validateProjectCreate(input);
    return this.#db.write((tx) => createProject(tx, input));
  }

  async updateProject(id: string, upd: deploykit.ProjectUpdate): Promise<deploykit.Project> {
    deploykit.validateProjectUpdate(upd);
    return this.#db.write((tx) => updateProject(tx, id, upd));
  }

  async deleteProject(id: string): Promise<void> {
    this.#db.write((tx) => deleteProject(tx, id));
  }
}

export function findProjectByID(tx: Tx, id: string): deploykit.Project {
  const row = tx.get<ProjectRow>("SELECT * FROM projects WHERE id = ?", id);
  if (!row) throw deploykit.errorf(deploykit.ENOTFOUND, "Project not found.");
  return { ...row };
}

function findProjects(tx: Tx, filter: deploykit.ProjectFilter): deploykit.PageResult<deploykit.Project> {
  const conds: string[] = [];
  const params: string[] = [];
  if (filter.id !== undefined) {
    conds.push("id = ?");
    params.push(filter.id);
  }
  if (filter.name) {
    conds.push("name LIKE ? ESCAPE '\\'");
    params.push(likeContains(filter.name));
  }
  const { rows, total } = queryPage<ProjectRow>(tx, {
    select: "*",
    from: "projects",
    conds,
    params,
    order: "created_at DESC, rowid DESC",
    page: filter,
  });
  return { items: rows.map((r) => ({ ...r })), total };
}

export function createProject(tx: Tx, input: deploykit.ProjectCreate): deploykit.Project {
  const name = input.name.trim();
  // Three random bytes collide rarely; retry a few times rather than failing the user.
  for (let attempt = 0; attempt < 5; attempt++) {
    const slug = deploykit.generateSlug(name, randomBytes(deploykit.SLUG_SUFFIX_BYTES).toString("hex"));
    if (tx.get("SELECT 1 FROM projects WHERE slug = ?", slug)) continue;
    const p: deploykit.Project = { id: newID(), name, slug, created_at: tx.now, updated_at: tx.now };
    tx.run("INSERT INTO projects (id, name, slug, created_at, updated_at) VALUES (?, ?, ?, ?, ?)", p.id, p.name, p.slug, tx.now, tx.now);
    return p;
  }
  throw deploykit.errorf(deploykit.ECONFLICT, "Could not generate a unique project slug; try again.");
}

/** Services, deployments, containers and variables go by cascade. */
export function deleteProject(tx: Tx, id: string): void {
  findProjectByID(tx, id);
  tx.run("DELETE FROM projects WHERE id = ?", id);
}

export function updateProject(tx: Tx, id: string, upd: deploykit.ProjectUpdate): deploykit.Project {
  const p = findProjectByID(tx, id);
  if (upd.name !== undefined) {
    p.name = upd.name.trim();
    p.updated_at = tx.now;
    tx.run("UPDATE projects SET name = ?, updated_at = ? WHERE id = ?", p.name, tx.now, id);
  }
  return p;
}
