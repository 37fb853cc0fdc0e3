import { useQueryClient } from "@tanstack/react-query";
import { Trash2 } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";
import type { Service } from "../../../../../src/service.ts";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { ConfirmDialog } from "../../../components/ui/dialog.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { useSeededState } from "../../../lib/seeded-state.ts";
import { iconURLError, serviceNameError } from "../../../lib/validation.ts";
import { useUser } from "../../../shared/auth/auth-context.tsx";
import { addPendingChange, usePendingChanges } from "../../../shared/pending-changes/api/pending-changes.ts";
import { effectiveSettings, serviceOverrides } from "../../../shared/pending-changes/lib/staged.ts";
import { stageServiceDelete, useUpdateService } from "../../../shared/services/api/services.ts";
import { currentSource, type SourceService } from "../lib/builds.ts";
import { NetworkingCard } from "./networking-card.tsx";
import { OperationsCard } from "./operations-card.tsx";
import { RuntimeCard } from "./runtime-card.tsx";
import { SourceCard } from "./source-card.tsx";

export function SettingsTab({ projectID, service, taken }: { projectID: string; service: Service; taken: ReadonlySet<string> }) {
  const pending = usePendingChanges(projectID);
  const override = serviceOverrides(pending.data ?? []).get(service.id);
  const current = effectiveSettings(service, override);
  const currentName = override?.name ?? service.name;
  const source = currentSource(service as SourceService, pending.data ?? [], service.id);
  const admin = useUser().role === "admin";
  return (
    <div className="grid grid-cols-1 gap-4">
      <RenameCard projectID={projectID} service={service} currentName={currentName} taken={taken} />
      <IconCard
        key={service.id}
        projectID={projectID}
        service={service}
        current={override && override.icon_url !== undefined ? override.icon_url : service.icon_url}
      />
      <SourceCard key={service.id} projectID={projectID} serviceID={service.id} current={source} admin={admin} />
      <RuntimeCard key={service.id} projectID={projectID} service={service} current={current} />
      <OperationsCard key={service.id} projectID={projectID} service={service} current={current} />
      <NetworkingCard projectID={projectID} service={service} current={current} />
      <DeleteCard projectID={projectID} service={service} staged={override?.deleted ?? false} />
    </div>
  );
}

function RenameCard({
  projectID,
  service,
  currentName,
  taken,
}: {
  projectID: string;
  service: Service;
  currentName: string;
  taken: ReadonlySet<string>;
}) {
  const [name, setName] = useState(currentName);
  const update = useUpdateService(projectID, service.id);
  const trimmed = name.trim();
  const err = trimmed === currentName ? null : serviceNameError(trimmed, taken, service.name);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Name</CardTitle>
        <CardDescription>
          Other services reach this one as {currentName} on the project network. Renaming rewrites references.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="flex items-start gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            update.mutate(
              { name: trimmed },
              { onSuccess: () => toast.success("Rename staged"), onError: (er) => toast.error(errorText(er)) },
            );
          }}
        >
          <Field
            label={<span className="sr-only">Service name</span>}
            htmlFor="service-name"
            error={err ?? fieldError(update.error, "name")}
            className="flex-1"
          >
            <Input id="service-name" value={name} onChange={(e) => setName(e.target.value)} aria-invalid={!!err} />
          </Field>
          <Button type="submit" disabled={trimmed === currentName || !!err || update.isPending}>
            Rename
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}

function IconCard({ projectID, service, current }: { projectID: string; service: Service; current: string | null }) {
  const update = useUpdateService(projectID, service.id);
  const [url, setURL] = useSeededState(current ?? "", update.isPending);
  const trimmed = url.trim();
  const err = iconURLError(trimmed);
  const stage = (icon_url: string) =>
    update.mutate(
      { icon_url },
      {
        onSuccess: () => toast.success(icon_url ? "Icon change staged" : "Icon removal staged"),
        onError: (e) => toast.error(errorText(e)),
      },
    );
  return (
    <Card>
      <CardHeader>
        <CardTitle>Icon</CardTitle>
        <CardDescription>An http(s) URL to a PNG, SVG or JPG shown on the canvas.</CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="flex items-start gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            stage(trimmed);
          }}
        >
          <Field
            label={<span className="sr-only">Icon URL</span>}
            htmlFor="service-icon"
            error={err ?? fieldError(update.error, "icon_url")}
            className="flex-1"
          >
            <Input
              id="service-icon"
              value={url}
              onChange={(e) => setURL(e.target.value)}
              placeholder="https://example.com/icon.svg"
              aria-invalid={!!err}
            />
          </Field>
          <Button type="submit" disabled={trimmed === "" || trimmed === (current ?? "") || !!err || update.isPending}>
            Save
          </Button>
          <Button variant="outline" disabled={!current || update.isPending} onClick={() => stage("")}>
            Clear
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}

function DeleteCard({ projectID, service, staged }: { projectID: string; service: Service; staged: boolean }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const qc = useQueryClient();
  return (
    <Card className="border-red-900/60">
      <CardHeader>
        <CardTitle>Delete service</CardTitle>
        <CardDescription>Stages the deletion: containers, volumes and variables go on Deploy. Discard all to cancel.</CardDescription>
      </CardHeader>
      <CardContent>
        <Button variant="destructive" disabled={staged} onClick={() => setOpen(true)}>
          <Trash2 /> {staged ? "Deletion staged" : "Delete service"}
        </Button>
      </CardContent>
      <ConfirmDialog
        open={open}
        onOpenChange={setOpen}
        title={`Delete ${service.name}?`}
        description="The service is removed on the next Deploy."
        confirmLabel="Stage deletion"
        pending={busy}
        onConfirm={async () => {
          setBusy(true);
          try {
            addPendingChange(qc, projectID, await stageServiceDelete(projectID, service.id));
            toast.success("Deletion staged");
            setOpen(false);
          } catch (e) {
            toast.error(errorText(e));
          } finally {
            setBusy(false);
          }
        }}
      />
    </Card>
  );
}
