import { FieldErrorCollector } from "./errors.ts";
import type { Page, PageResult } from "./pagination.ts";
import { hasControlChars } from "./validate.ts";

/**
 * Restart policies (issue 16). `always` is Docker's `unless-stopped` (the default), `on-failure`
 * restarts a container that exits non-zero at most `restart_max_retries` times, `never` leaves an
 * exited container exited.
 */
export const RESTART_ALWAYS = "always";
export const RESTART_ON_FAILURE = "on-failure";
export const RESTART_NEVER = "never";
export type RestartPolicy = typeof RESTART_ALWAYS | typeof RESTART_ON_FAILURE | typeof RESTART_NEVER;
export const RESTART_POLICIES: readonly RestartPolicy[] = [RESTART_ALWAYS, RESTART_ON_FAILURE, RESTART_NEVER];
/** Railway's default for on-failure. */
export const DEFAULT_RESTART_MAX_RETRIES = 10;
export const MAX_RESTART_MAX_RETRIES = 1000;

export function validateRestartPolicy(policy: unknown, retries: unknown, v: FieldErrorCollector): void {
  if (policy !== undefined && !(RESTART_POLICIES as readonly unknown[]).includes(policy))
    v.add("restart_policy", "Restart policy must be 'always', 'on-failure' or 'never'.");
  if (retries !== undefined && (!Number.isInteger(retries) || (retries as number) < 0 || (retries as number) > MAX_RESTART_MAX_RETRIES))
    v.add("restart_max_retries", `Max retries must be a whole number between 0 and ${MAX_RESTART_MAX_RETRIES}.`);
}

/** The policy Docker is given: the restart policy's own name in Docker's words. */
export function dockerRestartPolicy(
  policy: RestartPolicy | undefined,
  retries: number | undefined,
): { Name: string; MaximumRetryCount?: number } {
  if (policy === RESTART_NEVER) return { Name: "no" };
  if (policy === RESTART_ON_FAILURE) return { Name: "on-failure", MaximumRetryCount: retries ?? DEFAULT_RESTART_MAX_RETRIES };
  return { Name: "unless-stopped" };
}

/** Pre-deploy: how long its one-off container may run before it is stopped and the deployment fails. */
export const PRE_DEPLOY_TIMEOUT_SECONDS = 600;
export const PRE_DEPLOY_RUNNING = "running";
export const PRE_DEPLOY_SUCCEEDED = "succeeded";
export const PRE_DEPLOY_FAILED = "failed";
export type PreDeployStatus = typeof PRE_DEPLOY_RUNNING | typeof PRE_DEPLOY_SUCCEEDED | typeof PRE_DEPLOY_FAILED;

/** Label on one-off containers (pre-deploy, cron runs): the long-running reconciler leaves them to their owners. */
export const LABEL_ROLE = "deploykit.role";
export const ROLE_PRE_DEPLOY = "pre-deploy";
export const ROLE_CRON = "cron";
/** The cron run a container belongs to. */
export const LABEL_RUN_ID = "deploykit.run-id";

/** Cron: a 5-field UTC expression (minute hour day-of-month month day-of-week). */
export const CRON_SCHEDULE_MAX = 128;
export const DEFAULT_CRON_TIMEOUT_SECONDS = 3600;
export const MAX_CRON_TIMEOUT_SECONDS = 7 * 24 * 3600;
export const CRON_FIELDS_MESSAGE =
  "Schedule must be a 5-field cron expression in UTC (minute hour day-of-month month day-of-week), for example */5 * * * *.";

/**
 * The shape of a schedule (a string of exactly 5 fields: no seconds field, so at most once a
 * minute). Whether the fields mean anything is the cron library's call, made by the layers that
 * may import it (`parseCron` below is injected there).
 */
export function validateCronShape(expr: unknown, v: FieldErrorCollector, field = "cron_schedule"): expr is string {
  if (expr === undefined || expr === null) return false;
  if (typeof expr !== "string" || expr.length > CRON_SCHEDULE_MAX || hasControlChars(expr)) {
    v.add(field, CRON_FIELDS_MESSAGE);
    return false;
  }
  if (expr.trim().split(/\s+/).length !== 5) {
    v.add(field, CRON_FIELDS_MESSAGE);
    return false;
  }
  return true;
}

export function validateCronTimeout(seconds: unknown, v: FieldErrorCollector): void {
  if (seconds === undefined) return;
  if (!Number.isInteger(seconds) || (seconds as number) < 1 || (seconds as number) > MAX_CRON_TIMEOUT_SECONDS)
    v.add("cron_timeout_seconds", `Timeout must be a whole number of seconds between 1 and ${MAX_CRON_TIMEOUT_SECONDS}.`);
}

/** The cron library, as the implementation layers give it. */
export interface CronParser {
  /** Throws when the expression is not valid. */
  validate(expr: string): void;
}

/** Full check of a schedule: shape here, meaning by the parser. */
export function validateCronSchedule(expr: unknown, v: FieldErrorCollector, parser: CronParser): void {
  const c = new FieldErrorCollector();
  if (!validateCronShape(expr, c)) {
    Object.assign(v.fields, c.fields);
    return;
  }
  try {
    parser.validate(expr);
  } catch (err) {
    v.add("cron_schedule", `${CRON_FIELDS_MESSAGE} ${err instanceof Error ? err.message : ""}`.trim());
  }
}

export const RUN_RUNNING = "running";
export const RUN_SUCCEEDED = "succeeded";
export const RUN_FAILED = "failed";
export const RUN_SKIPPED = "skipped";
export type RunStatus = typeof RUN_RUNNING | typeof RUN_SUCCEEDED | typeof RUN_FAILED | typeof RUN_SKIPPED;
export const TRIGGER_SCHEDULE = "schedule";
export const TRIGGER_MANUAL = "manual";
export type RunTrigger = typeof TRIGGER_SCHEDULE | typeof TRIGGER_MANUAL;
/** Lines of a run's log kept with it. */
export const RUN_LOG_LINES = 200;

/** One run of a cron service: a container from the serving deployment, run to exit. */
export interface ServiceRun {
  id: string;
  service_id: string;
  deployment_id: string;
  trigger: RunTrigger;
  status: RunStatus;
  started_at: string;
  finished_at?: string;
  exit_code?: number;
  /** Why it failed or was skipped ("timed out after 60 s", "a run was still going"). */
  reason?: string;
  /** Set when the run was stopped at its timeout (status failed). */
  timed_out?: boolean;
  log_tail?: string;
  /** Internal: the run's container while it runs. */
  docker_container_id?: string;
}

export interface ServiceRunFilter extends Page {
  service_id?: string;
  status?: RunStatus[];
}

export interface ServiceRunFinish {
  status: typeof RUN_SUCCEEDED | typeof RUN_FAILED;
  exit_code?: number;
  reason?: string;
  timed_out?: boolean;
  log_tail?: string;
}

/** Stores cron runs. The scheduler is the only writer. */
export interface ServiceRunService {
  /** Newest first. */
  findRuns(filter: ServiceRunFilter): Promise<PageResult<ServiceRun>>;
  /** Throws ENOTFOUND "Run not found.". */
  findRunByID(id: string): Promise<ServiceRun>;
  /**
   * Starts a run in one transaction: when one is already running for the service, a `skipped` run is
   * recorded instead. Publishes run.started / run.skipped.
   */
  beginRun(input: { service_id: string; deployment_id: string; trigger: RunTrigger }): Promise<ServiceRun>;
  /** Remembers the run's container. */
  attachContainer(id: string, dockerID: string): Promise<void>;
  /** Runs still marked running (all services): what a restarted scheduler adopts. */
  findRunningRuns(): Promise<ServiceRun[]>;
  /** running → succeeded/failed; no-op when already finished. Publishes run.finished. Throws ENOTFOUND. */
  finishRun(id: string, result: ServiceRunFinish): Promise<ServiceRun>;
}

/** The "Run now" action: starts a run of a cron service at once (or records it skipped). */
export interface CronRunner {
  /** Throws ENOTFOUND, EINVALID when the service is not a cron service or has no serving deployment. */
  runNow(serviceID: string): Promise<ServiceRun>;
}

/** The last `RUN_LOG_LINES` lines of a log. */
export function lastLines(text: string, n = RUN_LOG_LINES): string {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.slice(-n).join("\n");
}
