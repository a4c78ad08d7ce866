import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, type Schemas } from "@/lib/api";
import { wsKey } from "@/lib/query";

export type Transaction = Schemas["CreditTransactionOut"];
export type AutoRechargeSettings = Schemas["AutoRecharge"];
export const TX_PAGE_SIZE = 15;

export function useAccount(workspaceId: string) {
  return useQuery({
    queryKey: wsKey(workspaceId, "billing"),
    queryFn: () => api.get("/api/v1/workspaces/{workspace_id}/billing", { path: { workspace_id: workspaceId } }),
  });
}

export function useTransactions(workspaceId: string, page: number) {
  return useQuery({
    queryKey: wsKey(workspaceId, "billing", "transactions", page),
    queryFn: () =>
      api.request("get", "/api/v1/workspaces/{workspace_id}/billing/transactions", {
        path: { workspace_id: workspaceId },
        query: { page, limit: TX_PAGE_SIZE },
      }),
    placeholderData: keepPreviousData,
  });
}

export function useUpdateAutoRecharge(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (auto: Schemas["AutoRechargeUpdate"]) =>
      api.put("/api/v1/workspaces/{workspace_id}/billing", { path: { workspace_id: workspaceId }, body: { auto_recharge: auto } }),
    onSuccess: (account) => client.setQueryData(wsKey(workspaceId, "billing"), account),
    meta: { errorTitle: "Could not save auto-recharge" },
  });
}

export function useAddCredits(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { amount: number; description: string; idempotencyKey: string }) =>
      api.post("/api/v1/workspaces/{workspace_id}/billing/credits", {
        path: { workspace_id: workspaceId },
        body: { amount: input.amount, description: input.description, idempotency_key: input.idempotencyKey },
      }),
    onSuccess: () => client.invalidateQueries({ queryKey: wsKey(workspaceId, "billing") }),
    meta: { errorTitle: "Could not add credits" },
  });
}
