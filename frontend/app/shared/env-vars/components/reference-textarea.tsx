import { useLayoutEffect, useRef, useState } from "react";
import { Textarea } from "../../../components/ui/input.tsx";
import { cn } from "../../../lib/utils.ts";
import { useReferenceCatalog } from "../api/env-raw.ts";
import { applySuggestion, type Suggestion, suggestAt } from "../lib/autocomplete.ts";

/**
 * A value field that completes references: typing `${{` lists the project's services (and
 * `shared`), then the picked one's variables with their resolved value (masked ones hidden).
 */
export function ReferenceTextarea({
  projectID,
  id,
  value,
  onChange,
  autoFocus,
}: {
  projectID: string;
  id: string;
  value: string;
  onChange: (v: string) => void;
  autoFocus?: boolean;
}) {
  const catalog = useReferenceCatalog(projectID);
  const ref = useRef<HTMLTextAreaElement>(null);
  const [caret, setCaret] = useState<number | null>(null);
  const [active, setActive] = useState(0);
  const found = caret === null ? null : suggestAt(value, caret, catalog.data);
  const items = found?.items ?? [];
  const pick = (s: Suggestion) => {
    if (!found || caret === null) return;
    const next = applySuggestion(value, caret, found.from, s);
    onChange(next.text);
    setCaret(next.caret);
    setActive(0);
    placeCaret.current = next.caret;
  };
  // The caret goes after the inserted reference in the same commit as the new value: placed later
  // (a frame after), it moved back under keys typed meanwhile and they landed before the reference.
  const placeCaret = useRef<number | null>(null);
  useLayoutEffect(() => {
    const at = placeCaret.current;
    if (at === null) return;
    placeCaret.current = null;
    ref.current?.focus();
    ref.current?.setSelectionRange(at, at);
  });
  const track = (e: React.SyntheticEvent<HTMLTextAreaElement>) => setCaret(e.currentTarget.selectionStart);
  return (
    <div className="relative">
      <Textarea
        ref={ref}
        id={id}
        value={value}
        onChange={(e) => {
          onChange(e.target.value);
          setCaret(e.target.selectionStart);
          setActive(0);
        }}
        onKeyUp={track}
        onClick={track}
        onBlur={() => setTimeout(() => setCaret(null), 150)}
        onKeyDown={(e) => {
          if (items.length === 0) return;
          if (e.key === "ArrowDown" || e.key === "ArrowUp") {
            e.preventDefault();
            setActive((a) => (a + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length);
          } else if (e.key === "Enter" || e.key === "Tab") {
            e.preventDefault();
            pick(items[active] as Suggestion);
          } else if (e.key === "Escape") setCaret(null);
        }}
        className="font-mono"
        rows={3}
        autoFocus={autoFocus}
        aria-autocomplete="list"
        aria-controls={`${id}-suggestions`}
      />
      {items.length > 0 ? (
        <ul
          id={`${id}-suggestions`}
          aria-label="Reference suggestions"
          className="absolute z-50 mt-1 max-h-56 w-full overflow-auto rounded-md border border-border bg-popover py-1 text-sm shadow-md"
        >
          {items.map((s, i) => (
            <li key={s.label}>
              <button
                type="button"
                tabIndex={-1}
                aria-current={i === active}
                className={cn("flex w-full cursor-pointer items-center gap-3 px-3 py-1 text-left", i === active && "bg-accent")}
                onMouseDown={(e) => {
                  e.preventDefault();
                  pick(s);
                }}
              >
                <span className="font-mono text-xs">{s.label}</span>
                <span className="min-w-0 flex-1 truncate text-right font-mono text-xs text-muted-foreground">
                  {s.group ? "→" : s.masked ? "••••••" : (s.preview ?? "")}
                </span>
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
