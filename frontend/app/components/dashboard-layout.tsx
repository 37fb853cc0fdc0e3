import { Boxes, Settings } from "lucide-react";
import { useEffect } from "react";
import { Link, Outlet, useMatch } from "react-router";
import { cn } from "../lib/utils.ts";
import { useUser } from "../shared/auth/auth-context.tsx";
import { useSettings } from "../shared/settings/api/settings.ts";
import { buttonClass } from "./ui/button.tsx";
import { UserMenu } from "./user-menu.tsx";

export function Logo({ name }: { name?: string | undefined }) {
  return (
    <span className="flex items-center gap-2 font-semibold tracking-tight">
      <span className="flex size-7 items-center justify-center rounded-lg bg-primary text-primary-foreground">
        <Boxes className="size-4" />
      </span>
      <span className="truncate">{name ?? "DeployKit"}</span>
    </span>
  );
}

/** Header (logo, admin settings, user menu) and the page. The canvas route uses the full height. */
export function DashboardLayout() {
  const user = useUser();
  const settings = useSettings();
  const fluid = useMatch("/projects/:projectId") !== null;
  const name = settings.data?.instance_name;
  useEffect(() => {
    if (name) document.title = name;
  }, [name]);
  return (
    <div className="flex h-full flex-col">
      <header className="flex h-14 shrink-0 items-center justify-between border-b border-border px-4">
        <Link to="/projects" className="min-w-0 rounded-md focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring">
          <Logo name={name} />
        </Link>
        <div className="flex items-center gap-2">
          {user.role === "admin" ? (
            <Link to="/settings" className={buttonClass("ghost", "icon")} aria-label="Admin settings" title="Admin settings">
              <Settings />
            </Link>
          ) : null}
          <UserMenu />
        </div>
      </header>
      <main className={cn("min-h-0 flex-1", fluid ? "overflow-hidden" : "overflow-y-auto")}>
        <Outlet />
      </main>
    </div>
  );
}
