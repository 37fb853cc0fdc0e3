/**
 * Typed client of the DeployKit HTTP API. Error envelopes become DeployKitError with the same code,
 * message, field errors and Retry-After, so callers handle failures exactly like domain calls.
 * Uses only `fetch` (browser and Node alike).
 */
import {
  type APIKey,
  type APIKeyCreate,
  type APIKeyCreated,
  type ApplyResult,
  type AuthTokens,
  type Container,
  DeployKitError,
  type Deployment,
  type DeploymentCreate,
  type DomainCreate,
  EINTERNAL,
  type ErrorCode,
  type FieldErrors,
  type LogLine,
  MAX_LIMIT,
  type MaskedEnvVar,
  type MetricsRange,
  type MetricsSeries,
  type PageResult,
  type PendingChange,
  type Preset,
  type ProfileUpdate,
  type Project,
  type ReferenceCatalog,
  type RunEnv,
  type ScheduledBackupResult,
  type Service,
  type ServiceDomainListed,
  type ServiceMetricsSummary,
  type ServiceRun,
  type ServiceSettings,
  type ServiceUpdate,
  type Settings,
  type SettingsUpdate,
  type SystemAbout,
  type SystemStatus,
  type User,
  type UserCreate,
  type UserUpdate,
} from "../index.ts";

const CODES: readonly string[] = [
  "conflict",
  "internal",
  "invalid",
  "not_found",
  "unauthorized",
  "forbidden",
  "rate_limited",
  "unavailable",
];

export interface PageQuery {
  offset?: number;
  limit?: number;
}

/** Where an env var lives. */
export type EnvOwner =
  | { scope: "project" }
  | { scope: "shared" }
  | { scope: "service"; serviceID: string }
  | { scope: "group"; groupID: string };

export interface ServiceCreateInput extends Partial<ServiceSettings> {
  name: string;
  image: string;
  icon_url?: string | null;
  env_vars?: { key: string; value: string }[];
  position_x?: number;
  position_y?: number;
}

/** One SSE frame of the logs stream. */
export type LogEvent =
  | { container_id: string; stream: "stdout" | "stderr"; line: string; ts?: string }
  | { event: "replicas"; replicas: Record<string, number> }
  | { container_id: string; event: "container_exited" }
  | { event: "dropped"; count: number }
  | { event: "end" };

interface Envelope<T> {
  data: T[];
  total_count: number;
  offset: number;
  limit: number;
}

const enc = encodeURIComponent;

function qs(params: Record<string, string | number | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${enc(k)}=${enc(String(v))}`);
  return parts.length > 0 ? `?${parts.join("&")}` : "";
}

function envBase(projectID: string, owner: EnvOwner): string {
  const p = `/api/projects/${enc(projectID)}`;
  if (owner.scope === "service") return `${p}/services/${enc(owner.serviceID)}/env-vars`;
  if (owner.scope === "group") return `${p}/groups/${enc(owner.groupID)}/env-vars`;
  if (owner.scope === "shared") return `${p}/shared/env-vars`;
  return `${p}/env-vars`;
}

/** Maps an error response to a DeployKitError. */
export async function errorFromResponse(res: Response): Promise<DeployKitError> {
  let body: { error?: unknown; message?: unknown; errors?: unknown } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // not JSON: fall through to a generic error
  }
  const code = (typeof body.error === "string" && CODES.includes(body.error) ? body.error : EINTERNAL) as ErrorCode;
  const message = typeof body.message === "string" ? body.message : `HTTP ${res.status}`;
  const opts: { fields?: FieldErrors; retryAfterSeconds?: number } = {};
  if (body.errors && typeof body.errors === "object") opts.fields = body.errors as FieldErrors;
  const retry = res.headers.get("retry-after");
  if (retry !== null && /^\d+$/.test(retry)) opts.retryAfterSeconds = Number(retry);
  return new DeployKitError(code, message, opts);
}

export class Client {
  readonly baseURL: string;
  token: string | null;
  private readonly fetchFn: typeof fetch;

  constructor(baseURL: string, opts: { token?: string | null; fetch?: typeof fetch } = {}) {
    this.baseURL = baseURL.replace(/\/+$/, "");
    this.token = opts.token ?? null;
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
  }

  /** The canvas WebSocket URL of a project. */
  canvasURL(projectID: string): string {
    return `${this.baseURL.replace(/^http/, "ws")}/api/projects/${enc(projectID)}/canvas/ws`;
  }

  private headers(hasBody: boolean): Record<string, string> {
    const h: Record<string, string> = {};
    if (hasBody) h["Content-Type"] = "application/json";
    if (this.token) h.Authorization = `Bearer ${this.token}`;
    return h;
  }

  /** One request; JSON in and out, 204 → undefined, error envelopes → DeployKitError. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method, headers: this.headers(body !== undefined) };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await this.fetchFn(this.baseURL + path, init);
    if (!res.ok) throw await errorFromResponse(res);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  private async page<T>(path: string, query: Record<string, string | number | undefined>): Promise<PageResult<T>> {
    const env = await this.request<Envelope<T>>("GET", path + qs(query));
    return { items: env.data, total: env.total_count };
  }

  // Auth
  health = () => this.request<{ status: string }>("GET", "/api/health");
  canRegister = async () => (await this.request<{ can_register: boolean }>("GET", "/api/auth/register")).can_register;
  /** `setup_token` is the one-time token of a fresh install (`<data-dir>/setup-token`). */
  register = (input: UserCreate & { setup_token: string }) =>
    this.request<{ user: User; tokens: AuthTokens }>("POST", "/api/auth/register", input);
  login = (email: string, password: string) => this.request<AuthTokens>("POST", "/api/auth/login", { email, password });
  refresh = (refreshToken: string) => this.request<AuthTokens>("POST", "/api/auth/refresh", { refresh_token: refreshToken });
  logout = () => this.request<void>("POST", "/api/auth/logout");
  logoutAll = () => this.request<void>("POST", "/api/auth/logout-all");
  me = () => this.request<User>("GET", "/api/auth/me");
  updateProfile = (upd: ProfileUpdate) => this.request<User>("PATCH", "/api/auth/profile", upd);

  // Projects
  createProject = (name: string) => this.request<Project>("POST", "/api/projects", { name });
  findProjects = (filter: PageQuery & { name?: string } = {}) => this.page<Project>("/api/projects", { ...filter });
  findProjectByID = (id: string) => this.request<Project>("GET", `/api/projects/${enc(id)}`);
  /** Stages a rename. */
  updateProject = (id: string, name: string) => this.request<PendingChange>("PATCH", `/api/projects/${enc(id)}`, { name });
  deleteProject = (id: string) => this.request<void>("DELETE", `/api/projects/${enc(id)}`);

  // Services
  /** Stages a new service (canvas node + service.create). */
  createService = (projectID: string, input: ServiceCreateInput) =>
    this.request<PendingChange>("POST", `/api/projects/${enc(projectID)}/services`, input);
  findServices = (projectID: string, filter: PageQuery & { name?: string; status?: string } = {}) =>
    this.page<Service>(`/api/projects/${enc(projectID)}/services`, { ...filter });
  findServiceByID = (projectID: string, id: string) => this.request<Service>("GET", `/api/projects/${enc(projectID)}/services/${enc(id)}`);
  /** Stages settings (service.update). */
  updateService = (projectID: string, id: string, upd: ServiceUpdate) =>
    this.request<PendingChange>("PATCH", `/api/projects/${enc(projectID)}/services/${enc(id)}`, upd);
  /** Stages a deletion (service.delete). */
  deleteService = (projectID: string, id: string) =>
    this.request<PendingChange>("DELETE", `/api/projects/${enc(projectID)}/services/${enc(id)}`);

  /** Cron runs of a service, newest first. */
  findRuns = (projectID: string, serviceID: string, page: PageQuery = {}) =>
    this.page<ServiceRun>(`/api/projects/${enc(projectID)}/services/${enc(serviceID)}/runs`, { ...page });
  /** "Run now": starts a run of a cron service (recorded skipped when one is still going). */
  runNow = (projectID: string, serviceID: string) =>
    this.request<ServiceRun>("POST", `/api/projects/${enc(projectID)}/services/${enc(serviceID)}/runs`);

  // Deployments and containers
  createDeployment = (projectID: string, serviceID: string, input: DeploymentCreate) =>
    this.request<Deployment>("POST", `/api/projects/${enc(projectID)}/services/${enc(serviceID)}/deployments`, input);
  findDeployments = (projectID: string, serviceID: string, page: PageQuery = {}) =>
    this.page<Deployment>(`/api/projects/${enc(projectID)}/services/${enc(serviceID)}/deployments`, { ...page });
  findDeploymentByID = (projectID: string, serviceID: string, id: string) =>
    this.request<Deployment>("GET", `/api/projects/${enc(projectID)}/services/${enc(serviceID)}/deployments/${enc(id)}`);
  /**
   * A deployment's runtime logs, newest `tail` lines in time order: read from its containers while
   * Docker has them (`source: "containers"`), else the lines kept when they were removed (`"kept"`).
   */
  deploymentLogs = (projectID: string, serviceID: string, deploymentID: string, q: { tail?: number } = {}) =>
    this.request<{ source: "containers" | "kept"; data: LogLine[] }>(
      "GET",
      `/api/projects/${enc(projectID)}/services/${enc(serviceID)}/deployments/${enc(deploymentID)}/logs${qs(q)}`,
    );
  rollback = (projectID: string, serviceID: string, deploymentID: string) =>
    this.request<Service>("POST", `/api/projects/${enc(projectID)}/services/${enc(serviceID)}/rollback`, { deployment_id: deploymentID });
  /** Immediate actions (not staged): restart one replica at a time, stop and keep down, start again. */
  restartService = (projectID: string, serviceID: string) =>
    this.request<Service>("POST", `/api/projects/${enc(projectID)}/services/${enc(serviceID)}/restart`);
  stopService = (projectID: string, serviceID: string) =>
    this.request<Service>("POST", `/api/projects/${enc(projectID)}/services/${enc(serviceID)}/stop`);
  startService = (projectID: string, serviceID: string) =>
    this.request<Service>("POST", `/api/projects/${enc(projectID)}/services/${enc(serviceID)}/start`);
  findContainers = (projectID: string, serviceID: string, filter: PageQuery & { deployment_id?: string; status?: string } = {}) =>
    this.page<Container>(`/api/projects/${enc(projectID)}/services/${enc(serviceID)}/containers`, { ...filter });

  // Metrics (issue 15)
  serviceMetrics = (projectID: string, serviceID: string, q: { range?: MetricsRange | string; replica?: string } = {}) =>
    this.request<MetricsSeries>("GET", `/api/projects/${enc(projectID)}/services/${enc(serviceID)}/metrics${qs(q)}`);
  projectMetricsSummary = (projectID: string) =>
    this.request<{ interval_seconds: number; data: ServiceMetricsSummary[] }>("GET", `/api/projects/${enc(projectID)}/metrics/summary`);

  // Env vars (all edits are staged)
  findEnvVars = async (projectID: string, owner: EnvOwner) =>
    (await this.request<{ data: MaskedEnvVar[] }>("GET", envBase(projectID, owner))).data;
  createEnvVar = (projectID: string, owner: EnvOwner, key: string, value: string, opts: { sealed?: boolean } = {}) =>
    this.request<PendingChange>("POST", envBase(projectID, owner), { key, value, ...opts });
  updateEnvVar = (projectID: string, owner: EnvOwner, id: string, value: string, opts: { sealed?: boolean } = {}) =>
    this.request<PendingChange>("PATCH", `${envBase(projectID, owner)}/${enc(id)}`, { value, ...opts });
  /** Audited; EFORBIDDEN for a sealed variable. */
  revealEnvVar = (projectID: string, owner: EnvOwner, id: string) =>
    this.request<{ id: string; key: string; value: string }>("POST", `${envBase(projectID, owner)}/${enc(id)}/reveal`);
  deleteEnvVar = (projectID: string, owner: EnvOwner, id: string) =>
    this.request<PendingChange>("DELETE", `${envBase(projectID, owner)}/${enc(id)}`);
  /** Stages a new key (references to it are rewritten) and optionally a new value. */
  renameEnvVar = (projectID: string, owner: EnvOwner, id: string, key: string) =>
    this.request<PendingChange>("PATCH", `${envBase(projectID, owner)}/${enc(id)}`, { key });
  getEnvRaw = async (projectID: string, owner: EnvOwner) =>
    (await this.request<{ text: string }>("GET", `${envBase(projectID, owner)}/raw`)).text;
  /** Stages the difference between the text and the applied variables as one change. */
  putEnvRaw = async (projectID: string, owner: EnvOwner, text: string) =>
    (await this.request<{ data: PendingChange[] }>("PUT", `${envBase(projectID, owner)}/raw`, { text })).data;
  /** The resolved variables `deploykit run` injects (sealed values for admins only; audited, never cached). */
  findRunEnv = (projectID: string, serviceID: string) =>
    this.request<RunEnv>("GET", `/api/projects/${enc(projectID)}/services/${enc(serviceID)}/run-env`);
  findReferenceCatalog = (projectID: string) => this.request<ReferenceCatalog>("GET", `/api/projects/${enc(projectID)}/env-references`);
  createPendingServiceEnvVar = (projectID: string, tempID: string, key: string, value: string) =>
    this.request<PendingChange>("POST", `/api/projects/${enc(projectID)}/pending-services/${enc(tempID)}/env-vars`, { key, value });

  // Domains (staged: domain.create / domain.delete)
  findDomains = async (projectID: string, serviceID: string) =>
    (await this.request<{ data: ServiceDomainListed[] }>("GET", `/api/projects/${enc(projectID)}/services/${enc(serviceID)}/domains`)).data;
  createDomain = (projectID: string, serviceID: string, input: DomainCreate) =>
    this.request<PendingChange>("POST", `/api/projects/${enc(projectID)}/services/${enc(serviceID)}/domains`, input);
  /** A PendingChange (domain.delete) for an applied domain; undefined when a staged create was cancelled. */
  deleteDomain = (projectID: string, serviceID: string, id: string) =>
    this.request<PendingChange | undefined>("DELETE", `/api/projects/${enc(projectID)}/services/${enc(serviceID)}/domains/${enc(id)}`);
  /** The proxy's internal CA root certificate (PEM). */
  proxyRootCertificate = async (): Promise<string> => {
    const res = await this.fetchFn(`${this.baseURL}/api/system/proxy/root.crt`, { headers: this.headers(false) });
    if (!res.ok) throw await errorFromResponse(res);
    return res.text();
  };

  // Pending changes
  findPendingChangePage = (projectID: string, page: PageQuery = {}) =>
    this.page<PendingChange>(`/api/projects/${enc(projectID)}/pending-changes`, { ...page });
  /** The whole log, a page of the largest size at a time. */
  findPendingChanges = async (projectID: string): Promise<PendingChange[]> => {
    const all: PendingChange[] = [];
    for (;;) {
      const { items, total } = await this.findPendingChangePage(projectID, { offset: all.length, limit: MAX_LIMIT });
      all.push(...items);
      if (items.length === 0 || all.length >= total) return all;
    }
  };
  discardPendingChanges = (projectID: string) => this.request<void>("DELETE", `/api/projects/${enc(projectID)}/pending-changes`);
  removePendingChange = (projectID: string, id: string) =>
    this.request<void>("DELETE", `/api/projects/${enc(projectID)}/pending-changes/${enc(id)}`);
  deploy = (projectID: string) => this.request<ApplyResult>("POST", `/api/projects/${enc(projectID)}/deploy`);

  // Presets
  findPresets = () => this.request<Preset[]>("GET", "/api/presets/databases");
  findPreset = (id: string) => this.request<Preset>("GET", `/api/presets/databases/${enc(id)}`);

  // API keys
  findAPIKeys = async () => (await this.request<{ data: APIKey[] }>("GET", "/api/api-keys")).data;
  createAPIKey = (input: APIKeyCreate) => this.request<APIKeyCreated>("POST", "/api/api-keys", input);
  deleteAPIKey = (id: string) => this.request<void>("DELETE", `/api/api-keys/${enc(id)}`);

  // Users (admin)
  createUser = (input: UserCreate) => this.request<User>("POST", "/api/users", input);
  findUsers = (filter: PageQuery & { email?: string; role?: string } = {}) => this.page<User>("/api/users", { ...filter });
  findUserByID = (id: string) => this.request<User>("GET", `/api/users/${enc(id)}`);
  updateUser = (id: string, upd: UserUpdate) => this.request<User>("PATCH", `/api/users/${enc(id)}`, upd);
  deleteUser = (id: string) => this.request<void>("DELETE", `/api/users/${enc(id)}`);

  // System and settings
  about = () => this.request<SystemAbout>("GET", "/api/system/about");
  status = () => this.request<SystemStatus & { reconciler?: unknown }>("GET", "/api/system/status");
  /** Admin: a state backup now, into the scheduled backups' directory. */
  backupNow = () => this.request<ScheduledBackupResult>("POST", "/api/system/backups");
  getSettings = () => this.request<Settings>("GET", "/api/settings");
  updateSettings = (upd: SettingsUpdate) => this.request<Settings>("PATCH", "/api/settings", upd);

  /**
   * Follows a service's logs (SSE) until the stream ends, `signal` aborts, or `onEvent` returns false.
   * Throws DeployKitError for error responses (e.g. not_found when nothing runs).
   */
  async streamLogs(
    projectID: string,
    serviceID: string,
    onEvent: (e: LogEvent) => boolean | undefined,
    opts: { tail?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const init: RequestInit = { method: "GET", headers: this.headers(false) };
    if (opts.signal) init.signal = opts.signal;
    const res = await this.fetchFn(
      `${this.baseURL}/api/projects/${enc(projectID)}/services/${enc(serviceID)}/logs${qs({ tail: opts.tail })}`,
      init,
    );
    if (!res.ok) throw await errorFromResponse(res);
    await readSSEFrames(res, (f) => {
      if (f.event === "end") {
        onEvent({ event: "end" });
        return false;
      }
      if (f.data === "") return undefined;
      return onEvent(JSON.parse(f.data) as LogEvent);
    });
  }
}

/** One Server-Sent Events frame: its `event:` (default "message") and its `data:` lines joined by newlines. */
export interface SSEFrame {
  event: string;
  data: string;
}

/**
 * Reads an SSE response body frame by frame until it ends or `onFrame` returns false, then releases
 * it. The one SSE parser of the API's consumers (this client's log stream, the CLI's logs and builds).
 */
export async function readSSEFrames(res: Response, onFrame: (f: SSEFrame) => boolean | undefined): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let i = buf.indexOf("\n\n");
      while (i >= 0) {
        const raw = buf.slice(0, i);
        buf = buf.slice(i + 2);
        i = buf.indexOf("\n\n");
        let event = "message";
        const data: string[] = [];
        for (const line of raw.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
        }
        if (onFrame({ event, data: data.join("\n") }) === false) return;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
