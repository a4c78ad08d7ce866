import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api } from "@/lib/api";
import { useWorkspaceList, workspacesKey } from "@/lib/workspace";

export const useWorkspaces = useWorkspaceList;

export function useCreateWorkspace() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => api.post("/api/v1/workspaces", { body: { name } }),
    onSuccess: () => client.invalidateQueries({ queryKey: workspacesKey }),
    meta: { silent: true },
  });
}
