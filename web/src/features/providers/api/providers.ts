import { useQuery } from "@tanstack/react-query";

import { api, type Schemas } from "@/lib/api";

export type Provider = Schemas["ProviderOut"];

/** The provider catalog is the same for every workspace. */
export function useProviders() {
  return useQuery({ queryKey: ["providers"], queryFn: () => api.get("/api/v1/providers"), staleTime: 5 * 60_000 });
}
