import { Check, Terminal, X } from "lucide-react";
import { useState } from "react";
import { useSearchParams } from "react-router";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { errorText } from "../../../lib/api-client.ts";
import { formatDateTime } from "../../../lib/format.ts";
import { useUser } from "../../../shared/auth/auth-context.tsx";
import { useDecideDeviceLogin, useDeviceLogin } from "../api/device-login.ts";

/** "bcdf ghjk" → "BCDF-GHJK"; the server decides whether it is a code (the SPA imports the domain for types only). */
function cleanCode(raw: string): string | null {
  const s = raw.toUpperCase().replace(/[^A-Z]/g, "");
  return s.length === 8 ? `${s.slice(0, 4)}-${s.slice(4)}` : null;
}

/**
 * `deploykit login` opens /device?code=BCDF-GHJK: the signed-in user checks the code matches the one
 * in their terminal and approves; the CLI then receives a new API key of theirs.
 */
export function DevicePage() {
  const [params, setParams] = useSearchParams();
  const code = cleanCode(params.get("code") ?? "");
  return (
    <div className="mx-auto grid w-full max-w-lg gap-6 px-6 py-10">
      <div>
        <h1 className="flex items-center gap-2 text-2xl font-semibold tracking-tight">
          <Terminal className="size-6" aria-hidden /> Command-line login
        </h1>
        <p className="text-sm text-muted-foreground">
          Approve a <code className="font-mono">deploykit login</code> waiting in your terminal.
        </p>
      </div>
      {code ? <Approve code={code} /> : <EnterCode onCode={(c) => setParams({ code: c })} />}
    </div>
  );
}

function EnterCode({ onCode }: { onCode: (code: string) => void }) {
  const [raw, setRaw] = useState("");
  const code = cleanCode(raw);
  return (
    <Card>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (code) onCode(code);
        }}
      >
        <CardHeader>
          <CardTitle>Enter the code</CardTitle>
          <CardDescription>The terminal shows a code like BCDF-GHJK.</CardDescription>
        </CardHeader>
        <CardContent>
          <Field label="Code" htmlFor="device-code">
            <Input
              id="device-code"
              data-testid="device-code-input"
              value={raw}
              onChange={(e) => setRaw(e.target.value)}
              autoFocus
              placeholder="XXXX-XXXX"
            />
          </Field>
        </CardContent>
        <CardFooter>
          <Button type="submit" disabled={!code}>
            Continue
          </Button>
        </CardFooter>
      </form>
    </Card>
  );
}

function Approve({ code }: { code: string }) {
  const user = useUser();
  const login = useDeviceLogin(code);
  const decide = useDecideDeviceLogin(code);
  if (login.isLoading) return <p className="text-sm text-muted-foreground">Loading…</p>;
  if (login.error || !login.data)
    return (
      <Card data-testid="device-error">
        <CardHeader>
          <CardTitle>Code not found</CardTitle>
          <CardDescription>
            {errorText(login.error)} Run <code className="font-mono">deploykit login</code> again for a new code.
          </CardDescription>
        </CardHeader>
      </Card>
    );
  const l = login.data;
  if (l.status !== "pending")
    return (
      <Card data-testid={`device-${l.status}`}>
        <CardHeader>
          <CardTitle className="flex items-center gap-2">
            {l.status === "approved" ? (
              <Check className="size-5 text-emerald-600" aria-hidden />
            ) : (
              <X className="size-5 text-destructive" aria-hidden />
            )}
            {l.status === "approved" ? "Approved" : "Denied"}
          </CardTitle>
          <CardDescription>
            {l.status === "approved" ? "You can close this page: the terminal is logged in." : "The terminal was not given access."}
          </CardDescription>
        </CardHeader>
      </Card>
    );
  return (
    <Card data-testid="device-pending">
      <CardHeader>
        <CardTitle>Approve this login?</CardTitle>
        <CardDescription>
          Check that your terminal shows the same code. Approving creates an API key for {user.email}, listed under Profile → API keys.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-2 text-sm">
        <div className="font-mono text-2xl tracking-widest" data-testid="device-user-code">
          {l.user_code}
        </div>
        <div>
          Requested by <span className="font-medium">{l.description}</span>
        </div>
        <div className="text-muted-foreground">Expires {formatDateTime(l.expires_at)}</div>
        {decide.error ? <p className="text-destructive">{errorText(decide.error)}</p> : null}
      </CardContent>
      <CardFooter className="gap-2">
        <Button data-testid="device-approve" onClick={() => decide.mutate(true)} disabled={decide.isPending}>
          Approve
        </Button>
        <Button data-testid="device-deny" variant="outline" onClick={() => decide.mutate(false)} disabled={decide.isPending}>
          Deny
        </Button>
      </CardFooter>
    </Card>
  );
}
