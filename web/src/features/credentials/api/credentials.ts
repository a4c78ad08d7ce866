import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, type Schemas } from "@/lib/api";
import { wsKey } from "@/lib/query";

export type Credential = Schemas["CredentialOut"];

export function useCredentials(workspaceId: string) {
  return useQuery({
    queryKey: wsKey(workspaceId, "credentials"),
    queryFn: () => api.get("/api/v1/workspaces/{workspace_id}/credentials", { path: { workspace_id: workspaceId } }),
  });
}

export function useAddCredential(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["CredentialCreate"]) =>
      api.post("/api/v1/workspaces/{workspace_id}/credentials", { path: { workspace_id: workspaceId }, body }),
    onSuccess: () => client.invalidateQueries({ queryKey: wsKey(workspaceId, "credentials") }),
    meta: { silent: true },
  });
}

export function useDeleteCredential(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (credentialId: string) =>
      api.delete("/api/v1/workspaces/{workspace_id}/credentials/{credential_id}", {
        path: { workspace_id: workspaceId, credential_id: credentialId },
      }),
    onSuccess: () => client.invalidateQueries({ queryKey: wsKey(workspaceId, "credentials") }),
    meta: { errorTitle: "Could not delete the credential" },
  });
}
