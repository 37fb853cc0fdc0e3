import { NavLink, Outlet } from "react-router";
import { cn } from "../lib/utils.ts";

export { GeneralSettings } from "../features/settings/components/general-settings.tsx";
export { ShellSettings } from "../features/settings/components/shell-settings.tsx";
export { UsersSettings } from "../features/settings/components/users-settings.tsx";
export { AboutSettings } from "../features/system/components/about-settings.tsx";
export { SystemSettings } from "../features/system/components/system-settings.tsx";

const TABS = [
  { to: "/settings", label: "General", end: true },
  { to: "/settings/users", label: "Users" },
  { to: "/settings/shell", label: "Shell" },
  { to: "/settings/system", label: "System" },
  { to: "/settings/about", label: "About" },
];

export function AdminSettingsLayout() {
  return (
    <div className="mx-auto w-full max-w-5xl px-6 py-8">
      <h1 className="mb-1 text-2xl font-semibold tracking-tight">Settings</h1>
      <p className="mb-6 text-sm text-muted-foreground">Instance configuration, people and the machine DeployKit runs on.</p>
      <nav className="mb-6 flex gap-1 border-b border-border" aria-label="Settings sections">
        {TABS.map((t) => (
          <NavLink
            key={t.to}
            to={t.to}
            end={t.end ?? false}
            className={({ isActive }) =>
              cn(
                "-mb-px border-b-2 px-3 py-2 text-sm font-medium transition-colors",
                isActive ? "border-primary text-foreground" : "border-transparent text-muted-foreground hover:text-foreground",
              )
            }
          >
            {t.label}
          </NavLink>
        ))}
      </nav>
      <Outlet />
    </div>
  );
}
