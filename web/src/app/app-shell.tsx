import { useEffect, useState } from "react";
import { NavLink, Outlet, useMatch, useParams } from "react-router-dom";

import { IconBilling, IconCloudUp, IconSearch, IconTable, IconJobs, IconKey, IconLogout, IconMenu, IconPlug, IconUsers, IconWebhook, IconX } from "@/components/ui/icons";
import { Logo } from "@/features/auth/components/auth-layout";
import { logout } from "@/features/auth/api/session";
import { QuickSearch } from "@/features/search/components/quick-search";
import { WorkspaceSwitcher } from "@/features/workspaces/components/workspace-switcher";
import { useLastWorkspace } from "@/features/workspaces/stores/last-workspace";
import { cn } from "@/lib/cn";
import { useSession } from "@/stores/session";

const NAV = [
  {
    section: "Work",
    items: [
      { to: "tables", label: "Tables", icon: IconTable },
      { to: "search", label: "Search", icon: IconSearch },
      { to: "jobs", label: "Jobs", icon: IconJobs },
      { to: "analytics", label: "Analytics", icon: IconBilling },
    ],
  },
  {
    section: "Workspace",
    items: [
      { to: "providers", label: "Providers", icon: IconPlug },
      { to: "billing", label: "Billing", icon: IconBilling },
      { to: "credentials", label: "Credentials", icon: IconKey },
      { to: "webhooks", label: "Webhooks", icon: IconWebhook },
      { to: "crm", label: "CRM", icon: IconCloudUp },
      { to: "members", label: "Members", icon: IconUsers },
    ],
  },
];

function Sidebar({ workspaceId, onNavigate }: { workspaceId: string; onNavigate?: () => void }) {
  return (
    <nav aria-label="Main" className="flex flex-1 flex-col gap-6 px-3 py-4">
      {NAV.map((group) => (
        <div key={group.section}>
          <p className="px-2 pb-1.5 text-xs font-medium text-zinc-600">{group.section}</p>
          <ul className="space-y-0.5">
            {group.items.map(({ to, label, icon: Icon }) => (
              <li key={to}>
                <NavLink
                  to={`/w/${workspaceId}/${to}`}
                  onClick={onNavigate}
                  className={({ isActive }) =>
                    cn(
                      "flex h-8 items-center gap-2.5 rounded-md px-2 text-sm transition-colors",
                      isActive ? "bg-white font-medium text-zinc-900 shadow-sm ring-1 ring-zinc-200" : "text-zinc-700 hover:bg-zinc-200/60",
                    )
                  }
                >
                  <Icon className="size-4 text-zinc-500" />
                  {label}
                </NavLink>
              </li>
            ))}
          </ul>
        </div>
      ))}
    </nav>
  );
}

function UserMenu() {
  const user = useSession((s) => s.user);
  return (
    <div className="flex items-center gap-2">
      <span className="hidden max-w-48 truncate text-xs text-zinc-600 sm:inline" title={user?.email}>
        {user?.email}
      </span>
      <button
        type="button"
        onClick={() => void logout()}
        className="inline-flex h-8 items-center gap-1.5 rounded-md px-2 text-sm text-zinc-700 hover:bg-zinc-100"
      >
        <IconLogout /> <span>Log out</span>
      </button>
    </div>
  );
}

export function AppShell() {
  const { workspaceId = "" } = useParams();
  const [menuOpen, setMenuOpen] = useState(false);
  const remember = useLastWorkspace((s) => s.remember);
  // The grid takes the whole page below the header: no max width, no padding, no page scroll.
  const fullBleed = useMatch("/w/:workspaceId/tables/:tableId") !== null;

  useEffect(() => {
    if (workspaceId) remember(workspaceId);
  }, [remember, workspaceId]);

  return (
    <div className={cn("flex", fullBleed ? "h-dvh overflow-hidden" : "min-h-dvh")}>
      <a href="#main" className="sr-only focus:not-sr-only focus:fixed focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:shadow">
        Skip to content
      </a>
      <aside className="sticky top-0 hidden h-dvh w-60 shrink-0 flex-col border-r border-zinc-200 bg-zinc-100/60 md:flex">
        <div className="flex h-14 items-center gap-2 px-5">
          <Logo className="size-6" />
          <span className="font-semibold tracking-tight">Morket</span>
        </div>
        <Sidebar workspaceId={workspaceId} />
      </aside>
      {menuOpen && (
        <div className="fixed inset-0 z-40 md:hidden" role="dialog" aria-modal="true" aria-label="Navigation">
          <div className="absolute inset-0 bg-zinc-900/30" onClick={() => setMenuOpen(false)} />
          <div className="absolute inset-y-0 left-0 flex w-72 flex-col bg-zinc-50 shadow-xl">
            <div className="flex h-14 items-center justify-between px-4">
              <span className="flex items-center gap-2 font-semibold">
                <Logo className="size-6" /> Morket
              </span>
              <button type="button" onClick={() => setMenuOpen(false)} aria-label="Close navigation" className="rounded-md p-1.5 hover:bg-zinc-200">
                <IconX />
              </button>
            </div>
            <Sidebar workspaceId={workspaceId} onNavigate={() => setMenuOpen(false)} />
          </div>
        </div>
      )}
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="sticky top-0 z-30 flex h-14 items-center gap-2 border-b border-zinc-200 bg-white/90 px-3 backdrop-blur sm:px-6">
          <button type="button" onClick={() => setMenuOpen(true)} aria-label="Open navigation" className="rounded-md p-1.5 text-zinc-700 hover:bg-zinc-100 md:hidden">
            <IconMenu className="size-5" />
          </button>
          <div className="min-w-0 flex-1">
            <WorkspaceSwitcher workspaceId={workspaceId} />
          </div>
          <QuickSearch workspaceId={workspaceId} />
          <UserMenu />
        </header>
        <main id="main" className={fullBleed ? "flex min-h-0 w-full flex-1 flex-col" : "mx-auto w-full max-w-5xl flex-1 px-4 py-6 sm:px-8 sm:py-8"}>
          <Outlet />
        </main>
      </div>
    </div>
  );
}
