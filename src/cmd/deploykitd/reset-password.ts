import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import * as deploykit from "../../index.ts";
import * as sqlite from "../../sqlite/index.ts";
import { whichDB } from "./backup.ts";
import type { Config } from "./config.ts";

/**
 * `deploykitd reset-password <email>`: offline recovery for a locked-out or forgotten admin, run on
 * the host (whoever can run it can read the database anyway). Sets a new random password, which ends
 * the user's sessions and revokes their API keys, and returns it to be printed once. Safe while the
 * daemon runs (SQLite WAL).
 */
export async function resetPassword(cfg: Config, email: string): Promise<string> {
  // Only the daemon creates a database: a wrong path is named, never filled with an empty one.
  if (cfg.db !== ":memory:" && !existsSync(cfg.db)) throw whichDB(cfg, deploykit.errorf(deploykit.ENOTFOUND, `No database at ${cfg.db}.`));
  const db = new sqlite.DB(cfg.db);
  db.open();
  try {
    const users = new sqlite.UserService(db);
    const wanted = deploykit.normalizeEmail(email);
    const user = (await users.findUsers({ email: wanted, limit: deploykit.MAX_LIMIT })).items.find((u) => u.email === wanted);
    if (!user) throw deploykit.errorf(deploykit.ENOTFOUND, `No user with the email ${wanted}.`);
    const password = randomBytes(18).toString("base64url");
    await users.updateUser(user.id, { password });
    return password;
  } finally {
    db.close();
  }
}
