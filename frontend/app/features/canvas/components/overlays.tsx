import { Panel, type ReactFlowState, useReactFlow, useStore, ViewportPortal } from "@xyflow/react";
import { Maximize, Minus, Plus, RefreshCw, Settings, Wifi, WifiOff } from "lucide-react";
import { memo } from "react";
import { Link } from "react-router";
import { Button, buttonClass } from "../../../components/ui/button.tsx";
import { Avatar } from "../../../components/user-menu.tsx";
import { userColor } from "../../../lib/colors.ts";
import { cn } from "../../../lib/utils.ts";
import type { SocketStatus } from "../../../lib/ws-client.ts";
import { type CursorStore, type PresenceUser, useCursors } from "../hooks/use-canvas-sync.ts";

/** Remote cursors in flow coordinates; CSS transitions smooth the 10 Hz updates. */
const zoomSelector = (s: ReactFlowState) => s.transform[2];

/** Remote cursors keep their on-screen size at any zoom. */
export const RemoteCursors = memo(function RemoteCursors({ store }: { store: CursorStore }) {
  const cursors = useCursors(store);
  const zoom = useStore(zoomSelector);
  return (
    <ViewportPortal>
      {cursors.map((c) => {
        const color = userColor(c.user_id);
        return (
          <div
            key={c.user_id}
            className="pointer-events-none absolute top-0 left-0 z-[1000] transition-transform duration-100 ease-linear"
            style={{ transform: `translate(${c.x}px, ${c.y}px) scale(${1 / zoom})`, transformOrigin: "0 0" }}
            data-testid="remote-cursor"
            data-user-name={c.user_name}
          >
            <svg width="18" height="18" viewBox="0 0 18 18" aria-hidden="true">
              <path d="M1 1 L7 16 L9.5 9.5 L16 7 Z" fill={color} stroke="white" strokeWidth="1.2" />
            </svg>
            <span
              className="ml-3 rounded-md px-1.5 py-0.5 text-[11px] font-medium whitespace-nowrap text-white"
              style={{ background: color }}
            >
              {c.user_name}
            </span>
          </div>
        );
      })}
    </ViewportPortal>
  );
});

export const PresenceAvatars = memo(function PresenceAvatars({ users }: { users: readonly PresenceUser[] }) {
  const shown = users.slice(0, 3);
  const more = users.length - shown.length;
  return (
    <div className="flex items-center -space-x-2" data-testid="presence">
      <span className="sr-only">People on this canvas</span>
      {shown.map((u) => (
        <Avatar key={u.user_id} id={u.user_id} name={u.user_name} size={30} ring />
      ))}
      {more > 0 ? (
        <span className="flex size-[30px] items-center justify-center rounded-full bg-muted text-xs font-medium ring-2 ring-background">
          +{more}
        </span>
      ) : null}
    </div>
  );
});

export function ConnectionBadge({ status, onReconnect }: { status: SocketStatus; onReconnect: () => void }) {
  if (status === "connected")
    return (
      <span
        className="flex items-center gap-1.5 rounded-full border border-border bg-card/90 px-2.5 py-1 text-xs text-emerald-300"
        data-testid="canvas-status"
      >
        <Wifi className="size-3.5" /> Live
      </span>
    );
  return (
    <span
      className={cn(
        "flex items-center gap-2 rounded-full border px-2.5 py-1 text-xs",
        status === "disconnected" ? "border-red-500/50 bg-red-950/80 text-red-200" : "border-amber-500/50 bg-amber-950/80 text-amber-200",
      )}
      role="status"
      data-testid="canvas-status"
    >
      <WifiOff className="size-3.5" />
      {status === "connecting" ? "Connecting…" : status === "reconnecting" ? "Reconnecting…" : "Disconnected"}
      {status !== "connecting" ? (
        <button type="button" className="flex items-center gap-1 font-medium underline-offset-2 hover:underline" onClick={onReconnect}>
          <RefreshCw className="size-3" /> Reconnect
        </button>
      ) : null}
    </span>
  );
}

export const CanvasControls = memo(function CanvasControls({ projectID }: { projectID: string }) {
  const rf = useReactFlow();
  return (
    <Panel position="bottom-left" className="flex flex-col gap-1 rounded-lg border border-border bg-card/95 p-1 shadow-lg">
      <Link
        to={`/projects/${projectID}/settings`}
        className={buttonClass("ghost", "icon")}
        aria-label="Project settings"
        title="Project settings"
      >
        <Settings />
      </Link>
      <Button variant="ghost" size="icon" onClick={() => rf.zoomIn({ duration: 150 })} aria-label="Zoom in" title="Zoom in (+)">
        <Plus />
      </Button>
      <Button variant="ghost" size="icon" onClick={() => rf.zoomOut({ duration: 150 })} aria-label="Zoom out" title="Zoom out (-)">
        <Minus />
      </Button>
      <Button
        variant="ghost"
        size="icon"
        onClick={() => rf.fitView({ padding: 0.2, duration: 200, maxZoom: 1, includeHiddenNodes: true })}
        aria-label="Fit view"
        title="Fit view (F)"
      >
        <Maximize />
      </Button>
    </Panel>
  );
});

export interface MenuState {
  kind: "pane" | "node";
  /** Screen position relative to the canvas wrapper. */
  left: number;
  top: number;
  flowX: number;
  flowY: number;
  nodeID?: string;
}

export function ContextMenu({
  menu,
  onClose,
  onAddService,
  onAddDatabase,
  onAddNote,
  onAddGroup,
  onDelete,
  service,
  onServiceAction,
}: {
  menu: MenuState;
  onClose: () => void;
  onAddService: () => void;
  onAddDatabase: () => void;
  onAddNote: () => void;
  onAddGroup: () => void;
  onDelete: () => void;
  /** The applied service of the node right-clicked: Restart, Stop and Start act on it at once. */
  service?: { status: string; active_deployment_id: string | null } | undefined;
  onServiceAction?: (action: "restart" | "stop" | "start") => void;
}) {
  const item = (label: string, fn: () => void, destructive = false) => (
    <button
      type="button"
      role="menuitem"
      className={cn("flex w-full rounded-md px-2 py-1.5 text-left text-sm hover:bg-accent", destructive && "text-red-400")}
      onClick={() => {
        onClose();
        fn();
      }}
    >
      {label}
    </button>
  );
  return (
    <div
      role="menu"
      aria-label="Canvas menu"
      className="absolute z-50 min-w-44 rounded-lg border border-border bg-popover p-1 shadow-xl"
      style={{ left: menu.left, top: menu.top }}
      onContextMenu={(e) => e.preventDefault()}
    >
      {menu.kind === "pane" ? (
        <>
          {item("Add Service", onAddService)}
          {item("Add Database", onAddDatabase)}
          {item("Add Note", onAddNote)}
          {item("Add Group", onAddGroup)}
        </>
      ) : (
        <>
          {service && onServiceAction ? (
            service.status === "stopped" ? (
              item("Start", () => onServiceAction("start"))
            ) : service.active_deployment_id !== null ? (
              <>
                {item("Restart", () => onServiceAction("restart"))}
                {item("Stop…", () => onServiceAction("stop"))}
              </>
            ) : null
          ) : null}
          {item("Delete Node", onDelete, true)}
        </>
      )}
    </div>
  );
}
