import { useQuery } from "@tanstack/react-query";
import type { Container } from "../../../../../src/container.ts";
import type { ShellSession } from "../../../../../src/shell.ts";
import { api } from "../../../lib/api-client.ts";

/** The running containers of a service (replica picker of the Shell tab). */
export function useRunningContainers(pid: string, sid: string) {
  return useQuery({
    queryKey: ["projects", pid, "services", sid, "containers", "running"],
    queryFn: async () =>
      (
        await api<{ data: Container[] }>(`/api/projects/${encodeURIComponent(pid)}/services/${encodeURIComponent(sid)}/containers`, {
          query: { status: "running", limit: 100 },
        })
      ).data,
    refetchInterval: 10_000,
  });
}

/** `ws(s)://host/api/projects/{pid}/services/{sid}/shell?command=[…]&replica=N`: the argv as JSON, never a shell line. */
export function shellSocketURL(
  location: { protocol: string; host: string },
  pid: string,
  sid: string,
  command: readonly string[],
  replica: number | null,
): string {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const q = new URLSearchParams({ command: JSON.stringify(command) });
  if (replica !== null) q.set("replica", String(replica));
  return `${proto}//${location.host}/api/projects/${encodeURIComponent(pid)}/services/${encodeURIComponent(sid)}/shell?${q}`;
}

/** Input frames stay below the server's bound (16 KiB): a paste goes out in pieces. */
export const INPUT_CHUNK_BYTES = 8 * 1024;

export function chunks(data: Uint8Array, size = INPUT_CHUNK_BYTES): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

export interface ShellSessionsPage {
  data: ShellSession[];
  total_count: number;
  offset: number;
  limit: number;
}

export function useShellSessions(offset: number, limit = 20) {
  return useQuery({
    queryKey: ["system", "shell-sessions", offset, limit],
    queryFn: () => api<ShellSessionsPage>("/api/system/shell-sessions", { query: { offset, limit } }),
  });
}
