import * as deploykit from "../index.ts";
import { type DB, newID, type Param, queryPage, type Tx } from "./db.ts";

const CONTAINER_STATUSES: readonly string[] = [
  deploykit.CONTAINER_CREATED,
  deploykit.CONTAINER_RUNNING,
  deploykit.CONTAINER_STOPPED,
  deploykit.CONTAINER_FAILED,
];
const STATUS_MESSAGE = "Status must be 'created', 'running', 'stopped' or 'failed'.";

export class ContainerService implements deploykit.ContainerService {
  readonly #db: DB;

  constructor(db: DB) {
    this.#db = db;
  }

  async findContainerByID(id: string): Promise<deploykit.Container> {
    return this.#db.read((tx) => findContainerByID(tx, id));
  }

  async findContainers(filter: deploykit.ContainerFilter): Promise<deploykit.PageResult<deploykit.Container>> {
    return this.#db.read((tx) => {
      const conds: string[] = [];
      const params: Param[] = [];
      for (const field of ["service_id", "deployment_id", "docker_container_id", "status"] as const) {
        const v = filter[field];
        if (v !== undefined && v !== "") {
          conds.push(`${field} = ?`);
          params.push(v);
        }
      }
      const { rows, total } = queryPage<deploykit.Container>(tx, {
        select: "*",
        from: "containers",
        conds,
        params,
        order: "created_at DESC, rowid DESC",
        page: filter,
      });
      return { items: rows.map((r) => ({ ...r })), total };
    });
  }

  async createContainer(input: deploykit.ContainerCreate): Promise<deploykit.Container> {
    const v = new deploykit.FieldErrorCollector();
    if (deploykit.isBlank(input.service_id)) v.add("service_id", "Service id is required.");
    if (deploykit.isBlank(input.deployment_id)) v.add("deployment_id", "Deployment id is required.");
    if (deploykit.isBlank(input.docker_container_id)) v.add("docker_container_id", "Docker container id is required.");
    if (input.replica_index !== undefined && (!Number.isInteger(input.replica_index) || input.replica_index < 0))
      v.add("replica_index", "Replica index must be a whole number of zero or more.");
    if (input.status !== undefined && !CONTAINER_STATUSES.includes(input.status)) v.add("status", STATUS_MESSAGE);
    v.throwIfAny();
    return this.#db.write((tx) => {
      if (!tx.get("SELECT 1 FROM services WHERE id = ?", input.service_id))
        throw deploykit.errorf(deploykit.ENOTFOUND, "Service not found.");
      const dep = tx.get<{ service_id: string }>("SELECT service_id FROM deployments WHERE id = ?", input.deployment_id);
      if (!dep) throw deploykit.errorf(deploykit.ENOTFOUND, "Deployment not found.");
      if (dep.service_id !== input.service_id) throw deploykit.errorf(deploykit.EINVALID, "Deployment does not belong to this service.");
      const c: deploykit.Container = {
        id: newID(),
        service_id: input.service_id,
        deployment_id: input.deployment_id,
        docker_container_id: input.docker_container_id,
        replica_index: input.replica_index ?? 0,
        status: input.status ?? deploykit.CONTAINER_CREATED,
        created_at: tx.now,
      };
      tx.run(
        "INSERT INTO containers (id, service_id, deployment_id, docker_container_id, replica_index, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        c.id,
        c.service_id,
        c.deployment_id,
        c.docker_container_id,
        c.replica_index,
        c.status,
        tx.now,
      );
      return c;
    });
  }

  async updateContainerStatus(id: string, status: deploykit.ContainerStatus): Promise<deploykit.Container> {
    if (!CONTAINER_STATUSES.includes(status)) throw deploykit.errorf(deploykit.EINVALID, STATUS_MESSAGE);
    return this.#db.write((tx) => {
      findContainerByID(tx, id);
      tx.run("UPDATE containers SET status = ? WHERE id = ?", status, id);
      return findContainerByID(tx, id);
    });
  }

  async deleteContainer(id: string): Promise<void> {
    this.#db.write((tx) => tx.run("DELETE FROM containers WHERE id = ?", id));
  }
}

function findContainerByID(tx: Tx, id: string): deploykit.Container {
  const row = tx.get<deploykit.Container>("SELECT * FROM containers WHERE id = ?", id);
  if (!row) throw deploykit.errorf(deploykit.ENOTFOUND, "Container not found.");
  return { ...row };
}
