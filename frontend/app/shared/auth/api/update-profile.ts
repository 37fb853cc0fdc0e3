import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { ProfileUpdate, User } from "../../../../../src/user.ts";
import { api } from "../../../lib/api-client.ts";
import { meQueryOptions } from "./me.ts";

export function updateProfile(upd: ProfileUpdate): Promise<User> {
  return api<User>("/api/auth/profile", { method: "PATCH", body: upd });
}

export function useUpdateProfile() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: updateProfile,
    onSuccess: (user) => qc.setQueryData(meQueryOptions().queryKey, user),
  });
}
