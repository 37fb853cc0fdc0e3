import { LogOut, MonitorOff, UserRound } from "lucide-react";
import { useNavigate } from "react-router";
import { initials, userColor } from "../lib/colors.ts";
import { useAuth, useUser } from "../shared/auth/auth-context.tsx";
import { Dropdown, MenuItem, MenuSeparator } from "./ui/dropdown.tsx";

export function Avatar({ id, name, size = 32, ring }: { id: string; name: string; size?: number; ring?: boolean }) {
  return (
    <span
      className="inline-flex shrink-0 select-none items-center justify-center rounded-full font-semibold text-white"
      style={{
        background: userColor(id),
        width: size,
        height: size,
        fontSize: size * 0.38,
        boxShadow: ring ? "0 0 0 2px var(--color-background)" : undefined,
      }}
      title={name}
    >
      {initials(name)}
    </span>
  );
}

export function UserMenu() {
  const user = useUser();
  const { logout } = useAuth();
  const navigate = useNavigate();
  return (
    <Dropdown
      label="User menu"
      trigger={(p) => (
        <button
          type="button"
          {...p}
          className="rounded-full focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring"
          aria-label="User menu"
        >
          <Avatar id={user.id} name={user.name} />
        </button>
      )}
    >
      {(close) => (
        <>
          <div className="px-2 py-1.5">
            <p className="truncate text-sm font-medium">{user.name}</p>
            <p className="truncate text-xs text-muted-foreground">{user.email}</p>
          </div>
          <MenuSeparator />
          <MenuItem
            onSelect={() => {
              close();
              navigate("/profile");
            }}
          >
            <UserRound /> Edit Profile
          </MenuItem>
          <MenuItem
            onSelect={async () => {
              close();
              await logout(true);
              navigate("/login");
            }}
          >
            <MonitorOff /> Log out everywhere
          </MenuItem>
          <MenuItem
            onSelect={async () => {
              close();
              await logout();
              navigate("/login");
            }}
          >
            <LogOut /> Log out
          </MenuItem>
        </>
      )}
    </Dropdown>
  );
}
