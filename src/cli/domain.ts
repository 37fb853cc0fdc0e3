/** `domain [list | add HOST | generate | remove HOST]`: the service's domains (staged, like the web app). */
import type * as deploykit from "../index.ts";
import { CliError, type Context, EXIT_NOT_FOUND, usage } from "./context.ts";
import { targetService } from "./target.ts";

export async function domain(ctx: Context, action: string, host: string | undefined, opts: { port?: string }): Promise<void> {
  const c = ctx.client();
  const { project, service } = await targetService(ctx);
  const input: deploykit.DomainCreate = {};
  if (opts.port !== undefined) {
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw usage("--port must be a port number (1-65535).");
    input.target_port = port;
  }
  switch (action) {
    case "list":
    case "ls": {
      const list = await c.findDomains(project.id, service.id);
      ctx.result({ domains: list }, () => {
        if (list.length === 0) ctx.print(ctx.dim(`No domains on ${service.name}.`));
        for (const d of list) {
          const state = d.staged ? "staged" : d.staged_delete ? "staged for removal" : d.status;
          ctx.print(`https://${d.hostname}  → :${d.target_port}  ${state}${d.last_error ? ctx.red(`  ${d.last_error}`) : ""}`);
        }
      });
      return;
    }
    case "add":
    case "generate": {
      if (action === "add") {
        if (!host) throw usage("Usage: deploykit domain add HOST");
        input.hostname = host;
      } else input.generate = true;
      const pc = await c.createDomain(project.id, service.id, input);
      ctx.result({ staged: pc }, () => {
        ctx.print(`Staged ${pc.op} ${String(pc.payload.hostname ?? host ?? "(generated name)")} on ${service.name}.`);
        ctx.print(ctx.dim("Run `deploykit deploy` to apply."));
      });
      return;
    }
    case "remove":
    case "rm":
    case "delete": {
      if (!host) throw usage("Usage: deploykit domain remove HOST");
      const d = (await c.findDomains(project.id, service.id)).find((x) => x.hostname === host.toLowerCase());
      if (!d) throw new CliError(`No domain ${host} on ${service.name}.`, EXIT_NOT_FOUND, "not_found");
      const pc = await c.deleteDomain(project.id, service.id, d.id);
      ctx.result({ staged: pc ?? null }, () =>
        ctx.print(pc ? `Staged domain.delete ${host}. Run \`deploykit deploy\` to apply.` : `Dropped the staged ${host}.`),
      );
      return;
    }
    default:
      throw usage(`Unknown action "${action}": use list, add, generate or remove.`);
  }
}
