import { create } from "zustand";
import { persist } from "zustand/middleware";

interface LastWorkspaceState {
  workspaceId: string | null;
  remember(id: string): void;
}

/** The workspace to open after sign-in; an id only, nothing secret. */
export const useLastWorkspace = create<LastWorkspaceState>()(
  persist((set) => ({ workspaceId: null, remember: (workspaceId) => set({ workspaceId }) }), { name: "morket.workspace" }),
);
