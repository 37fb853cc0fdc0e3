import { Navigate } from "react-router";
import { useCanRegister } from "../features/auth/api/register.ts";
import { useAuth } from "../shared/auth/auth-context.tsx";

/** `/`: signed in → projects; else the setup wizard while registration is open, otherwise login. */
export function IndexRedirect() {
  const { user, loading } = useAuth();
  const canRegister = useCanRegister();
  if (loading) return null;
  if (user) return <Navigate to="/projects" replace />;
  if (canRegister.isPending) return null;
  return <Navigate to={canRegister.data ? "/setup" : "/login"} replace />;
}
