import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { DeviceLogin } from "../../../../../src/auth.ts";
import { api } from "../../../lib/api-client.ts";

export function getDeviceLogin(code: string): Promise<DeviceLogin> {
  return api<DeviceLogin>(`/api/auth/device/${encodeURIComponent(code)}`);
}

export function deviceLoginQueryOptions(code: string) {
  return queryOptions({ queryKey: ["device-login", code], queryFn: () => getDeviceLogin(code), retry: false });
}

export function useDeviceLogin(code: string | null) {
  return useQuery({ ...deviceLoginQueryOptions(code ?? ""), enabled: Boolean(code) });
}

export function decideDeviceLogin(code: string, approve: boolean): Promise<DeviceLogin> {
  return api<DeviceLogin>(`/api/auth/device/${encodeURIComponent(code)}/${approve ? "approve" : "deny"}`, { method: "POST" });
}

export function useDecideDeviceLogin(code: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (approve: boolean) => decideDeviceLogin(code, approve),
    onSuccess: (l) => qc.setQueryData(deviceLoginQueryOptions(code).queryKey, l),
  });
}
