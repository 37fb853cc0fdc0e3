/** `variables` (staged edits, like the web app) and `run` (a local command with the resolved variables). */
import { spawn } from "node:child_process";
import type { Client } from "../http/client.ts";
import * as deploykit from "../index.ts";
import { CliError, type Context, EXIT_NOT_FOUND, usage } from "./context.ts";
import { targetProject, targetService } from "./target.ts";

interface Scope {
  project: deploykit.Project;
  service: deploykit.Service | null;
  /** REST base of the variables: the project's (shared) or the service's. */
  path: string;
  scopeID: string;
}

async function scopeOf(ctx: Context, shared: boolean): Promise<Scope> {
  const enc = encodeURIComponent;
  if (shared) {
    const project = await targetProject(ctx);
    return { project, service: null, path: `/api/projects/${enc(project.id)}/env-vars`, scopeID: project.id };
  }
  const { project, service } = await targetService(ctx);
  return { project, service, path: `/api/projects/${enc(project.id)}/services/${enc(service.id)}/env-vars`, scopeID: service.id };
}

async function applied(c: Client, s: Scope): Promise<deploykit.EnvVar[]> {
  return (await c.request<{ data: deploykit.EnvVar[] }>("GET", s.path)).data;
}

/** Staged variable edits of this scope, in order. */
async function staged(c: Client, s: Scope): Promise<deploykit.PendingChange[]> {
  return (await c.findPendingChanges(s.project.id)).filter(
    (pc) =>
      pc.op.startsWith("env_var.") && (pc.op === deploykit.OP_ENV_CREATE ? pc.target_id === s.scopeID : pc.payload.scope_id === s.scopeID),
  );
}

function parsePair(arg: string): [string, string] {
  const i = arg.indexOf("=");
  if (i <= 0) throw usage(`Expected KEY=VALUE, got "${arg}".`);
  return [arg.slice(0, i), arg.slice(i + 1)];
}

export async function variables(ctx: Context, action: string, args: string[], opts: { shared?: boolean; sealed?: boolean }): Promise<void> {
  const c = ctx.client();
  const s = await scopeOf(ctx, Boolean(opts.shared));
  const where = s.service ? `service ${s.service.name}` : `project ${s.project.name} (shared)`;
  const vars = await applied(c, s);
  const byKey = new Map(vars.map((v) => [v.key, v]));
  switch (action) {
    case "list":
    case "ls": {
      const pending = await staged(c, s);
      // Values are masked in lists (`variables get KEY` reveals one); sealed ones are never shown.
      const list = vars.map((v) => ({
        key: v.key,
        value: (v as { sealed?: boolean }).sealed ? "(sealed)" : (v.value ?? "(hidden: variables get)"),
        staged: null as string | null,
      }));
      for (const pc of pending) {
        const key = String(pc.payload.key);
        const row = list.find((r) => r.key === key);
        const verb = pc.op.split(".")[1] as string;
        if (row) row.staged = verb;
        else list.push({ key, value: String(pc.payload.value ?? ""), staged: verb });
      }
      ctx.result({ scope: s.service ? "service" : "project", variables: list }, () => {
        if (list.length === 0) ctx.print(ctx.dim(`No variables on ${where}.`));
        for (const r of list) ctx.print(`${r.key}=${r.value}${r.staged ? ctx.yellow(` (staged ${r.staged})`) : ""}`);
      });
      return;
    }
    case "get": {
      const key = args[0];
      if (!key || args.length > 1) throw usage("Usage: deploykit variables get KEY");
      const v = byKey.get(key);
      if (!v) throw new CliError(`No variable ${key} on ${where}.`, EXIT_NOT_FOUND, "not_found");
      if ((v as { sealed?: boolean }).sealed) throw new CliError(`${key} is sealed: its value is write-only.`, 1, "forbidden");
      // Lists never carry values: one is revealed on request (and audited by the server).
      const { value } = await c.request<{ value: string }>("POST", `${s.path}/${encodeURIComponent(v.id)}/reveal`);
      ctx.result({ key, value }, () => ctx.print(value));
      return;
    }
    case "set": {
      if (args.length === 0) throw usage("Usage: deploykit variables set KEY=VALUE…");
      const pairs = args.map(parsePair);
      const out: { key: string; op: string; pending_change_id: string }[] = [];
      for (const [key, value] of pairs) {
        const existing = byKey.get(key);
        const body: Record<string, unknown> = existing ? { value } : { key, value };
        if (opts.sealed) body.sealed = true;
        const pc = existing
          ? await c.request<deploykit.PendingChange>("PATCH", `${s.path}/${encodeURIComponent(existing.id)}`, body)
          : await c.request<deploykit.PendingChange>("POST", s.path, body);
        out.push({ key, op: pc.op, pending_change_id: pc.id });
      }
      ctx.result({ staged: out }, () => {
        for (const o of out) ctx.print(`Staged ${o.op} ${o.key} on ${where}.`);
        ctx.print(ctx.dim("Run `deploykit deploy` to apply."));
      });
      return;
    }
    case "delete":
    case "rm":
    case "unset": {
      if (args.length === 0) throw usage("Usage: deploykit variables delete KEY…");
      const out: { key: string; op: string; pending_change_id: string }[] = [];
      for (const key of args) {
        const v = byKey.get(key);
        if (v) {
          const pc = await c.deleteEnvVar(
            s.project.id,
            s.service ? { scope: "service", serviceID: s.scopeID } : { scope: "project" },
            v.id,
          );
          out.push({ key, op: pc.op, pending_change_id: pc.id });
          continue;
        }
        // Only staged: dropping the staged create is the deletion.
        const create = (await staged(c, s)).find((pc) => pc.op === deploykit.OP_ENV_CREATE && pc.payload.key === key);
        if (!create) throw new CliError(`No variable ${key} on ${where}.`, EXIT_NOT_FOUND, "not_found");
        await c.removePendingChange(s.project.id, create.id);
        out.push({ key, op: "unstaged", pending_change_id: create.id });
      }
      ctx.result({ staged: out }, () => {
        for (const o of out) ctx.print(o.op === "unstaged" ? `Dropped the staged ${o.key}.` : `Staged ${o.op} ${o.key} on ${where}.`);
      });
      return;
    }
    default:
      throw usage(`Unknown action "${action}": use list, get, set or delete.`);
  }
}

/**
 * The service's variables as its next deployment gets them (project < group < service, every
 * reference resolved), from `GET …/run-env`: sealed values are included for admins and left out for
 * members (named on stderr, never their values). Nothing here is ever printed.
 */
export async function resolvedVariables(
  c: Client,
  project: deploykit.Project,
  service: deploykit.Service,
): Promise<Record<string, string>> {
  const run = await c.findRunEnv(project.id, service.id);
  if (run.sealed_omitted.length > 0)
    process.stderr.write(`note: sealed variables left out (only admins get them): ${run.sealed_omitted.join(", ")}\n`);
  for (const p of run.problems) process.stderr.write(`warning: ${p.message}\n`);
  return run.env;
}

export async function runCommand(ctx: Context, command: string, args: string[]): Promise<void> {
  const c = ctx.client();
  const { project, service } = await targetService(ctx);
  const env = { ...process.env, ...(await resolvedVariables(c, project, service)) };
  // Argument array, no shell: the command runs exactly as given. Values are never printed.
  const child = spawn(command, args, { stdio: "inherit", env });
  const code = await new Promise<number>((resolve) => {
    child.on("error", (err) => {
      process.stderr.write(`error: cannot run ${command}: ${(err as NodeJS.ErrnoException).code ?? err.message}\n`);
      resolve(127);
    });
    child.on("exit", (code, signal) => resolve(code ?? 128 + (signal ? signalNumber(signal) : 0)));
  });
  process.exitCode = code;
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 1;
}
