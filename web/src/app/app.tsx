import { QueryClientProvider } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { RouterProvider } from "react-router-dom";

import { Toaster } from "@/components/ui/toaster";
import { restoreSession, tokenHandlers } from "@/features/auth/api/session";
import { api } from "@/lib/api";
import { createQueryClient } from "@/lib/query";
import { useSession } from "@/stores/session";

import { router } from "./router";

api.setTokenHandlers(tokenHandlers);

export function App() {
  const [queryClient] = useState(createQueryClient);
  const status = useSession((s) => s.status);

  useEffect(() => {
    void restoreSession();
  }, []);

  // Nothing of one user's data may survive into the next user's session.
  useEffect(() => {
    if (status === "signed-out") queryClient.clear();
  }, [queryClient, status]);

  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
      <Toaster />
    </QueryClientProvider>
  );
}
