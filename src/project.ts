import { EINVALID, errorf } from "./errors.ts";
import type { Page, PageResult } from "./pagination.ts";
import { hasControlChars, isBlank, MAX_NAME_LENGTH } from "./validate.ts";

/**
 * A project groups services on one canvas and one Docker network (`dk-<slug>`). The name is free
 * text and not unique; the slug is generated once at creation, unique, and never changes.
 */
export interface Project {
  id: string;
  name: string;
  slug: string;
  created_at: string;
  updated_at: string;
}

export interface ProjectCreate {
  name: string;
}

export interface ProjectUpdate {
  name?: string;
}

export interface ProjectFilter extends Page {
  id?: string;
  /** Substring match on the name. */
  name?: string;
}

/** Docker network name of a project. */
export function projectNetworkName(slug: string): string {
  return `dk-${slug}`;
}

function validateProjectName(name: string, empty: string): void {
  if (isBlank(name)) throw errorf(EINVALID, empty);
  if (name.length > MAX_NAME_LENGTH) throw errorf(EINVALID, `Name is too long (max ${MAX_NAME_LENGTH} characters).`);
  if (hasControlChars(name)) throw errorf(EINVALID, "Name cannot contain control characters.");
}

/** Throws EINVALID "Name is required." and friends. */
export function validateProjectCreate(input: ProjectCreate): void {
  validateProjectName(input.name, "Name is required.");
}

/** Throws EINVALID "Name cannot be empty." when a name is present but blank. */
export function validateProjectUpdate(upd: ProjectUpdate): void {
  if (upd.name !== undefined) validateProjectName(upd.name, "Name cannot be empty.");
}

/**
 * ProjectService manages projects. Renames go through the pending-change log; `updateProject` is
 * what Apply calls.
 */
export interface ProjectService {
  /** Throws ENOTFOUND "Project not found.". */
  findProjectByID(id: string): Promise<Project>;
  /** Newest first. */
  findProjects(filter: ProjectFilter): Promise<PageResult<Project>>;
  /** Generates the slug (retrying on collision). Throws EINVALID. */
  createProject(input: ProjectCreate): Promise<Project>;
  /** Throws EINVALID, ENOTFOUND. */
  updateProject(id: string, upd: ProjectUpdate): Promise<Project>;
  /** Deletes the project and, by cascade, its services, deployments, canvas, env vars and staged changes. Throws ENOTFOUND. */
  deleteProject(id: string): Promise<void>;
}
