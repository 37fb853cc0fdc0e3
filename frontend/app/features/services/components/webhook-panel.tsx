import { Copy, Eye, EyeOff, Webhook as WebhookIcon } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";
import { Button } from "../../../components/ui/button.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { errorText } from "../../../lib/api-client.ts";
import { maskValue } from "../../../lib/format.ts";
import { cn } from "../../../lib/utils.ts";
import { useWebhook, type Webhook } from "../api/builds.ts";
import { type WebhookProvider, webhookSteps } from "../lib/builds.ts";

const PROVIDERS: { id: WebhookProvider; label: string }[] = [
  { id: "github", label: "GitHub" },
  { id: "gitlab", label: "GitLab" },
  { id: "gitea", label: "Gitea" },
];

/** Copies `text` and says so in a toast (`what` names it: "URL", "Secret"). */
export function copyToClipboard(text: string, what: string) {
  void navigator.clipboard?.writeText(text).then(
    () => toast.success(`${what} copied`),
    () => toast.error(`Could not copy the ${what.toLowerCase()}`),
  );
}

/** Auto-deploy on push: the service's webhook URL and secret, loaded when the panel is opened. */
export function WebhookPanel({ projectID, serviceID, branch }: { projectID: string; serviceID: string; branch: string }) {
  const [open, setOpen] = useState(false);
  const hook = useWebhook(projectID, serviceID, open);
  return (
    <details
      className="rounded-lg border border-border p-3 text-sm"
      data-testid="webhook-panel"
      onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}
    >
      <summary className="flex cursor-pointer items-center gap-2 font-medium">
        <WebhookIcon className="size-4 text-muted-foreground" /> Auto-deploy on push
      </summary>
      <div className="mt-3">
        {!open ? null : hook.isPending ? (
          <Skeleton className="h-24" />
        ) : hook.isError ? (
          <p className="text-xs text-destructive">{errorText(hook.error)}</p>
        ) : (
          <WebhookSetup hook={hook.data} branch={branch} />
        )}
      </div>
    </details>
  );
}

/** The URL, the secret (hidden until asked) and each git host's setup steps. */
export function WebhookSetup({ hook, branch, initial = "github" }: { hook: Webhook; branch: string; initial?: WebhookProvider }) {
  const [provider, setProvider] = useState<WebhookProvider>(initial);
  const [reveal, setReveal] = useState(false);
  return (
    <div className="grid gap-3" data-testid="webhook-setup">
      <div className="grid grid-cols-[5rem_1fr_auto] items-center gap-x-2 gap-y-1 text-xs">
        <span className="text-muted-foreground">URL</span>
        <code className="truncate font-mono" data-testid="webhook-url">
          {hook.url}
        </code>
        <Button size="icon" variant="ghost" aria-label="Copy webhook URL" onClick={() => copyToClipboard(hook.url, "URL")}>
          <Copy />
        </Button>
        <span className="text-muted-foreground">Secret</span>
        <code className="truncate font-mono" data-testid="webhook-secret">
          {reveal ? hook.secret : maskValue(hook.secret)}
        </code>
        <span className="flex">
          <Button size="icon" variant="ghost" aria-label={reveal ? "Hide secret" : "Show secret"} onClick={() => setReveal((r) => !r)}>
            {reveal ? <EyeOff /> : <Eye />}
          </Button>
          <Button size="icon" variant="ghost" aria-label="Copy secret" onClick={() => copyToClipboard(hook.secret, "Secret")}>
            <Copy />
          </Button>
        </span>
      </div>
      <div className="flex gap-1" role="tablist" aria-label="Git host">
        {PROVIDERS.map((p) => (
          <button
            key={p.id}
            type="button"
            role="tab"
            aria-selected={provider === p.id}
            className={cn(
              "rounded-md px-2 py-1 text-xs",
              provider === p.id ? "bg-secondary text-secondary-foreground" : "text-muted-foreground hover:text-foreground",
            )}
            onClick={() => setProvider(p.id)}
          >
            {p.label}
          </button>
        ))}
      </div>
      <ol className="grid list-decimal gap-1 pl-5 text-xs" data-testid="webhook-steps">
        {webhookSteps(provider, hook.url, branch).map((s) => (
          <li key={s}>{s}</li>
        ))}
      </ol>
      <p className="text-xs text-muted-foreground">
        Unsigned or mismatched deliveries are refused (401) and logged. A push to another branch is answered 202 and ignored.
      </p>
    </div>
  );
}
