import { Card, PageHeader } from "@/components/ui/card";
import { Badge, EmptyState, Skeleton } from "@/components/ui/feedback";
import { IconPlug } from "@/components/ui/icons";
import { formatCredits } from "@/lib/format";

import { useProviders, type Provider } from "../api/providers";

function label(field: string) {
  return field.replace(/_/g, " ");
}

function ProviderCard({ provider }: { provider: Provider }) {
  return (
    <Card className="flex flex-col">
      <div className="flex items-start justify-between gap-3 border-b border-zinc-100 px-4 py-3.5">
        <div className="min-w-0">
          <h2 className="text-sm font-semibold text-zinc-900">{provider.name}</h2>
          <p className="mt-0.5 text-xs text-zinc-500">{provider.description}</p>
        </div>
        <Badge tone="indigo">{formatCredits(provider.credit_cost)}</Badge>
      </div>
      <div className="flex-1 space-y-4 px-4 py-3.5">
        <div>
          <h3 className="text-xs font-medium text-zinc-500">Supplies</h3>
          <ul className="mt-1.5 flex flex-wrap gap-1.5">
            {provider.supplies.map((field) => (
              <li key={field}>
                <Badge>{label(field)}</Badge>
              </li>
            ))}
          </ul>
        </div>
        {provider.operations.length > 0 && (
          <div>
            <h3 className="text-xs font-medium text-zinc-500">Operations</h3>
            <ul className="mt-1.5 divide-y divide-zinc-100 rounded-lg ring-1 ring-zinc-100">
              {provider.operations.map((op) => (
                <li key={op.name} className="flex items-start justify-between gap-3 px-3 py-2">
                  <div className="min-w-0">
                    <p className="font-mono text-xs text-zinc-800">{op.name}</p>
                    <p className="text-xs text-zinc-500">
                      {op.description}
                      {op.required_inputs.length > 0 && <> · needs {op.required_inputs.map((set) => set.map(label).join(" + ")).join(" or ")}</>}
                    </p>
                  </div>
                  <span className="whitespace-nowrap text-xs tabular-nums text-zinc-600">{formatCredits(op.credit_cost)}</span>
                </li>
              ))}
            </ul>
          </div>
        )}
        {provider.rate_limit_notes && <p className="text-xs text-zinc-500">Rate limits: {provider.rate_limit_notes}</p>}
      </div>
    </Card>
  );
}

export function ProvidersPage() {
  const providers = useProviders();
  return (
    <>
      <PageHeader
        title="Providers"
        description="The data sources enrichment columns can call, what each one supplies and what a call costs. A call that finds nothing is refunded."
      />
      {providers.isPending ? (
        <div className="grid gap-4 lg:grid-cols-2" role="status" aria-label="Loading providers">
          {[0, 1, 2, 3].map((i) => (
            <Skeleton key={i} className="h-56 rounded-xl" />
          ))}
        </div>
      ) : (providers.data ?? []).length === 0 ? (
        <Card>
          <EmptyState icon={<IconPlug />} title="No providers are configured">
            This server has no enrichment providers registered. Ask your administrator to configure them.
          </EmptyState>
        </Card>
      ) : (
        <div className="grid gap-4 lg:grid-cols-2">
          {providers.data?.map((p) => (
            <ProviderCard key={p.slug} provider={p} />
          ))}
        </div>
      )}
    </>
  );
}
