import { Check, Copy, KeyRound, Trash2 } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";
import type { APIKey, APIKeyCreated } from "../../../../../src/auth.ts";
import { Badge } from "../../../components/ui/badge.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { ConfirmDialog, Dialog } from "../../../components/ui/dialog.tsx";
import { Field, Input, Select } from "../../../components/ui/input.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { Table, TBody, TD, TH, THead, TR } from "../../../components/ui/table.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { formatDateTime, relativeTime } from "../../../lib/format.ts";
import { useUpdateProfile } from "../../../shared/auth/api/update-profile.ts";
import { useUser } from "../../../shared/auth/auth-context.tsx";
import { useAPIKeys, useCreateAPIKey, useDeleteAPIKey } from "../api/api-keys.ts";

export function ProfilePage() {
  return (
    <div className="mx-auto grid w-full max-w-3xl gap-6 px-6 py-8">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">Profile</h1>
        <p className="text-sm text-muted-foreground">Your account, password and API keys.</p>
      </div>
      <DetailsCard />
      <PasswordCard />
      <APIKeysCard />
    </div>
  );
}

function DetailsCard() {
  const user = useUser();
  const [name, setName] = useState(user.name);
  const [email, setEmail] = useState(user.email);
  const [password, setPassword] = useState("");
  const update = useUpdateProfile();
  const changed: { name?: string; email?: string; current_password?: string } = {};
  if (name.trim() !== user.name) changed.name = name.trim();
  const emailChanged = email.trim().toLowerCase() !== user.email;
  if (emailChanged) {
    changed.email = email.trim();
    changed.current_password = password;
  }
  return (
    <Card>
      <CardHeader>
        <CardTitle>Profile information</CardTitle>
        <CardDescription>
          Signed in as <Badge variant="outline">{user.role}</Badge>
        </CardDescription>
      </CardHeader>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate(changed, { onSuccess: () => toast.success("Profile updated") });
        }}
      >
        <CardContent className="grid gap-4 sm:grid-cols-2">
          <Field label="Name" htmlFor="profile-name" error={fieldError(update.error, "name")}>
            <Input id="profile-name" value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field
            label="Email"
            htmlFor="profile-email"
            error={
              fieldError(update.error, "email") ??
              (update.error && !fieldError(update.error, "name") && !fieldError(update.error, "current_password")
                ? errorText(update.error)
                : null)
            }
          >
            <Input id="profile-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
          </Field>
          {emailChanged ? (
            <Field
              label="Current password"
              htmlFor="profile-email-password"
              hint="Needed to change your email."
              error={fieldError(update.error, "current_password")}
            >
              <Input
                id="profile-email-password"
                type="password"
                autoComplete="current-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
              />
            </Field>
          ) : null}
        </CardContent>
        <CardFooter className="justify-end">
          <Button type="submit" disabled={Object.keys(changed).length === 0 || (emailChanged && password === "") || update.isPending}>
            Save
          </Button>
        </CardFooter>
      </form>
    </Card>
  );
}

function PasswordCard() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const update = useUpdateProfile();
  const mismatch = confirm !== "" && next !== confirm ? "Passwords do not match." : null;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Change password</CardTitle>
        <CardDescription>At least 8 characters.</CardDescription>
      </CardHeader>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate(
            { new_password: next, current_password: current },
            {
              onSuccess: () => {
                toast.success("Password changed");
                setCurrent("");
                setNext("");
                setConfirm("");
              },
            },
          );
        }}
      >
        <CardContent className="grid gap-4 sm:grid-cols-3">
          <Field label="Current password" htmlFor="pw-current" error={fieldError(update.error, "current_password")}>
            <Input
              id="pw-current"
              type="password"
              autoComplete="current-password"
              value={current}
              onChange={(e) => setCurrent(e.target.value)}
            />
          </Field>
          <Field label="New password" htmlFor="pw-new" error={fieldError(update.error, "new_password")}>
            <Input id="pw-new" type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} />
          </Field>
          <Field label="Confirm" htmlFor="pw-confirm" error={mismatch}>
            <Input
              id="pw-confirm"
              type="password"
              autoComplete="new-password"
              value={confirm}
              onChange={(e) => setConfirm(e.target.value)}
            />
          </Field>
        </CardContent>
        <CardFooter className="justify-end">
          <Button type="submit" disabled={!current || next.length < 8 || next !== confirm || update.isPending}>
            Change password
          </Button>
        </CardFooter>
      </form>
    </Card>
  );
}

const EXPIRY_OPTIONS = [
  { value: "", label: "Never" },
  { value: "7", label: "7 days" },
  { value: "30", label: "30 days" },
  { value: "90", label: "90 days" },
  { value: "365", label: "1 year" },
];

function APIKeysCard() {
  const keys = useAPIKeys();
  const [creating, setCreating] = useState(false);
  const [revealed, setRevealed] = useState<APIKeyCreated | null>(null);
  const [revoking, setRevoking] = useState<APIKey | null>(null);
  const del = useDeleteAPIKey();
  return (
    <Card>
      <CardHeader className="flex-row items-start justify-between">
        <div className="grid gap-1.5">
          <CardTitle>API keys</CardTitle>
          <CardDescription>For scripts and CI: send as “Authorization: Bearer &lt;key&gt;”.</CardDescription>
        </div>
        <Button size="sm" onClick={() => setCreating(true)}>
          <KeyRound /> Create key
        </Button>
      </CardHeader>
      <CardContent>
        {keys.isPending ? (
          <Skeleton className="h-20" />
        ) : keys.isError ? (
          <p className="text-sm text-destructive">{errorText(keys.error)}</p>
        ) : keys.data.length === 0 ? (
          <p className="rounded-lg border border-dashed border-border p-4 text-center text-sm text-muted-foreground">No API keys yet.</p>
        ) : (
          <Table>
            <THead>
              <TR>
                <TH>Description</TH>
                <TH>Key</TH>
                <TH>Last used</TH>
                <TH>Expires</TH>
                <TH />
              </TR>
            </THead>
            <TBody>
              {keys.data.map((k) => {
                const expired = k.expires_at !== null && Date.parse(k.expires_at) < Date.now();
                return (
                  <TR key={k.id}>
                    <TD className="max-w-48 truncate">{k.description}</TD>
                    <TD className="font-mono text-xs">{k.prefix}…</TD>
                    <TD className="text-muted-foreground" title={formatDateTime(k.last_used_at)}>
                      {k.last_used_at ? relativeTime(k.last_used_at) : "never"}
                    </TD>
                    <TD title={formatDateTime(k.expires_at)}>
                      {k.expires_at ? (
                        expired ? (
                          <Badge variant="destructive">expired</Badge>
                        ) : (
                          relativeTime(k.expires_at)
                        )
                      ) : (
                        <span className="text-muted-foreground">never</span>
                      )}
                    </TD>
                    <TD className="text-right">
                      <Button variant="ghost" size="sm" onClick={() => setRevoking(k)}>
                        <Trash2 /> Revoke
                      </Button>
                    </TD>
                  </TR>
                );
              })}
            </TBody>
          </Table>
        )}
      </CardContent>
      {creating ? (
        <CreateKeyDialog
          onClose={() => setCreating(false)}
          onCreated={(k) => {
            setCreating(false);
            setRevealed(k);
          }}
        />
      ) : null}
      {revealed ? <RevealDialog created={revealed} onClose={() => setRevealed(null)} /> : null}
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(o) => !o && setRevoking(null)}
        title={`Revoke "${revoking?.description ?? ""}"?`}
        description="Scripts using this key stop working at once."
        confirmLabel="Revoke"
        onConfirm={() => {
          if (revoking)
            del.mutate(revoking.id, { onSuccess: () => toast.success("API key revoked"), onError: (e) => toast.error(errorText(e)) });
          setRevoking(null);
        }}
      />
    </Card>
  );
}

function CreateKeyDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (k: APIKeyCreated) => void }) {
  const [description, setDescription] = useState("");
  const [days, setDays] = useState("");
  const create = useCreateAPIKey();
  return (
    <Dialog open onOpenChange={(o) => !o && onClose()} title="Create API key">
      <form
        className="grid gap-4"
        onSubmit={(e) => {
          e.preventDefault();
          const expires_at = days ? new Date(Date.now() + Number(days) * 86_400_000).toISOString() : null;
          create.mutate({ description: description.trim(), expires_at }, { onSuccess: onCreated });
        }}
      >
        <Field label="Description" htmlFor="key-desc" error={fieldError(create.error, "description")}>
          <Input id="key-desc" value={description} onChange={(e) => setDescription(e.target.value)} placeholder="CI deploys" autoFocus />
        </Field>
        <Field
          label="Expires"
          htmlFor="key-exp"
          error={
            fieldError(create.error, "expires_at") ??
            (create.error && !fieldError(create.error, "description") ? errorText(create.error) : null)
          }
        >
          <Select id="key-exp" value={days} onChange={(e) => setDays(e.target.value)}>
            {EXPIRY_OPTIONS.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </Select>
        </Field>
        <div className="flex justify-end gap-2">
          <Button variant="outline" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" disabled={!description.trim() || create.isPending}>
            Create
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function RevealDialog({ created, onClose }: { created: APIKeyCreated; onClose: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <Dialog open onOpenChange={(o) => !o && onClose()} title="Your new API key" description="Copy it now: it is shown only once.">
      <div className="flex gap-2">
        <Input
          readOnly
          value={created.token}
          className="font-mono text-xs"
          onFocus={(e) => e.currentTarget.select()}
          data-testid="api-key-token"
        />
        <Button
          variant="outline"
          size="icon"
          aria-label="Copy key"
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(created.token);
              setCopied(true);
            } catch {
              toast.error("Copy failed: select the key and copy it by hand.");
            }
          }}
        >
          {copied ? <Check /> : <Copy />}
        </Button>
      </div>
      <div className="flex justify-end">
        <Button onClick={onClose}>Done</Button>
      </div>
    </Dialog>
  );
}
