import { describe, expect, it } from "vitest";
import { formatCommand, parseCommand } from "./command.ts";

describe("parseCommand", () => {
  it.each([
    ["redis-server --appendonly yes", ["redis-server", "--appendonly", "yes"]],
    ["  sh  -c   'echo a b; exit 3' ", ["sh", "-c", "echo a b; exit 3"]],
    [`node -e "console.log(\\"hi\\")"`, ["node", "-e", 'console.log("hi")']],
    ["a\\ b c", ["a b", "c"]],
    ["x '' y", ["x", "", "y"]],
    ["redis-server --requirepass ${{REDIS_PASSWORD}}", ["redis-server", "--requirepass", "${{REDIS_PASSWORD}}"]],
    ["echo $HOME", ["echo", "$HOME"]],
    ["", []],
  ])("%s", (line, argv) => {
    expect(parseCommand(line)).toEqual({ argv });
  });

  it("reports an unclosed quote", () => {
    expect(parseCommand("sh -c 'oops").error).toBe("Unclosed single quote.");
    expect(parseCommand('sh -c "oops').error).toBe("Unclosed double quote.");
  });

  it("formats back to a line that parses to the same argv", () => {
    for (const argv of [
      ["sh", "-c", "echo it's; exit 3"],
      ["redis-server", "--requirepass", "${{REDIS_PASSWORD}}"],
      ["a b", ""],
    ]) {
      expect(parseCommand(formatCommand(argv)).argv).toEqual(argv);
    }
    expect(formatCommand(null)).toBe("");
  });
});
