import { useQuery } from "@tanstack/react-query";
import { useParams } from "react-router-dom";

import { api, type Schemas } from "@/lib/api";

// Shared by every feature: which workspace the page is in and what the user may do there.
export const workspacesKey = ["workspaces"] as const;

export function useWorkspaceList() {
  return useQuery({ queryKey: workspacesKey, queryFn: () => api.get("/api/v1/workspaces") });
}

export function useWorkspaceId(): string {
  const { workspaceId } = useParams();
  if (!workspaceId) throw new Error("useWorkspaceId outside a /w/:workspaceId route");
  return workspaceId;
}

export type Role = Schemas["Role"];
const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

/** The signed-in user's role here, and a check against a minimum role (the API enforces it too). */
export function useWorkspaceRole() {
  const id = useWorkspaceId();
  const { data } = useWorkspaceList();
  const role = data?.find((w) => w.id === id)?.role ?? null;
  return { role, atLeast: (min: Role) => role !== null && RANK[role] >= RANK[min] };
}
