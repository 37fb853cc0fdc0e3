#!/usr/bin/env node
import { HELP, type ParsedArgs, parseConfig, VERSION } from "./config.ts";
import { backup, type Daemon, startDaemon } from "./daemon.ts";
import { logDestination, newLogger } from "./logger.ts";
import { resetPassword } from "./reset-password.ts";

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

  if (parsed.kind === "backup") {
    try {
      await backup(parsed.config, parsed.file);
      process.stdout.write(`deploykitd: backed up ${parsed.config.db} to ${parsed.file}\n`);
      return;
    } catch (err) {
      process.stderr.write(`deploykitd: backup failed: ${(err as Error).message}\n`);
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
    daemon = await startDaemon(parsed.config, { logger });
  } catch (err) {
    logger.fatal({ err }, "startup failed");
    process.exit(1);
  }
  if (stopping) await daemon.close();
}

await main();
