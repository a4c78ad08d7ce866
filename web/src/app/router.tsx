import { lazy, Suspense } from "react";
import { createBrowserRouter, Navigate, Outlet, useLocation, useParams } from "react-router-dom";

import { Spinner } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/feedback";
import { AnalyticsPage } from "@/features/analytics/components/analytics-page";
import { LoginPage, SignupPage } from "@/features/auth/components/auth-forms";
import { BillingPage } from "@/features/billing/components/billing-page";
import { CredentialsPage } from "@/features/credentials/components/credentials-page";
import { JobsPage } from "@/features/jobs/components/jobs-page";
import { AcceptInvitationPage } from "@/features/members/components/invitations";
import { MembersPage } from "@/features/members/components/members-page";
import { SearchPage } from "@/features/search/components/search-page";
import { TablesPage } from "@/features/tables/components/tables-page";
import { ProvidersPage } from "@/features/providers/components/providers-page";
import { WebhooksPage } from "@/features/webhooks/components/webhooks-page";
import { FirstWorkspace } from "@/features/workspaces/components/create-workspace";
import { useLastWorkspace } from "@/features/workspaces/stores/last-workspace";
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

// The grid page brings AG Grid (most of the JavaScript): loaded when a table is opened, not before.
const TablePage = lazy(() => import("@/features/tables/components/table-page").then((m) => ({ default: m.TablePage })));

function LazyTablePage() {
  return (
    <Suspense fallback={<FullPageSpinner label="Loading the table" />}>
      <TablePage />
    </Suspense>
  );
}

function RequireAuth() {
  const status = useSession((s) => s.status);
  const location = useLocation();
  if (status === "restoring") return <FullPageSpinner label="Restoring your session" />;
  if (status === "signed-out") return <Navigate to="/login" replace state={{ from: location.pathname + location.hash }} />;
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
      { path: "/invitations/accept", element: <AcceptInvitationPage /> },
      {
        path: "/w/:workspaceId",
        element: <WorkspaceGate />,
        children: [
          { index: true, element: <Navigate to="tables" replace /> },
          { path: "tables", element: <TablesPage /> },
          { path: "tables/:tableId", element: <LazyTablePage /> },
          { path: "search", element: <SearchPage /> },
          { path: "jobs", element: <JobsPage /> },
          { path: "analytics", element: <AnalyticsPage /> },
          { path: "providers", element: <ProvidersPage /> },
          { path: "billing", element: <BillingPage /> },
          { path: "credentials", element: <CredentialsPage /> },
          { path: "webhooks", element: <WebhooksPage /> },
          { path: "members", element: <MembersPage /> },
        ],
      },
    ],
  },
  { path: "*", element: <NotFound /> },
]);
