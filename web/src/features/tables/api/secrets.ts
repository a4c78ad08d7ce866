import { useQuery } from "@tanstack/react-query";

import { api } from "@/lib/api";
import { wsKey } from "@/lib/query";

import { SECRET_PROVIDER } from "../forms/http";

/**
 * The names of the vault's credentials an HTTP column can send (provider `http`), for the
 * form's credential picker. Same query key as the credentials screen: one cache, one request.
 */
export function useHttpSecrets(workspaceId: string) {
  return useQuery({
    queryKey: wsKey(workspaceId, "credentials"),
    queryFn: () => api.get("/api/v1/workspaces/{workspace_id}/credentials", { path: { workspace_id: workspaceId } }),
    select: (credentials) => credentials.filter((c) => c.provider === SECRET_PROVIDER).map((c) => c.name),
  });
}
