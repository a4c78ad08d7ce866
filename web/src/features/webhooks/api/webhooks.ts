import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, type Schemas } from "@/lib/api";
import { wsKey } from "@/lib/query";

export type Webhook = Schemas["WebhookOut"];
export type WebhookEvent = Schemas["WebhookCreate"]["events"][number];
export const WEBHOOK_EVENTS: { value: WebhookEvent; label: string }[] = [
  { value: "job.completed", label: "Job completed" },
  { value: "job.failed", label: "Job failed" },
  { value: "job.cancelled", label: "Job cancelled" },
];

export function useWebhooks(workspaceId: string) {
  return useQuery({
    queryKey: wsKey(workspaceId, "webhooks"),
    queryFn: () => api.get("/api/v1/workspaces/{workspace_id}/webhooks", { path: { workspace_id: workspaceId } }),
  });
}

export function useCreateWebhook(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["WebhookCreate"]) =>
      api.post("/api/v1/workspaces/{workspace_id}/webhooks", { path: { workspace_id: workspaceId }, body }),
    onSuccess: () => client.invalidateQueries({ queryKey: wsKey(workspaceId, "webhooks") }),
    meta: { silent: true },
  });
}

export function useDeleteWebhook(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (webhookId: string) =>
      api.delete("/api/v1/workspaces/{workspace_id}/webhooks/{webhook_id}", {
        path: { workspace_id: workspaceId, webhook_id: webhookId },
      }),
    onSuccess: () => client.invalidateQueries({ queryKey: wsKey(workspaceId, "webhooks") }),
    meta: { errorTitle: "Could not delete the webhook" },
  });
}
