import { Suspense, type ComponentType } from "react";
import { createBrowserRouter, Navigate, Outlet, useLocation, useParams } from "react-router-dom";

import { Spinner } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/feedback";
import { LoginPage, SignupPage } from "@/features/auth/components/auth-forms";
import { FirstWorkspace } from "@/features/workspaces/components/create-workspace";
import { useLastWorkspace } from "@/features/workspaces/stores/last-workspace";
import { lazyNamed } from "@/lib/lazy";
import { useWorkspaceList } from "@/lib/workspace";
import { useSession } from "@/stores/session";

import { AppShell } from "./app-shell";

function FullPageSpinner({ label }: { label: string }) {
  return (
    <div role="status" aria-label={label} className="flex min-h-dvh items-center justify-center text-zinc-400">
      <Spinner className="size-6" />
    </div>
  );
}

/**
 * Every page is its own chunk, loaded when it is opened: the grid page (AG Grid, most of the
 * JavaScript) never waits for analytics (recharts), search or the settings screens, and those
 * never wait for AG Grid. `bench/web.py` prints what the grid page loads.
 */
function page(Page: ComponentType, label: string) {
  return (
    <Suspense fallback={<FullPageSpinner label={label} />}>
      <Page />
    </Suspense>
  );
}

const pages = {
  tables: page(lazyNamed(() => import("@/features/tables/components/tables-page"), "TablesPage"), "Loading tables"),
  table: page(lazyNamed(() => import("@/features/tables/components/table-page"), "TablePage"), "Loading the table"),
  search: page(lazyNamed(() => import("@/features/search/components/search-page"), "SearchPage"), "Loading search"),
  jobs: page(lazyNamed(() => import("@/features/jobs/components/jobs-page"), "JobsPage"), "Loading jobs"),
  analytics: page(lazyNamed(() => import("@/features/analytics/components/analytics-page"), "AnalyticsPage"), "Loading analytics"),
  providers: page(lazyNamed(() => import("@/features/providers/components/providers-page"), "ProvidersPage"), "Loading providers"),
  billing: page(lazyNamed(() => import("@/features/billing/components/billing-page"), "BillingPage"), "Loading billing"),
  credentials: page(lazyNamed(() => import("@/features/credentials/components/credentials-page"), "CredentialsPage"), "Loading credentials"),
  webhooks: page(lazyNamed(() => import("@/features/webhooks/components/webhooks-page"), "WebhooksPage"), "Loading webhooks"),
  members: page(lazyNamed(() => import("@/features/members/components/members-page"), "MembersPage"), "Loading members"),
  crm: page(lazyNamed(() => import("@/features/crm"), "CrmPage"), "Loading CRM"),
  crmCallback: page(lazyNamed(() => import("@/features/crm"), "CrmCallbackPage"), "Connecting the CRM"),
  invitation: page(lazyNamed(() => import("@/features/members/components/invitations"), "AcceptInvitationPage"), "Loading the invitation"),
};

function RequireAuth() {
  const status = useSession((s) => s.status);
  const location = useLocation();
  if (status === "restoring") return <FullPageSpinner label="Restoring your session" />;
  if (status === "signed-out") return <Navigate to="/login" replace state={{ from: location.pathname + location.search + location.hash }} />;
  return <Outlet />;
}

function GuestOnly() {
  const status = useSession((s) => s.status);
  if (status === "restoring") return <FullPageSpinner label="Restoring your session" />;
  if (status === "signed-in") return <Navigate to="/" replace />;
  return <Outlet />;
}

/** `/`: the last workspace used, else the first, else the first-run screen. */
function Home() {
  const { data, isPending } = useWorkspaceList();
  const last = useLastWorkspace((s) => s.workspaceId);
  if (isPending) return <FullPageSpinner label="Loading workspaces" />;
  if (!data || data.length === 0) return <FirstWorkspace />;
  const target = data.find((w) => w.id === last) ?? data[0];
  return <Navigate to={`/w/${target?.id}/tables`} replace />;
}

/** A workspace id the user is not a member of (or that does not exist) shows the same answer. */
function WorkspaceGate() {
  const { workspaceId } = useParams();
  const { data } = useWorkspaceList();
  if (data && !data.some((w) => w.id === workspaceId)) {
    return (
      <main className="flex min-h-dvh items-center justify-center">
        <EmptyState title="Workspace not found" action={<a className="font-medium text-indigo-600" href="/">Go to your workspaces</a>}>
          It does not exist or you are not a member of it.
        </EmptyState>
      </main>
    );
  }
  return <AppShell />;
}

function NotFound() {
  return (
    <main className="flex min-h-dvh items-center justify-center">
      <EmptyState title="Page not found" action={<a className="font-medium text-indigo-600" href="/">Back to Morket</a>}>
        The address may be mistyped or the page has moved.
      </EmptyState>
    </main>
  );
}

export const router = createBrowserRouter([
  {
    element: <GuestOnly />,
    children: [
      { path: "/login", element: <LoginPage /> },
      { path: "/signup", element: <SignupPage /> },
    ],
  },
  {
    element: <RequireAuth />,
    children: [
      { path: "/", element: <Home /> },
      { path: "/invitations/accept", element: pages.invitation },
      // CRM_REDIRECT_URI: the CRM sends the browser back here with code and state (docs/crm.md).
      { path: "/crm/callback", element: pages.crmCallback },
      {
        path: "/w/:workspaceId",
        element: <WorkspaceGate />,
        children: [
          { index: true, element: <Navigate to="tables" replace /> },
          { path: "tables", element: pages.tables },
          { path: "tables/:tableId", element: pages.table },
          { path: "search", element: pages.search },
          { path: "jobs", element: pages.jobs },
          { path: "analytics", element: pages.analytics },
          { path: "providers", element: pages.providers },
          { path: "billing", element: pages.billing },
          { path: "credentials", element: pages.credentials },
          { path: "webhooks", element: pages.webhooks },
          { path: "crm", element: pages.crm },
          { path: "members", element: pages.members },
        ],
      },
    ],
  },
  { path: "*", element: <NotFound /> },
]);
