import { Copy, KeyRound } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";
import { GIT_TOKEN_MAX, isGitToken } from "../../../../../src/build.ts";
import { Button } from "../../../components/ui/button.tsx";
import { ConfirmDialog } from "../../../components/ui/dialog.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { errorText, fieldError } from "../../../lib/api-client.ts";
import { useGenerateDeployKey, useSetGitToken } from "../api/builds.ts";
import { DEPLOY_KEY_STEPS } from "../lib/builds.ts";
import { copyToClipboard } from "./webhook-panel.tsx";

/**
 * Issue 13, admins only: what a clone of a private repository authenticates with. A deploy key
 * DeployKit generates (ssh URLs; the public half is shown once) or an access token (https URLs).
 * The server never returns either afterwards, so nothing here is loaded: the section only writes.
 */
export function PrivateRepoPanel({ projectID, serviceID }: { projectID: string; serviceID: string }) {
  return (
    <details className="rounded-lg border border-border p-3 text-sm" data-testid="private-repo">
      <summary className="flex cursor-pointer items-center gap-2 font-medium">
        <KeyRound className="size-4 text-muted-foreground" /> Private repository
      </summary>
      <div className="mt-3 grid gap-5">
        <DeployKey projectID={projectID} serviceID={serviceID} />
        <GitToken projectID={projectID} serviceID={serviceID} />
      </div>
    </details>
  );
}

function DeployKey({ projectID, serviceID }: { projectID: string; serviceID: string }) {
  const generate = useGenerateDeployKey(projectID, serviceID);
  const [confirm, setConfirm] = useState(false);
  const [publicKey, setPublicKey] = useState<string | null>(null);
  return (
    <div className="grid gap-2" data-testid="deploy-key">
      <div className="flex items-start justify-between gap-3">
        <div className="grid gap-1">
          <span className="font-medium">Deploy key</span>
          <p className="text-xs text-muted-foreground">
            For ssh URLs: an ed25519 key made for this service. DeployKit keeps the private half encrypted; the public half is shown once,
            to add to the git host.
          </p>
        </div>
        <Button variant="outline" size="sm" disabled={generate.isPending} onClick={() => setConfirm(true)}>
          Generate deploy key
        </Button>
      </div>
      {publicKey ? <DeployKeyShown publicKey={publicKey} /> : null}
      <ConfirmDialog
        open={confirm}
        onOpenChange={setConfirm}
        title="Generate a new deploy key?"
        description="If this service already has a deploy key, the new one replaces it: clones stop working until its public half is added to the git host (remove the old one there)."
        confirmLabel="Generate"
        pending={generate.isPending}
        onConfirm={() =>
          generate.mutate(undefined, {
            onSuccess: (r) => {
              setPublicKey(r.public_key);
              toast.success("Deploy key generated: add it to the git host");
            },
            onError: (e) => toast.error(`Could not generate a deploy key: ${errorText(e)}`),
            onSettled: () => setConfirm(false),
          })
        }
      />
    </div>
  );
}

/** The public half of a new deploy key, with a copy button and where to add it. Shown once. */
export function DeployKeyShown({ publicKey }: { publicKey: string }) {
  return (
    <div className="grid gap-2 rounded-md border border-border bg-muted/40 p-2" data-testid="deploy-key-shown">
      <div className="flex items-start gap-2">
        <code className="flex-1 break-all font-mono text-xs" data-testid="deploy-public-key">
          {publicKey}
        </code>
        <Button size="icon" variant="ghost" aria-label="Copy public key" onClick={() => copyToClipboard(publicKey, "Public key")}>
          <Copy />
        </Button>
      </div>
      <p className="text-xs text-muted-foreground">Shown only now. Add it to the repository as a read-only deploy key:</p>
      <ol className="grid list-decimal gap-1 pl-5 text-xs">
        {DEPLOY_KEY_STEPS.map((s) => (
          <li key={s}>{s}</li>
        ))}
      </ol>
    </div>
  );
}

function GitToken({ projectID, serviceID }: { projectID: string; serviceID: string }) {
  const save = useSetGitToken(projectID, serviceID);
  const [token, setToken] = useState("");
  const [confirmRemove, setConfirmRemove] = useState(false);
  const value = token.trim();
  const invalid = value !== "" && !isGitToken(value);
  const send = (t: string | null) =>
    save.mutate(t, {
      onSuccess: () => {
        setToken("");
        toast.success(t === null ? "Access token removed" : "Access token saved");
      },
      onError: (e) => toast.error(`Could not ${t === null ? "remove" : "save"} the access token: ${errorText(e)}`),
    });
  return (
    <form
      className="grid gap-2"
      data-testid="git-token"
      onSubmit={(e) => {
        e.preventDefault();
        if (value !== "" && !invalid && !save.isPending) send(value);
      }}
    >
      <Field
        label="Access token"
        htmlFor={`git-token-${serviceID}`}
        error={invalid ? `1 to ${GIT_TOKEN_MAX} printable characters, no spaces.` : fieldError(save.error, "token")}
        hint="For https URLs: a token that can read the repository (GitHub: fine-grained, Contents read-only; GitLab: read_repository; Gitea: read:repository). Stored encrypted and never shown again; saving replaces the stored one."
      >
        <Input
          id={`git-token-${serviceID}`}
          type="password"
          autoComplete="new-password"
          spellCheck={false}
          className="font-mono"
          value={token}
          aria-invalid={invalid}
          onChange={(e) => setToken(e.target.value)}
        />
      </Field>
      <div className="flex justify-end gap-2">
        <Button type="button" variant="outline" disabled={save.isPending} onClick={() => setConfirmRemove(true)}>
          Remove
        </Button>
        <ConfirmDialog
          open={confirmRemove}
          onOpenChange={setConfirmRemove}
          title="Remove the access token?"
          description="https clones of a private repository fail until a token is saved again (a stored deploy key is kept)."
          confirmLabel="Remove"
          pending={save.isPending}
          onConfirm={() => {
            setConfirmRemove(false);
            send(null);
          }}
        />
        <Button type="submit" disabled={value === "" || invalid || save.isPending}>
          Save token
        </Button>
      </div>
    </form>
  );
}
