import { useEffect, useRef, useState } from "react";
import { Link } from "react-router-dom";

import { Spinner } from "@/components/ui/button";
import { IconAlert, IconCheck } from "@/components/ui/icons";
import { isApiError } from "@/lib/api";

import { forgetPendingConnect, takePendingConnect, useCompleteConnect } from "../api/crm";
import { CRM_LABEL, type Crm } from "../mapping";

type Outcome = { ok: true; crm: string } | { ok: false; title: string; message: string; requestId?: string | null };

function readCallback(): { code: string | null; state: string | null; error: string | null; description: string | null } {
  const params = new URLSearchParams(window.location.search);
  return { code: params.get("code"), state: params.get("state"), error: params.get("error"), description: params.get("error_description") };
}

const crmLabel = (crm: string) => CRM_LABEL[crm as Crm] ?? crm;

/**
 * `/crm/callback?code&state`: where the CRM sends the browser back (CRM_REDIRECT_URI, one fixed
 * address per deployment, so no workspace in it). The workspace comes from the tab's
 * sessionStorage, written when the connect started; the API checks that the state is this
 * user's and this workspace's and takes it once.
 */
export function CrmCallbackPage() {
  const [callback] = useState(readCallback);
  const [pending] = useState(() => (callback.state ? takePendingConnect(callback.state) : null));
  const workspaceId = pending?.workspaceId ?? "";
  const complete = useCompleteConnect(workspaceId);
  const [outcome, setOutcome] = useState<Outcome | null>(() => {
    if (callback.error) {
      return { ok: false, title: "The CRM did not grant access", message: callback.description || callback.error };
    }
    if (!callback.code || !callback.state) return { ok: false, title: "Nothing to connect", message: "This address has no authorization code in it. Start again from the CRM page." };
    if (!pending) {
      return { ok: false, title: "Connect not started here", message: "This connect was not started in this browser tab, or it was already finished. Start again from the CRM page." };
    }
    return null;
  });
  const started = useRef(false);
  const { mutate } = complete;

  useEffect(() => {
    if (started.current || outcome || !callback.code || !callback.state) return;
    started.current = true;
    // The code and state work once: strip them from the address bar and the history entry.
    window.history.replaceState(null, "", window.location.pathname);
    mutate(
      { code: callback.code, state: callback.state },
      {
        onSuccess: (connection) => {
          forgetPendingConnect();
          setOutcome({ ok: true, crm: connection.crm });
        },
        onError: (e) => {
          forgetPendingConnect();
          setOutcome({
            ok: false,
            title: "Could not connect",
            message: isApiError(e) ? e.message : "The connection could not be completed.",
            requestId: isApiError(e) ? e.requestId : null,
          });
        },
      },
    );
  }, [callback, mutate, outcome]);

  const back = workspaceId ? `/w/${workspaceId}/crm` : "/";
  return (
    <main className="flex min-h-dvh items-center justify-center px-4 py-12">
      <div className="w-full max-w-md rounded-xl bg-white p-6 text-center shadow-sm ring-1 ring-zinc-200" data-testid="crm-callback">
        {outcome === null ? (
          <div role="status" className="flex items-center justify-center gap-2 py-6 text-sm text-zinc-600">
            <Spinner /> Connecting {crmLabel(pending?.crm ?? "")}…
          </div>
        ) : outcome.ok ? (
          <div role="status">
            <div className="mx-auto mb-3 flex size-10 items-center justify-center rounded-full bg-emerald-50 text-emerald-700">
              <IconCheck className="size-5" />
            </div>
            <h1 className="text-base font-semibold text-zinc-900">{crmLabel(outcome.crm)} connected</h1>
            <p className="mt-1 text-sm text-zinc-600">Exports from this workspace can now create and update its records.</p>
            <Link to={back} className="mt-5 inline-flex h-9 items-center rounded-md bg-indigo-600 px-3.5 text-sm font-medium text-white shadow-sm hover:bg-indigo-500">
              Back to CRM
            </Link>
          </div>
        ) : (
          <div role="alert">
            <div className="mx-auto mb-3 flex size-10 items-center justify-center rounded-full bg-red-50 text-red-700">
              <IconAlert className="size-5" />
            </div>
            <h1 className="text-base font-semibold text-zinc-900">{outcome.title}</h1>
            <p className="mt-1 text-sm text-zinc-600">{outcome.message}</p>
            {outcome.requestId && <p className="mt-2 font-mono text-xs text-zinc-500">Request {outcome.requestId}</p>}
            <Link to={back} className="mt-5 inline-flex h-9 items-center rounded-md px-3.5 text-sm font-medium text-indigo-700 ring-1 ring-inset ring-zinc-300 hover:bg-zinc-50">
              {workspaceId ? "Back to CRM" : "Go to your workspaces"}
            </Link>
          </div>
        )}
      </div>
    </main>
  );
}
