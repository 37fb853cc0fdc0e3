import { Button } from "../../../components/ui/button.tsx";

/** A settings card's Reset and Stage changes: both off until something changed; staging also off while invalid or in flight. */
export function StagedFormActions({
  dirty,
  invalid,
  pending,
  onReset,
}: {
  dirty: boolean;
  invalid: boolean;
  pending: boolean;
  onReset: () => void;
}) {
  return (
    <div className="flex justify-end gap-2">
      <Button variant="ghost" disabled={!dirty} onClick={onReset}>
        Reset
      </Button>
      <Button type="submit" disabled={!dirty || invalid || pending}>
        Stage changes
      </Button>
    </div>
  );
}
