import { Download, Search, X } from "lucide-react";
import { type FormEvent, useState } from "react";
import { Button } from "../../../components/ui/button.tsx";
import { Input, Select } from "../../../components/ui/input.tsx";
import type { LogFilter } from "../api/logs.ts";

export const EMPTY_FILTER: LogFilter = { q: "", regex: false, stream: "", replica: "", since: "", until: "" };

/**
 * The Logs tab's search: text or regex, stream, replica and a time window (durations like 15m or
 * RFC 3339 times, as the server takes them). Search and Download send the same filter to the server.
 */
export function LogSearchBar({
  replicas,
  searching,
  active,
  fieldErrors,
  onSearch,
  onDownload,
  onClear,
}: {
  replicas: number;
  searching: boolean;
  /** A search is shown (the Clear button goes back to the live tail). */
  active: boolean;
  /** The server's per-field messages of the last search. */
  fieldErrors: Partial<Record<keyof LogFilter, string>>;
  onSearch: (f: LogFilter) => void;
  onDownload: (f: LogFilter) => void;
  onClear: () => void;
}) {
  const [f, setF] = useState<LogFilter>(EMPTY_FILTER);
  const set = <K extends keyof LogFilter>(k: K, v: LogFilter[K]) => setF((o) => ({ ...o, [k]: v }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSearch(f);
  };
  const errors = Object.values(fieldErrors).filter(Boolean);
  return (
    <form onSubmit={submit} className="grid gap-1" data-testid="log-search">
      <div className="flex flex-wrap items-center gap-2">
        <Input
          aria-label="Search logs"
          placeholder={f.regex ? "Regular expression" : "Search text"}
          value={f.q}
          onChange={(e) => set("q", e.target.value)}
          aria-invalid={fieldErrors.q ? true : undefined}
          className="h-8 min-w-40 flex-1 font-mono text-xs"
        />
        <label className="flex items-center gap-1 text-xs text-muted-foreground">
          <input type="checkbox" checked={f.regex} onChange={(e) => set("regex", e.target.checked)} /> Regex
        </label>
        <Select
          aria-label="Stream"
          value={f.stream}
          onChange={(e) => set("stream", e.target.value as LogFilter["stream"])}
          className="h-8 w-28 text-xs"
        >
          <option value="">All streams</option>
          <option value="stdout">stdout</option>
          <option value="stderr">stderr</option>
        </Select>
        <Select aria-label="Replica" value={f.replica} onChange={(e) => set("replica", e.target.value)} className="h-8 w-32 text-xs">
          <option value="">All replicas</option>
          {Array.from({ length: Math.max(1, replicas) }, (_, i) => (
            <option key={i} value={String(i)}>
              Replica {i}
            </option>
          ))}
        </Select>
      </div>
      <div className="flex flex-wrap items-center gap-2">
        <Input
          aria-label="Since"
          placeholder="Since: 15m or 2026-01-02T03:04:05Z"
          value={f.since}
          onChange={(e) => set("since", e.target.value)}
          aria-invalid={fieldErrors.since ? true : undefined}
          className="h-8 min-w-40 flex-1 text-xs"
        />
        <Input
          aria-label="Until"
          placeholder="Until: now"
          value={f.until}
          onChange={(e) => set("until", e.target.value)}
          aria-invalid={fieldErrors.until ? true : undefined}
          className="h-8 min-w-32 flex-1 text-xs"
        />
        <Button type="submit" size="sm" variant="outline" disabled={searching}>
          <Search /> Search
        </Button>
        <Button type="button" size="sm" variant="ghost" onClick={() => onDownload(f)} title="Download the matching lines as a file">
          <Download /> Download
        </Button>
        {active ? (
          <Button
            type="button"
            size="sm"
            variant="ghost"
            onClick={() => {
              setF(EMPTY_FILTER);
              onClear();
            }}
          >
            <X /> Back to live
          </Button>
        ) : null}
      </div>
      {errors.length > 0 ? (
        <p className="text-xs text-destructive" data-testid="log-search-error">
          {errors.join(" ")}
        </p>
      ) : null}
    </form>
  );
}
