/** `completion bash|zsh|fish`: scripts generated from the command tree, so they never drift from it. */
import type { Command } from "commander";

interface Spec {
  name: string;
  description: string;
  flags: string[];
  actions: string[];
}

/** Sub-actions taken as the first argument (`variables set`, `domain add`). */
const ACTIONS: Record<string, string[]> = {
  variables: ["list", "get", "set", "delete"],
  domain: ["list", "add", "generate", "remove"],
  completion: ["bash", "zsh", "fish"],
};

function flagsOf(cmd: Command): string[] {
  return cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)));
}

function specs(program: Command): { globals: string[]; commands: Spec[] } {
  const globals = [...flagsOf(program), "--help"];
  const commands = program.commands.map((c) => ({
    name: c.name(),
    description: c.description().replace(/['"\\`$]/g, ""),
    flags: [...flagsOf(c), ...globals],
    actions: ACTIONS[c.name()] ?? [],
  }));
  return { globals, commands };
}

function bash(program: Command): string {
  const { globals, commands } = specs(program);
  const cases = commands.map((c) => `    ${c.name}) opts="${[...c.actions, ...c.flags].join(" ")}" ;;`).join("\n");
  return `# deploykit completion for bash: source <(deploykit completion bash)
_deploykit() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" sub="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) sub="\${COMP_WORDS[i]}"; break ;; esac
  done
  local opts
  case "$sub" in
    "") opts="${[...commands.map((c) => c.name), ...globals].join(" ")}" ;;
${cases}
    *) opts="${globals.join(" ")}" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _deploykit deploykit
`;
}

function zsh(program: Command): string {
  const { globals, commands } = specs(program);
  const list = commands.map((c) => `    '${c.name}:${c.description}'`).join("\n");
  const cases = commands.map((c) => `      ${c.name}) compadd -- ${[...c.actions, ...c.flags].join(" ")} ;;`).join("\n");
  return `#compdef deploykit
# deploykit completion for zsh: deploykit completion zsh > "\${fpath[1]}/_deploykit"
_deploykit() {
  local -a commands
  commands=(
${list}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    compadd -- ${globals.join(" ")}
  else
    case "\${words[2]}" in
${cases}
    esac
    _files
  fi
}
compdef _deploykit deploykit
`;
}

function fish(program: Command): string {
  const { commands } = specs(program);
  const lines = ["# deploykit completion for fish: deploykit completion fish > ~/.config/fish/completions/deploykit.fish"];
  lines.push("complete -c deploykit -f");
  for (const o of program.options) {
    const parts = ["complete -c deploykit"];
    if (o.long) parts.push(`-l ${o.long.replace(/^--/, "")}`);
    if (o.short) parts.push(`-s ${o.short.replace(/^-/, "")}`);
    parts.push(`-d '${o.description.replace(/'/g, "")}'`);
    lines.push(parts.join(" "));
  }
  for (const c of commands) {
    lines.push(`complete -c deploykit -n __fish_use_subcommand -a ${c.name} -d '${c.description}'`);
    if (c.actions.length > 0) lines.push(`complete -c deploykit -n '__fish_seen_subcommand_from ${c.name}' -a '${c.actions.join(" ")}'`);
    const cmd = program.commands.find((x) => x.name() === c.name) as Command;
    for (const o of cmd.options) {
      const parts = [`complete -c deploykit -n '__fish_seen_subcommand_from ${c.name}'`];
      if (o.long) parts.push(`-l ${o.long.replace(/^--/, "")}`);
      if (o.short) parts.push(`-s ${o.short.replace(/^-/, "")}`);
      lines.push(parts.join(" "));
    }
  }
  return `${lines.join("\n")}\n`;
}

export function completion(program: Command, shell: string): string {
  if (shell === "bash") return bash(program);
  if (shell === "zsh") return zsh(program);
  return fish(program);
}
