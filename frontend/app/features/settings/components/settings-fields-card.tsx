import { type ReactNode, useState } from "react";
import { toast } from "sonner";
import type { SettingsUpdate } from "../../../../../src/settings.ts";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { useUpdateSettings } from "../../../shared/settings/api/settings.ts";

export interface SettingsField<K extends string> {
  key: K;
  label: string;
  hint: string;
  placeholder?: string;
}

/** What a card's fields amount to: the update to send (changed fields only), and a message per field the form refuses. */
export interface FieldsCheck<K extends string> {
  changes: SettingsUpdate;
  invalid: Partial<Record<K, string>>;
}

/**
 * A card of instance settings edited as text fields (admin settings): the saved values, the edits,
 * one Save that sends what changed, the server's field errors under each field and any other error
 * below. `check` says what the edits amount to; the server checks everything again.
 */
export function SettingsFieldsCard<K extends string>(props: {
  testID: string;
  title: string;
  description: ReactNode;
  fields: readonly SettingsField<K>[];
  saved: Record<K, string>;
  check: (saved: Record<K, string>, edited: Record<K, string>) => FieldsCheck<K>;
  input?: { className?: string; inputMode?: "decimal" };
}) {
  const { fields, saved } = props;
  const [edited, setEdited] = useState(saved);
  const update = useUpdateSettings();
  const { changes, invalid } = props.check(saved, edited);
  const fieldErr = fields.some((f) => fieldError(update.error, f.key));
  const refused = fields.some((f) => invalid[f.key] !== undefined);
  return (
    <Card data-testid={props.testID}>
      <CardHeader>
        <CardTitle>{props.title}</CardTitle>
        <CardDescription>{props.description}</CardDescription>
      </CardHeader>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate(changes, { onSuccess: () => toast.success("Settings saved") });
        }}
      >
        <CardContent className="grid gap-4 sm:grid-cols-2">
          {fields.map((f) => (
            <Field key={f.key} label={f.label} htmlFor={f.key} hint={f.hint} error={invalid[f.key] ?? fieldError(update.error, f.key)}>
              <Input
                id={f.key}
                {...(props.input?.className ? { className: props.input.className } : {})}
                {...(props.input?.inputMode ? { inputMode: props.input.inputMode } : {})}
                {...(f.placeholder ? { placeholder: f.placeholder } : {})}
                value={edited[f.key]}
                onChange={(e) => setEdited((s) => ({ ...s, [f.key]: e.target.value }))}
              />
            </Field>
          ))}
          {update.error && !fieldErr ? <p className="text-xs text-destructive sm:col-span-2">{errorText(update.error)}</p> : null}
        </CardContent>
        <CardFooter className="justify-end">
          <Button type="submit" disabled={refused || Object.keys(changes).length === 0 || update.isPending}>
            Save
          </Button>
        </CardFooter>
      </form>
    </Card>
  );
}
