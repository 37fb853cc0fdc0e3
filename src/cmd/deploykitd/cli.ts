/** deploykitd's command line: subcommands and the daemon's lifecycle (loaded by main.ts once Node is new enough). */
import { backup } from "./backup.ts";
import { HELP, type ParsedArgs, parseConfig, VERSION } from "./config.ts";
import type { Daemon } from "./daemon.ts";
import { installService } from "./install.ts";
import { logDestination, newLogger } from "./logger.ts";
import { resetPassword } from "./reset-password.ts";
import { restore } from "./restore.ts";
import { rotateKey } from "./rotate-key.ts";

async function main(): Promise<void> {
  let parsed: ParsedArgs;
  try {
    parsed = parseConfig(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`deploykitd: ${(err as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (parsed.kind === "help") return void process.stdout.write(HELP);
  if (parsed.kind === "version") return void process.stdout.write(`deploykitd ${VERSION}\n`);

  if (parsed.kind === "install-service") {
    try {
      return void process.stdout.write(installService(parsed));
    } catch (err) {
      process.stderr.write(`deploykitd: install-service failed: ${(err as Error).message}\n`);
      process.exit(1);
    }
  }
  if (parsed.kind === "backup" || parsed.kind === "restore") {
    const { kind, config, file } = parsed;
    try {
      process.stdout.write(kind === "backup" ? backup(config, file, process.env) : restore(config, file, process.env));
      return;
    } catch (err) {
      process.stderr.write(`deploykitd: ${kind} failed: ${(err as Error).message}\n`);
      process.exit(1);
    }
  }

  if (parsed.kind === "rotate-key") {
    try {
      return void process.stdout.write(rotateKey(parsed.config, process.env));
    } catch (err) {
      process.stderr.write(`deploykitd: rotate-key failed: ${(err as Error).message}\n`);
      process.exit(1);
    }
  }

  if (parsed.kind === "reset-password") {
    try {
      const password = await resetPassword(parsed.config, parsed.email);
      process.stdout.write(
        `deploykitd: new password for ${parsed.email}: ${password}\n(shown once; their sessions and API keys were revoked)\n`,
      );
      return;
    } catch (err) {
      process.stderr.write(`deploykitd: reset-password failed: ${(err as Error).message}\n`);
      process.exit(1);
    }
  }

  const logger = newLogger(parsed.config.logLevel, logDestination(parsed.config.logFormat));
  let daemon: Daemon | null = null;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal, exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    const done = daemon ? daemon.close() : Promise.resolve();
    done.then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    // Loaded only to serve: the maintenance subcommands stay quick and never touch the HTTP stack.
    const { startDaemon } = await import("./daemon.ts");
    daemon = await startDaemon(parsed.config, { logger });
  } catch (err) {
    logger.fatal({ err }, "startup failed");
    // Also plainly, for whoever started it from a shell.
    process.stderr.write(`deploykitd: startup failed: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (stopping) await daemon.close();
}

await main();
