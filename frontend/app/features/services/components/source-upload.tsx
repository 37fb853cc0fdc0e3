import { useQueryClient } from "@tanstack/react-query";
import { RefreshCw, Upload } from "lucide-react";
import { type ReactNode, useRef, useState } from "react";
import { toast } from "sonner";
import { Button } from "../../../components/ui/button.tsx";
import { errorText } from "../../../lib/api-client.ts";
import { formatBytes } from "../../../lib/format.ts";
import { cn } from "../../../lib/utils.ts";
import { deploymentsQueryOptions } from "../../../shared/services/api/deployments.ts";
import { uploadSource, useRedeploy } from "../api/builds.ts";
import { archiveKind } from "../lib/builds.ts";
import { ArchiveError, zipToTarGz } from "../lib/zip-to-tgz.ts";

/** What the drop zone refuses, and why (shown as is). */
export function refusal(file: { name: string }): string | null {
  return archiveKind(file.name) === null ? `${file.name}: drop a .tar.gz, .tgz or .zip of the app's directory.` : null;
}

type UploadState =
  | { phase: "idle" }
  | { phase: "converting"; name: string }
  | { phase: "uploading"; name: string; sent: number; total: number };

/** Sends a dropped or chosen archive to the uploads route; a .zip is converted to a gzip tarball first. */
function useSourceUpload(projectID: string, serviceID: string) {
  const qc = useQueryClient();
  const [state, setState] = useState<UploadState>({ phase: "idle" });
  const start = async (file: File) => {
    const refused = refusal(file);
    if (refused) {
      toast.error(refused);
      return;
    }
    try {
      let body: Blob = file;
      if (archiveKind(file.name) === "zip") {
        setState({ phase: "converting", name: file.name });
        body = await zipToTarGz(file);
      }
      setState({ phase: "uploading", name: file.name, sent: 0, total: body.size });
      await uploadSource(projectID, serviceID, body, (sent, total) => setState({ phase: "uploading", name: file.name, sent, total }));
      toast.success("Upload received: building");
      void qc.invalidateQueries({ queryKey: deploymentsQueryOptions(projectID, serviceID).queryKey });
    } catch (e) {
      toast.error(
        e instanceof ArchiveError ? e.message : "Upload failed",
        e instanceof ArchiveError ? undefined : { description: errorText(e) },
      );
    } finally {
      setState({ phase: "idle" });
    }
  };
  return { state, start };
}

/**
 * The Deployments tab's source actions: Redeploy, and an upload of the app's directory as an
 * archive, by the button or by dropping it anywhere on the tab (the children).
 */
export function SourceDropZone({ projectID, serviceID, children }: { projectID: string; serviceID: string; children: ReactNode }) {
  const { state, start } = useSourceUpload(projectID, serviceID);
  const redeploy = useRedeploy(projectID, serviceID);
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const busy = state.phase !== "idle";
  return (
    <section
      className={cn("relative grid gap-3 rounded-lg", over && "outline-2 outline-dashed outline-sky-400/70 outline-offset-4")}
      data-testid="source-drop"
      aria-label="Deployments (drop a .tar.gz or .zip to deploy it)"
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes("Files")) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = "copy";
        setOver(true);
      }}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOver(false);
      }}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const files = [...e.dataTransfer.files];
        if (files.length !== 1) toast.error("Drop one archive (.tar.gz, .tgz or .zip) of the app's directory.");
        else if (!busy && files[0]) void start(files[0]);
      }}
    >
      <div className="flex flex-wrap items-center gap-2">
        <Button
          size="sm"
          variant="outline"
          disabled={redeploy.isPending}
          onClick={() =>
            redeploy.mutate(undefined, {
              onSuccess: () => toast.success("Redeploy started"),
              onError: (e) => toast.error("Redeploy failed", { description: errorText(e) }),
            })
          }
          title="Rebuild the branch head (git) or pull the image tag again (image)"
        >
          <RefreshCw className={cn(redeploy.isPending && "animate-spin")} /> Redeploy
        </Button>
        <Button size="sm" variant="ghost" disabled={busy} onClick={() => input.current?.click()}>
          <Upload /> Upload source
        </Button>
        <input
          ref={input}
          type="file"
          accept=".tar.gz,.tgz,.zip,application/gzip,application/zip"
          className="hidden"
          data-testid="source-file"
          onChange={(e) => {
            const f = e.target.files?.[0];
            e.target.value = "";
            if (f) void start(f);
          }}
        />
        <span className="text-xs text-muted-foreground">or drop a .tar.gz / .zip of the app's directory here</span>
      </div>
      {state.phase !== "idle" ? <UploadProgress state={state} /> : null}
      {children}
    </section>
  );
}

export function UploadProgress({ state }: { state: Exclude<UploadState, { phase: "idle" }> }) {
  if (state.phase === "converting")
    return (
      <p className="text-xs text-muted-foreground" data-testid="upload-progress">
        Converting {state.name} to a tarball…
      </p>
    );
  const pct = state.total > 0 ? Math.round((state.sent / state.total) * 100) : 0;
  return (
    <div className="grid gap-1 text-xs" data-testid="upload-progress">
      <span>
        Uploading {state.name}: {formatBytes(state.sent)} of {formatBytes(state.total)} ({pct}%)
      </span>
      <div
        className="h-1.5 w-full overflow-hidden rounded-full bg-muted"
        role="progressbar"
        aria-valuenow={pct}
        aria-valuemin={0}
        aria-valuemax={100}
      >
        <div className="h-full rounded-full bg-sky-500 transition-[width]" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}
