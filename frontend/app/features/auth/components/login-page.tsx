import { useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { Logo } from "../../../components/dashboard-layout.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../../../components/ui/card.tsx";
import { Field, Input } from "../../../components/ui/input.tsx";
import { ApiError, errorText } from "../../../lib/api-client.ts";
import { safeRedirect, useAuth } from "../../../shared/auth/auth-context.tsx";
import { useCanRegister } from "../api/register.ts";

export function LoginPage() {
  const { login } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const canRegister = useCanRegister();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    setPending(true);
    try {
      await login(email.trim(), password);
      navigate(safeRedirect(params.get("redirect")), { replace: true });
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? "Invalid email or password." : errorText(err));
    } finally {
      setPending(false);
    }
  };
  return (
    <div className="flex min-h-full items-center justify-center p-6">
      <div className="grid w-full max-w-sm gap-6">
        <div className="flex justify-center">
          <Logo />
        </div>
        <Card>
          <CardHeader>
            <CardTitle>Sign in</CardTitle>
            <CardDescription>Use the account your administrator gave you.</CardDescription>
          </CardHeader>
          <CardContent>
            <form onSubmit={submit} className="grid gap-4">
              <Field label="Email" htmlFor="email">
                <Input id="email" type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
              </Field>
              <Field label="Password" htmlFor="password">
                <Input
                  id="password"
                  type="password"
                  autoComplete="current-password"
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                />
              </Field>
              <p className="min-h-5 text-sm text-destructive" role="alert">
                {error}
              </p>
              <Button type="submit" disabled={pending || email.trim() === "" || password === ""}>
                {pending ? "Signing in…" : "Sign in"}
              </Button>
            </form>
          </CardContent>
        </Card>
        {canRegister.data ? (
          <p className="text-center text-sm text-muted-foreground">
            No account yet?{" "}
            <Link to="/setup" className="text-primary hover:underline">
              Set up this instance
            </Link>
          </p>
        ) : null}
      </div>
    </div>
  );
}
