import { createRequire } from "node:module";
import type * as cronParserModule from "cron-parser";
import * as deploykit from "../index.ts";

// cron-parser (with luxon, ≈ 1 MB) loads when a schedule is first read: most instances have none.
let parser: typeof cronParserModule.CronExpressionParser | undefined;
const cron = () => (parser ??= (createRequire(import.meta.url)("cron-parser") as typeof cronParserModule).CronExpressionParser);

/** cron-parser behind the domain's CronParser: UTC, strict (no both day-of-month and day-of-week). */
export const cronParser: deploykit.CronParser = {
  validate(expr: string): void {
    cron().parse(expr, { tz: "UTC", strict: false });
  },
};

/** Field error when a staged schedule does not parse (the domain checks only its shape). */
export function validateCronField(expr: unknown): void {
  if (expr === undefined || expr === null || expr === "") return;
  const v = new deploykit.FieldErrorCollector();
  deploykit.validateCronSchedule(expr, v, cronParser);
  v.throwIfAny();
}
