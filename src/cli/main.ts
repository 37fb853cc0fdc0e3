#!/usr/bin/env node
/**
 * `deploykit`: the command line of DeployKit, a consumer of its HTTP API like the web app.
 * Only commander loads at startup; each command's module (and the API client) is imported when the
 * command runs, so `--help` stays fast.
 */
import { Argument, Command, CommanderError, Option } from "commander";

type Action = (ctx: import("./context.ts").Context, ...args: never[]) => Promise<void>;

/** Wraps a lazily imported command: builds the context from the global options, maps errors to exit codes. */
function run(load: () => Promise<Action>) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const { Context, reportError } = await import("./context.ts");
    const globals = cmd.optsWithGlobals();
    try {
      const fn = await load();
      const ctx = new Context(globals);
      await (fn as (ctx: unknown, ...a: unknown[]) => Promise<void>)(ctx, ...args.slice(0, -2), args[args.length - 2]);
    } catch (err) {
      process.exitCode = reportError(err, Boolean(globals.json));
    }
  };
}

export function buildProgram(): Command {
  const program = new Command("deploykit");
  program
    .description("Deploy and operate services on a DeployKit server.")
    .version(process.env.npm_package_version ?? "0.1.0", "-V, --version")
    .exitOverride()
    .showSuggestionAfterError()
    .configureHelp({ showGlobalOptions: true })
    .option("--json", "machine-readable output (NDJSON events for `up`)")
    .option("--url <url>", "server URL (default: DEPLOYKIT_URL, then the stored login)")
    .option("-p, --project <project>", "project name or id (default: the link in .deploykit.json)")
    .option("-s, --service <service>", "service name or id (default: the link in .deploykit.json)")
    .addHelpText("after", "\nExit codes: 0 ok, 1 failure, 2 usage, 3 auth, 4 not found. Docs: docs/cli.md");

  program
    .command("login")
    .description("log in: a browser approval (device code), or --token for CI")
    .option("--token <token>", "an API key (dk_…) instead of the browser flow (or DEPLOYKIT_TOKEN)")
    .option("--no-browser", "print the approval URL without opening a browser")
    .action(run(async () => (await import("./auth.ts")).login));
  program
    .command("logout")
    .description("forget the stored credentials (and revoke the key the browser login created)")
    .action(run(async () => (await import("./auth.ts")).logout));
  program
    .command("whoami")
    .description("show the user the credentials belong to")
    .action(run(async () => (await import("./auth.ts")).whoami));

  program
    .command("link")
    .description("link this directory to a project and service (writes .deploykit.json)")
    .action(run(async () => (await import("./link.ts")).link));
  program
    .command("unlink")
    .description("remove this directory's link")
    .action(run(async () => (await import("./link.ts")).unlink));

  program
    .command("up")
    .description("upload this directory (or [dir]), build it, and follow it until it serves")
    .argument("[dir]", "directory to upload", ".")
    .option("-d, --detach", "return once the upload is accepted")
    .action(run(async () => (await import("./up.ts")).up));
  program
    .command("deploy")
    .description("apply the project's staged changes (prints the diff and asks first)")
    .option("-y, --yes", "do not ask (CI)")
    .action(run(async () => (await import("./deploy.ts")).deploy));
  program
    .command("redeploy")
    .description("deploy the service's current configuration again")
    .action(run(async () => (await import("./deploy.ts")).redeploy));
  program
    .command("restart")
    .description("restart the service's containers, one replica at a time")
    .action(run(async () => (await import("./deploy.ts")).restart));
  program
    .command("rollback")
    .description(
      "roll back to a previous deployment (default: the one before the active one; while a rollout is in flight, the active one, cancelling it)",
    )
    .argument("[deployment]", "deployment id")
    .action(run(async () => (await import("./deploy.ts")).rollback));

  program
    .command("logs")
    .description("print the service's logs")
    .option("-f, --follow", "keep following new lines")
    .option("--since <when>", "only lines since a duration ago (10m, 2h) or an RFC 3339 time")
    .option("--build", "the build log of the deployment instead of the runtime logs")
    .option(
      "--deployment <id>",
      "one deployment's logs (default: every running container); after its containers are removed, the lines kept then",
    )
    .addOption(new Option("-n, --tail <lines>", "lines of history").default("100"))
    .action(run(async () => (await import("./logs.ts")).logs));
  program
    .command("status")
    .description("projects, services, status, URLs and last deployment")
    .option("-a, --all", "every project, not only the linked one")
    .action(run(async () => (await import("./status.ts")).status));
  program
    .command("open")
    .description("open the service's URL (or the project's canvas) in the browser")
    .option("--canvas", "the canvas even when the service has a URL")
    .option("--print", "print the URL instead of opening it")
    .action(run(async () => (await import("./status.ts")).open));

  program
    .command("variables")
    .alias("vars")
    .description("list, get, set or delete the service's variables (staged, like the web app)")
    .argument("[action]", "list | get KEY | set K=V… | delete KEY", "list")
    .argument("[args...]", "keys or KEY=VALUE pairs")
    .option("--shared", "the project's shared variables instead of the service's")
    .option("--sealed", "seal the values being set (never shown again)")
    .action(run(async () => (await import("./variables.ts")).variables));
  program
    .command("run")
    .description("run a local command with the service's resolved variables in its environment")
    .argument("<command>", "program")
    .argument("[args...]", "its arguments (put the command after --: deploykit run -- npm test)")
    .action(run(async () => (await import("./variables.ts")).runCommand));

  program
    .command("domain")
    .description("list, add or generate the service's domains (staged)")
    .argument("[action]", "list | add HOST | generate | remove HOST", "list")
    .argument("[host]", "hostname")
    .option("--port <port>", "container port requests go to (default: the service's first)")
    .action(run(async () => (await import("./domain.ts")).domain));

  program
    .command("completion")
    .description("print a shell completion script")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(["bash", "zsh", "fish"]))
    .action(async (shell: string) => {
      const { completion } = await import("./completion.ts");
      process.stdout.write(completion(program, shell));
    });
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end with 0; every other parse error is a usage error.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const { reportError } = await import("./context.ts");
    process.exitCode = reportError(err, process.argv.includes("--json"));
  }
}

await main();
