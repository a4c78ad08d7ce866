import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, type Schemas } from "@/lib/api";
import { wsKey } from "@/lib/query";
import { workspacesKey } from "@/lib/workspace";

export type Member = Schemas["MemberOut"];

export function useMembers(workspaceId: string) {
  return useQuery({
    queryKey: wsKey(workspaceId, "members"),
    queryFn: () => api.get("/api/v1/workspaces/{workspace_id}/members", { path: { workspace_id: workspaceId } }),
  });
}

export function useChangeRole(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ userId, role }: { userId: string; role: Schemas["Role"] }) =>
      api.put("/api/v1/workspaces/{workspace_id}/members/{user_id}/role", {
        path: { workspace_id: workspaceId, user_id: userId },
        body: { role },
      }),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: wsKey(workspaceId, "members") });
      void client.invalidateQueries({ queryKey: workspacesKey });
    },
    meta: { errorTitle: "Could not change the role" },
  });
}

export function useRemoveMember(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (userId: string) =>
      api.delete("/api/v1/workspaces/{workspace_id}/members/{user_id}", { path: { workspace_id: workspaceId, user_id: userId } }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: wsKey(workspaceId, "members") });
      void client.invalidateQueries({ queryKey: workspacesKey });
    },
    meta: { errorTitle: "Could not remove the member" },
  });
}

export type Invitation = Schemas["InvitationOut"];
export type InvitationCreated = Schemas["InvitationCreated"];

export function useInvitations(workspaceId: string, enabled: boolean) {
  return useQuery({
    queryKey: wsKey(workspaceId, "invitations"),
    enabled,
    queryFn: () => api.get("/api/v1/workspaces/{workspace_id}/invitations", { path: { workspace_id: workspaceId } }),
  });
}

export function useInvite(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["InvitationCreate"]) => api.post("/api/v1/workspaces/{workspace_id}/invitations", { path: { workspace_id: workspaceId }, body }),
    onSuccess: () => client.invalidateQueries({ queryKey: wsKey(workspaceId, "invitations") }),
    meta: { silent: true },
  });
}

export function useRevokeInvitation(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (invitationId: string) =>
      api.delete("/api/v1/workspaces/{workspace_id}/invitations/{invitation_id}", { path: { workspace_id: workspaceId, invitation_id: invitationId } }),
    onSuccess: () => client.invalidateQueries({ queryKey: wsKey(workspaceId, "invitations") }),
    meta: { errorTitle: "Could not revoke the invitation" },
  });
}

export function acceptInvitation(token: string) {
  return api.post("/api/v1/invitations/accept", { body: { token } });
}
