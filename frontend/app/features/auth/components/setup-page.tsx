import { useQueryClient } from "@tanstack/react-query";
import { Boxes, GitBranch, Rocket, ShieldCheck } from "lucide-react";
import { useState } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router";
import { Button } from "../../../components/ui/button.tsx";
import { Card } from "../../../components/ui/card.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { ApiError, errorText, fieldError } from "../../../lib/api-client.ts";
import { cn } from "../../../lib/utils.ts";
import { useAuth } from "../../../shared/auth/auth-context.tsx";
import { canRegisterQueryOptions, useCanRegister, useRegister } from "../api/register.ts";

/**
 * First-run wizard: only while no user exists; creates the first admin and signs in. It needs the
 * one-time setup token, from the `?token=` of the URL the daemon logged, or typed in from
 * `<data-dir>/setup-token`.
 */
export function SetupPage() {
  const [params] = useSearchParams();
  const [tokenFromURL] = useState(() => params.get("token") ?? "");
  const [setupToken, setSetupToken] = useState(tokenFromURL);
  const canRegister = useCanRegister();
  const register = useRegister();
  const { signIn } = useAuth();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [step, setStep] = useState(0);
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  if (canRegister.isPending) return null;
  if (!canRegister.data && !register.isSuccess) return <Navigate to="/login" replace />;
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    register.mutate(
      { name: name.trim(), email: email.trim(), password, setup_token: setupToken.trim() },
      {
        onSuccess: async (r) => {
          qc.setQueryData(canRegisterQueryOptions().queryKey, false);
          await signIn(r.tokens);
          navigate("/projects", { replace: true });
        },
      },
    );
  };
  const err = register.error;
  const general = err && !fieldError(err, "name") && !fieldError(err, "email") && !fieldError(err, "password") ? errorText(err) : null;
  const askToken = tokenFromURL === "" || (err instanceof ApiError && err.code === "forbidden");
  return (
    <div className="flex min-h-full items-center justify-center p-6">
      <div className="grid w-full max-w-md gap-6">
        <div className="flex justify-center gap-2">
          <span className="sr-only">{`Step ${step + 1} of 2`}</span>
          {[0, 1].map((i) => (
            <span key={i} className={cn("h-2 rounded-full transition-all", i === step ? "w-6 bg-primary" : "w-2 bg-muted")} />
          ))}
        </div>
        <Card className="overflow-clip">
          <div
            className="flex w-[200%] transition-transform duration-300"
            style={{ transform: `translateX(${step === 0 ? "0" : "-50%"})` }}
          >
            <section className="w-1/2 p-6" aria-hidden={step !== 0}>
              <div className="mb-5 flex size-12 items-center justify-center rounded-xl bg-primary text-primary-foreground">
                <Boxes className="size-6" />
              </div>
              <h1 className="text-2xl font-semibold tracking-tight">Welcome aboard</h1>
              <p className="mt-1 text-sm text-muted-foreground">
                DeployKit runs your containers on this machine. Let's create the administrator account.
              </p>
              <ul className="mt-5 grid gap-3 text-sm">
                <li className="flex gap-3">
                  <Rocket className="size-4 text-primary" /> Lay out services on a shared canvas and deploy with one click.
                </li>
                <li className="flex gap-3">
                  <GitBranch className="size-4 text-primary" /> Stage edits, review the diff, roll back any deployment.
                </li>
                <li className="flex gap-3">
                  <ShieldCheck className="size-4 text-primary" /> Variables per project, group and service, masked in the UI.
                </li>
              </ul>
              <Button className="mt-6 w-full" onClick={() => setStep(1)} tabIndex={step === 0 ? 0 : -1}>
                Get started
              </Button>
            </section>
            <section className="w-1/2 p-6" aria-hidden={step !== 1}>
              <h2 className="text-xl font-semibold">Create your account</h2>
              <p className="mb-4 text-sm text-muted-foreground">This first account is the administrator.</p>
              <form onSubmit={submit} className="grid gap-4">
                {askToken ? (
                  <Field
                    label="Setup token"
                    htmlFor="setup-token"
                    hint="From the URL the daemon logged at start, or the file setup-token in its data directory."
                  >
                    <Input
                      id="setup-token"
                      autoComplete="off"
                      spellCheck={false}
                      value={setupToken}
                      onChange={(e) => setSetupToken(e.target.value)}
                      tabIndex={step === 1 ? 0 : -1}
                    />
                  </Field>
                ) : null}
                <Field label="Name" htmlFor="setup-name" error={fieldError(err, "name")}>
                  <Input id="setup-name" value={name} onChange={(e) => setName(e.target.value)} tabIndex={step === 1 ? 0 : -1} />
                </Field>
                <Field label="Email" htmlFor="setup-email" error={fieldError(err, "email")}>
                  <Input
                    id="setup-email"
                    type="email"
                    value={email}
                    onChange={(e) => setEmail(e.target.value)}
                    tabIndex={step === 1 ? 0 : -1}
                  />
                </Field>
                <Field label="Password" htmlFor="setup-password" error={fieldError(err, "password")} hint="At least 8 characters.">
                  <Input
                    id="setup-password"
                    type="password"
                    autoComplete="new-password"
                    value={password}
                    onChange={(e) => setPassword(e.target.value)}
                    tabIndex={step === 1 ? 0 : -1}
                  />
                </Field>
                <p className="min-h-5 text-sm text-destructive" role="alert">
                  {general ? `Could not create account. ${general}` : null}
                </p>
                <div className="flex gap-2">
                  <Button variant="outline" onClick={() => setStep(0)} tabIndex={step === 1 ? 0 : -1}>
                    Back
                  </Button>
                  <Button
                    type="submit"
                    className="flex-1"
                    disabled={register.isPending || !name.trim() || !email.trim() || password.length < 8 || !setupToken.trim()}
                    tabIndex={step === 1 ? 0 : -1}
                  >
                    {register.isPending ? "Creating…" : "Create account"}
                  </Button>
                </div>
              </form>
            </section>
          </div>
        </Card>
      </div>
    </div>
  );
}
