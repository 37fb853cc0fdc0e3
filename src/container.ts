import type { Page, PageResult } from "./pagination.ts";

export const CONTAINER_CREATED = "created";
export const CONTAINER_RUNNING = "running";
export const CONTAINER_STOPPED = "stopped";
export const CONTAINER_FAILED = "failed";
export type ContainerStatus = typeof CONTAINER_CREATED | typeof CONTAINER_RUNNING | typeof CONTAINER_STOPPED | typeof CONTAINER_FAILED;

/** The database's record of a Docker container the reconciler created; kept true to Docker's state. */
export interface Container {
  id: string;
  service_id: string;
  deployment_id: string;
  docker_container_id: string;
  replica_index: number;
  status: ContainerStatus;
  created_at: string;
}

export interface ContainerCreate {
  service_id: string;
  deployment_id: string;
  docker_container_id: string;
  replica_index?: number;
  status?: ContainerStatus;
}

export interface ContainerFilter extends Page {
  service_id?: string;
  deployment_id?: string;
  docker_container_id?: string;
  status?: string;
}

/** ContainerService records containers; only the reconciler writes. */
export interface ContainerService {
  /** Throws ENOTFOUND "Container not found.". */
  findContainerByID(id: string): Promise<Container>;
  /** Newest first. */
  findContainers(filter: ContainerFilter): Promise<PageResult<Container>>;
  /** Throws EINVALID (fields), ENOTFOUND (service/deployment gone). */
  createContainer(input: ContainerCreate): Promise<Container>;
  /** Throws ENOTFOUND. */
  updateContainerStatus(id: string, status: ContainerStatus): Promise<Container>;
  /** No error when already gone. */
  deleteContainer(id: string): Promise<void>;
}
