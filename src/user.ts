import { FieldErrorCollector } from "./errors.ts";
import type { Page, PageResult } from "./pagination.ts";
import { hasControlChars, isBlank, MAX_NAME_LENGTH, utf8Length } from "./validate.ts";

export const ROLE_ADMIN = "admin";
export const ROLE_MEMBER = "member";
export type Role = typeof ROLE_ADMIN | typeof ROLE_MEMBER;
export const ROLES: readonly Role[] = [ROLE_ADMIN, ROLE_MEMBER];

export const PASSWORD_MIN_LENGTH = 8;
/** bcrypt only reads 72 bytes; longer passwords are refused rather than silently truncated. */
export const PASSWORD_MAX_BYTES = 72;
export const EMAIL_MAX_LENGTH = 254;

/**
 * A person who can sign in. Admins can do everything; members everything except user management
 * and system administration. The password hash never leaves the sqlite package.
 */
export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  created_at: string;
  updated_at: string;
}

export interface UserCreate {
  email: string;
  name: string;
  password: string;
  /** Empty or missing means member. */
  role?: string;
}

export interface UserUpdate {
  email?: string;
  name?: string;
  password?: string;
  role?: string;
}

/** Self-service edit. `current_password` is required when `new_password` or a new `email` is set. */
export interface ProfileUpdate {
  email?: string;
  name?: string;
  new_password?: string;
  current_password?: string;
}

export interface UserFilter extends Page {
  id?: string;
  email?: string;
  role?: string;
}

/** Emails are compared case-insensitively and without surrounding spaces. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function isAdmin(user: Pick<User, "role"> | null | undefined): boolean {
  return user?.role === ROLE_ADMIN;
}

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;

function checkEmail(v: FieldErrorCollector, email: string | undefined, required: boolean): void {
  if (email === undefined) {
    if (required) v.add("email", "Email is required.");
    return;
  }
  if (isBlank(email)) v.add("email", required ? "Email is required." : "Email cannot be empty.");
  else if (email.length > EMAIL_MAX_LENGTH || !EMAIL_PATTERN.test(email.trim())) v.add("email", "Email is not valid.");
}

function checkName(v: FieldErrorCollector, name: string | undefined, required: boolean): void {
  if (name === undefined) {
    if (required) v.add("name", "Name is required.");
    return;
  }
  if (isBlank(name)) v.add("name", required ? "Name is required." : "Name cannot be empty.");
  else if (name.length > MAX_NAME_LENGTH) v.add("name", `Name is too long (max ${MAX_NAME_LENGTH} characters).`);
  else if (hasControlChars(name)) v.add("name", "Name cannot contain control characters.");
}

function checkPassword(v: FieldErrorCollector, field: string, pw: string | undefined, required: boolean): void {
  if (pw === undefined || pw === "") {
    if (required) v.add(field, "Password is required.");
    else if (pw === "") v.add(field, "Password cannot be empty.");
    return;
  }
  if (pw.length < PASSWORD_MIN_LENGTH) v.add(field, `Password must be at least ${PASSWORD_MIN_LENGTH} characters.`);
  else if (utf8Length(pw) > PASSWORD_MAX_BYTES) v.add(field, `Password must be at most ${PASSWORD_MAX_BYTES} bytes.`);
}

function checkRole(v: FieldErrorCollector, role: string | undefined, allowEmpty: boolean): void {
  if (role === undefined || (allowEmpty && role === "")) return;
  if (!(ROLES as readonly string[]).includes(role)) v.add("role", "Role must be 'admin' or 'member'.");
}

/** Throws a field error (422) listing every problem. */
export function validateUserCreate(input: UserCreate): void {
  const v = new FieldErrorCollector();
  checkEmail(v, input.email, true);
  checkName(v, input.name, true);
  checkPassword(v, "password", input.password, true);
  checkRole(v, input.role, true);
  v.throwIfAny();
}

export function validateUserUpdate(upd: UserUpdate): void {
  const v = new FieldErrorCollector();
  checkEmail(v, upd.email, false);
  checkName(v, upd.name, false);
  checkPassword(v, "password", upd.password, false);
  checkRole(v, upd.role, false);
  v.throwIfAny();
}

export function validateProfileUpdate(upd: ProfileUpdate): void {
  const v = new FieldErrorCollector();
  checkEmail(v, upd.email, false);
  checkName(v, upd.name, false);
  if (upd.new_password !== undefined) {
    checkPassword(v, "new_password", upd.new_password, true);
    if (isBlank(upd.current_password)) v.add("current_password", "Current password is required.");
  }
  v.throwIfAny();
}

/**
 * UserService manages accounts. `caller` is the signed-in user making the change; the guards
 * (no self-deletion, never fewer than one admin) are enforced here so every entry point shares them.
 */
export interface UserService {
  /** Throws ENOTFOUND "User not found.". */
  findUserByID(id: string): Promise<User>;
  /** Newest first. */
  findUsers(filter: UserFilter): Promise<PageResult<User>>;
  /** Throws EINVALID (fields), ECONFLICT "A user with that email already exists.". */
  createUser(input: UserCreate): Promise<User>;
  /**
   * Admin edit. A password reset ends the user's sessions and revokes their API keys.
   * Throws EINVALID (fields), ENOTFOUND, ECONFLICT (email taken),
   * EFORBIDDEN "You cannot remove the last admin." when demoting the only admin.
   */
  updateUser(id: string, upd: UserUpdate): Promise<User>;
  /**
   * Self-service edit. A new password ends every session of the user except `currentSessionID` (the
   * caller's own, absent when the caller used an API key).
   * Changing the email needs `current_password` as well.
   * Throws EINVALID (fields, incl. "Current password is incorrect."), ECONFLICT.
   */
  updateProfile(id: string, upd: ProfileUpdate, currentSessionID?: string): Promise<User>;
  /**
   * Throws ENOTFOUND, EFORBIDDEN "You cannot delete yourself." / "You cannot remove the last admin.".
   */
  deleteUser(callerID: string, id: string): Promise<void>;
}
