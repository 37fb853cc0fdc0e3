import { Field, Input } from "../../../components/ui/input.tsx";
import type { parseCommand } from "../../../lib/command.ts";

/** An argv setting edited as one shell-like line, with the parsed list shown (no shell runs it). */
export function ArgvField(props: {
  label: string;
  id: string;
  value: string;
  parsed: ReturnType<typeof parseCommand>;
  serverError: string | null | undefined;
  runsAs: (argv: string[]) => string;
  empty: string;
  placeholder?: string;
  onChange: (value: string) => void;
}) {
  const { argv, error } = props.parsed;
  return (
    <Field
      label={props.label}
      htmlFor={props.id}
      error={error ?? props.serverError ?? null}
      hint={argv.length > 0 ? props.runsAs(argv) : props.empty}
    >
      <Input
        id={props.id}
        className="font-mono"
        value={props.value}
        placeholder={props.placeholder ?? "image default"}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </Field>
  );
}
