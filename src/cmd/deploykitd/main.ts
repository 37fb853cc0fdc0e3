#!/usr/bin/env node
import { HELP, parseConfig, VERSION } from "./config.ts";

function main(): void {
  let parsed: ReturnType<typeof parseConfig>;
  try {
    parsed = parseConfig(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`deploykitd: ${(err as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (parsed.kind === "help") return void process.stdout.write(HELP);
  if (parsed.kind === "version") return void process.stdout.write(`deploykitd ${VERSION}\n`);
  process.stdout.write(`deploykitd ${VERSION}: would serve on ${parsed.config.addr} with ${parsed.config.db}\n`);
}

main();
