import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { newLogger } from "./logger.ts";

function capture() {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, dest };
}

describe("logger", () => {
  it.each([
    [{ password: "hunter2-secret" }],
    [{ body: { password: "hunter2-secret", new_password: "hunter2-secret", current_password: "hunter2-secret" } }],
    [{ req: { headers: { authorization: "Bearer hunter2-secret" } } }],
    [{ headers: { authorization: "Bearer hunter2-secret" } }],
    [{ tokens: { access_token: "hunter2-secret", refresh_token: "hunter2-secret" } }],
    [{ payload: { key: "DB_PASSWORD", value: "hunter2-secret", old_value: "hunter2-secret" } }],
    [{ deployment: { env_vars: { DB_PASSWORD: "hunter2-secret" } } }],
    [{ spec: { env: { DB_PASSWORD: "hunter2-secret" } } }],
    [{ token: "hunter2-secret" }],
  ])("redacts secrets from %j", (obj) => {
    const { lines, dest } = capture();
    newLogger("info", dest).info(obj, "something happened");
    expect(lines.length).toBe(1);
    expect(lines[0]).not.toContain("hunter2-secret");
    expect(lines[0]).toContain("[redacted]");
    expect(lines[0]).toContain("something happened");
  });

  it("keeps ordinary fields and honours the level", () => {
    const { lines, dest } = capture();
    const log = newLogger("warn", dest);
    log.info({ project_id: "p1" }, "hidden");
    log.warn({ project_id: "p1", key: "DB_PASSWORD" }, "shown");
    expect(lines.length).toBe(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ project_id: "p1", key: "DB_PASSWORD", msg: "shown", service: "deploykitd" });
  });
});
