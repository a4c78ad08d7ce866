import { QueryCache, QueryClient, MutationCache } from "@tanstack/react-query";

import { isApiError } from "@/lib/api";
import { toastError } from "@/stores/toasts";

declare module "@tanstack/react-query" {
  interface Register {
    // `meta.silent`: the component shows the error itself (forms), no toast.
    queryMeta: { silent?: boolean; errorTitle?: string };
    mutationMeta: { silent?: boolean; errorTitle?: string };
  }
}

/** Server state of one workspace lives under ["ws", id, ...]: switching workspaces never mixes caches. */
export function wsKey(workspaceId: string, ...rest: unknown[]) {
  return ["ws", workspaceId, ...rest] as const;
}

export function createQueryClient() {
  return new QueryClient({
    queryCache: new QueryCache({
      onError: (error, query) => {
        if (query.meta?.silent) return;
        if (isApiError(error) && error.status === 401) return;
        toastError(error, query.meta?.errorTitle ?? "Could not load data");
      },
    }),
    mutationCache: new MutationCache({
      onError: (error, _vars, _ctx, mutation) => {
        if (mutation.meta?.silent) return;
        toastError(error, mutation.meta?.errorTitle ?? "That did not work");
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        refetchOnWindowFocus: false,
        // A 4xx will not fix itself; retry only what might be transient.
        retry: (count, error) => count < 2 && !(isApiError(error) && error.status >= 400 && error.status < 500),
      },
    },
  });
}
