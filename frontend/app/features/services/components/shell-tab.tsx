import "@xterm/xterm/css/xterm.css";
import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import { Plug, Unplug } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import type { Service } from "../../../../../src/service.ts";
import { Badge, type BadgeVariant } from "../../../components/ui/badge.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { Input, Select } from "../../../components/ui/input.tsx";
import { refreshTokens } from "../../../lib/api-client.ts";
import { formatCommand, parseCommand } from "../../../lib/command.ts";
import { getAccessToken, onTokensChange } from "../../../lib/tokens.ts";
import { useUser } from "../../../shared/auth/auth-context.tsx";
import { chunks, shellSocketURL, useRunningContainers } from "../../../shared/services/api/shell.ts";
import { useSettings } from "../../../shared/settings/api/settings.ts";

type State = "idle" | "connecting" | "open" | "closed";
const STATE_BADGE: Record<State, { label: string; variant: BadgeVariant }> = {
  idle: { label: "Not connected", variant: "secondary" },
  connecting: { label: "Connecting", variant: "info" },
  open: { label: "Connected", variant: "success" },
  closed: { label: "Closed", variant: "secondary" },
};
const CLOSE_AUTH = 4001;

/**
 * A terminal in one of the service's running containers (Docker exec with a TTY): xterm.js over the
 * shell socket. The command is an argv (edited as a shell-like line, parsed here, never run through a
 * shell on the host); the replica is picked from the running containers.
 */
export function ShellTab({ projectID, service }: { projectID: string; service: Service }) {
  const user = useUser();
  const settings = useSettings();
  const containers = useRunningContainers(projectID, service.id);
  const [line, setLine] = useState("sh");
  const [replica, setReplica] = useState<number | null>(null);
  const [state, setState] = useState<State>("idle");
  const [message, setMessage] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  const parsed = parseCommand(line);
  const commandError = parsed.error ?? (parsed.argv.length === 0 ? "Enter a command, e.g. sh." : undefined);
  const replicas = [...new Set((containers.data ?? []).map((c) => c.replica_index))].sort((a, b) => a - b);
  const allowed = user.role === "admin" || settings.data?.shell_members_allowed === true;

  // One terminal and one socket per connect (attempt > 0); closing the tab or reconnecting ends it.
  // The command and replica are read when connecting, not followed while connected.
  useEffect(() => {
    if (attempt === 0 || !box.current) return;
    const argv = parseCommand(line).argv;
    const term = new Terminal({
      cursorBlink: true,
      fontSize: 13,
      fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace",
      theme: { background: "#0b0e14" },
      scrollback: 5000,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(box.current);
    try {
      fit.fit();
    } catch {}
    const ws = new WebSocket(shellSocketURL(window.location, projectID, service.id, argv, replica));
    ws.binaryType = "arraybuffer";
    setState("connecting");
    setMessage(null);
    const enc = new TextEncoder();
    let ready = false;
    const sendResize = () => {
      if (ready && ws.readyState === WebSocket.OPEN)
        ws.send(JSON.stringify({ type: "resize", payload: { cols: term.cols, rows: term.rows } }));
    };
    ws.onopen = () =>
      ws.send(JSON.stringify({ type: "auth", payload: { token: getAccessToken() ?? "", cols: term.cols, rows: term.rows } }));
    ws.onmessage = (e) => {
      if (typeof e.data !== "string") {
        term.write(new Uint8Array(e.data as ArrayBuffer));
        return;
      }
      let msg: { type?: string; payload?: Record<string, unknown> };
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      const p = msg.payload ?? {};
      if (msg.type === "shell:ready") {
        ready = true;
        setState("open");
        setMessage(`Container ${String(p.container_id)} (replica ${String(p.replica_index)}) · ${formatCommand(p.command as string[])}`);
        term.focus();
        sendResize();
      } else if (msg.type === "shell:exit") {
        setMessage(`Process exited${p.exit_code === null || p.exit_code === undefined ? "" : ` with code ${String(p.exit_code)}`}.`);
      } else if (msg.type === "error") {
        setMessage(String(p.message ?? "Shell error."));
      }
    };
    ws.onclose = (e) => {
      setState("closed");
      if (e.code === CLOSE_AUTH) {
        setMessage("Your session ended or expired. Reconnect to continue.");
        void refreshTokens();
      } else if (!ready && e.code !== 1000) setMessage((m) => m ?? (e.reason || `Connection closed (${e.code}).`));
      term.options.disableStdin = true;
    };
    const data = term.onData((d) => {
      if (ws.readyState !== WebSocket.OPEN || !ready) return;
      for (const c of chunks(enc.encode(d))) ws.send(c);
    });
    // A refreshed token extends the session (the server closes it at the old token's expiry).
    const offTokens = onTokensChange((t) => {
      if (t && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "auth", payload: { token: t } }));
    });
    const ro = new ResizeObserver(() => {
      try {
        fit.fit();
      } catch {}
    });
    ro.observe(box.current);
    const resized = term.onResize(sendResize);
    return () => {
      ro.disconnect();
      resized.dispose();
      data.dispose();
      offTokens();
      ws.onclose = null;
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000);
      term.dispose();
    };
  }, [attempt, projectID, service.id]);

  const noContainer = containers.isSuccess && replicas.length === 0;
  return (
    <div className="grid gap-3" data-testid="shell-tab">
      {!allowed ? (
        <p className="rounded-md border border-border bg-muted/40 p-3 text-sm text-muted-foreground" data-testid="shell-not-allowed">
          Shell access is limited to admins on this instance. An admin can allow members in Settings.
        </p>
      ) : noContainer ? (
        <p className="rounded-md border border-border bg-muted/40 p-3 text-sm text-muted-foreground" data-testid="shell-no-container">
          No running container: deploy or start the service to open a shell.
        </p>
      ) : null}
      <div className="flex flex-wrap items-end gap-2">
        <div className="grid min-w-48 flex-1 gap-1 text-xs text-muted-foreground">
          <label htmlFor="shell-command">Command</label>
          <Input
            id="shell-command"
            value={line}
            onChange={(e) => setLine(e.target.value)}
            className="font-mono"
            aria-label="Shell command"
            aria-invalid={!!commandError}
            data-testid="shell-command"
            onKeyDown={(e) => {
              if (e.key === "Enter" && !commandError && allowed && !noContainer) setAttempt((a) => a + 1);
            }}
          />
        </div>
        <div className="grid gap-1 text-xs text-muted-foreground">
          <label htmlFor="shell-replica">Replica</label>
          <Select
            id="shell-replica"
            value={replica === null ? "" : String(replica)}
            onChange={(e) => setReplica(e.target.value === "" ? null : Number(e.target.value))}
            aria-label="Replica"
            data-testid="shell-replica"
            className="w-28"
          >
            <option value="">First</option>
            {replicas.map((r) => (
              <option key={r} value={r}>
                Replica {r}
              </option>
            ))}
          </Select>
        </div>
        {state === "open" || state === "connecting" ? (
          <Button size="sm" variant="outline" onClick={() => setAttempt(0)} data-testid="shell-disconnect">
            <Unplug /> Disconnect
          </Button>
        ) : (
          <Button
            size="sm"
            onClick={() => setAttempt((a) => a + 1)}
            disabled={!!commandError || !allowed || noContainer}
            data-testid="shell-connect"
          >
            <Plug /> Connect
          </Button>
        )}
      </div>
      <p className="font-mono text-xs text-muted-foreground">
        {commandError ? <span className="text-destructive">{commandError}</span> : `argv: ${JSON.stringify(parsed.argv)}`}
      </p>
      <div className="flex items-center gap-2 text-xs">
        <Badge variant={STATE_BADGE[attempt === 0 ? "idle" : state].variant} data-testid="shell-state">
          {STATE_BADGE[attempt === 0 ? "idle" : state].label}
        </Badge>
        {message && attempt !== 0 ? (
          <span className="truncate text-muted-foreground" data-testid="shell-message">
            {message}
          </span>
        ) : null}
      </div>
      <div
        ref={box}
        className="h-[420px] w-full overflow-hidden rounded-md border border-border bg-[#0b0e14] p-1"
        data-testid="shell-terminal"
        hidden={attempt === 0}
      />
    </div>
  );
}
