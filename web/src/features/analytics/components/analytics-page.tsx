import { useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { Button } from "@/components/ui/button";
import { Card, CardHeader, PageHeader } from "@/components/ui/card";
import { EmptyState, SkeletonRows } from "@/components/ui/feedback";
import { Field, Input, Select } from "@/components/ui/form";
import { IconJobs } from "@/components/ui/icons";
import { formatDate, formatNumber, formatPercent } from "@/lib/format";
import { useWorkspaceId } from "@/lib/workspace";

import {
  type AnalyticsRange,
  downloadReport,
  type Granularity,
  type ReportName,
  useCreditReport,
  useEnrichmentReport,
  useJobReport,
  useScrapingReport,
} from "../api/analytics";

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function defaultRange(): AnalyticsRange {
  const to = new Date();
  const from = new Date(to.getTime() - 29 * 86_400_000);
  return { from: isoDay(from), to: isoDay(to), granularity: "day" };
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div className="rounded-xl bg-white p-4 shadow-sm ring-1 ring-zinc-200">
      <p className="text-xs font-medium text-zinc-500">{label}</p>
      <p className="mt-1 text-2xl font-semibold tabular-nums tracking-tight">{value}</p>
    </div>
  );
}

function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** Downloads one report's CSV for the range shown (an authenticated fetch, then a Blob URL). */
function CsvButton({ workspaceId, report, range, title }: { workspaceId: string; report: ReportName; range: AnalyticsRange; title: string }) {
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);
  return (
    <div className="flex items-center gap-2">
      {failed && <span role="alert" className="text-xs text-red-700">Download failed</span>}
      <Button
        size="sm"
        busy={busy}
        aria-label={`Download ${title} as CSV`}
        onClick={async () => {
          setBusy(true);
          setFailed(false);
          try {
            await downloadReport(workspaceId, report, range);
          } catch {
            setFailed(true);
          } finally {
            setBusy(false);
          }
        }}
      >
        CSV
      </Button>
    </div>
  );
}

function RangePicker({ range, onChange }: { range: AnalyticsRange; onChange: (range: AnalyticsRange) => void }) {
  return (
    <div className="flex flex-wrap items-end gap-3">
      <Field label="From">
        {({ id }) => (
          <Input id={id} type="date" value={range.from} max={range.to} onChange={(e) => e.target.value && onChange({ ...range, from: e.target.value })} />
        )}
      </Field>
      <Field label="To">
        {({ id }) => (
          <Input id={id} type="date" value={range.to} min={range.from} onChange={(e) => e.target.value && onChange({ ...range, to: e.target.value })} />
        )}
      </Field>
      <Field label="Granularity">
        {({ id }) => (
          <Select id={id} value={range.granularity} onChange={(e) => onChange({ ...range, granularity: e.target.value as Granularity })}>
            <option value="day">Day</option>
            <option value="week">Week</option>
            <option value="month">Month</option>
          </Select>
        )}
      </Field>
    </div>
  );
}

function EnrichmentSection({ workspaceId, range }: { workspaceId: string; range: AnalyticsRange }) {
  const report = useEnrichmentReport(workspaceId, range);
  const data = report.data;
  if (!data) return <Card><SkeletonRows rows={4} label="Loading enrichment analytics" /></Card>;
  if (data.totals.attempts === 0) {
    return (
      <Card>
        <EmptyState icon={<IconJobs />} title="No enrichment in this period">
          Provider success rates and costs appear here once enrichment jobs run.
        </EmptyState>
      </Card>
    );
  }
  const providers = data.by_provider.map((p) => ({
    provider: p.key,
    success: Math.round((p.success_rate ?? 0) * 100),
    costPerFound: p.cost_per_found ?? 0,
  }));
  return (
    <Card>
      <CardHeader
        title="Providers"
        description="Success rate (%) and credits per found value, by provider."
        action={<CsvButton workspaceId={workspaceId} report="enrichment" range={range} title="provider analytics" />}
      />
      <div className="grid gap-4 p-4 sm:grid-cols-4">
        <Stat label="Attempts" value={formatNumber(data.totals.attempts)} />
        <Stat label="Found" value={formatNumber(data.totals.found)} />
        <Stat label="Success rate" value={formatPercent(data.totals.success_rate ?? 0)} />
        <Stat label="Credits per found value" value={(data.totals.cost_per_found ?? 0).toFixed(2)} />
      </div>
      <div className="h-64 px-4 pb-4" role="img" aria-label="Success rate and cost per found value by provider">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={providers}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="provider" />
            <YAxis />
            <Tooltip />
            <Legend />
            <Bar dataKey="success" name="Success rate %" fill="#4f46e5" />
            <Bar dataKey="costPerFound" name="Credits per found" fill="#10b981" />
          </BarChart>
        </ResponsiveContainer>
      </div>
      <table className="w-full text-left text-sm">
        <thead className="text-xs text-zinc-500">
          <tr className="border-b border-zinc-100">
            <th scope="col" className="px-4 py-2 font-medium">Field</th>
            <th scope="col" className="px-4 py-2 text-right font-medium">Attempts</th>
            <th scope="col" className="px-4 py-2 text-right font-medium">Success rate</th>
            <th scope="col" className="px-4 py-2 text-right font-medium">Credits per found</th>
          </tr>
        </thead>
        <tbody>
          {data.by_field.map((f) => (
            <tr key={f.key} className="border-b border-zinc-50">
              <td className="px-4 py-2">{f.key}</td>
              <td className="px-4 py-2 text-right tabular-nums">{formatNumber(f.attempts)}</td>
              <td className="px-4 py-2 text-right tabular-nums">{formatPercent(f.success_rate ?? 0)}</td>
              <td className="px-4 py-2 text-right tabular-nums">{(f.cost_per_found ?? 0).toFixed(2)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

function CreditSection({ workspaceId, range }: { workspaceId: string; range: AnalyticsRange }) {
  const report = useCreditReport(workspaceId, range);
  const data = report.data;
  if (!data) return <Card><SkeletonRows rows={4} label="Loading credit analytics" /></Card>;
  const forecast = data.forecast;
  return (
    <Card>
      <CardHeader
        title="Credits"
        description="Net credits spent over time, and when the balance runs out at the last 14 days' pace."
        action={<CsvButton workspaceId={workspaceId} report="credits" range={range} title="credit analytics" />}
      />
      <div className="grid gap-4 p-4 sm:grid-cols-4">
        <Stat label="Spent in period" value={formatNumber(data.totals.net_spent)} />
        <Stat label="Daily usage (14 days)" value={forecast.daily_usage.toFixed(1)} />
        <Stat label="Runs out" value={forecast.zero_date ? formatDate(forecast.zero_date) : "Not at this pace"} />
        <Stat
          label="Auto-recharge triggers"
          value={forecast.auto_recharge_enabled ? (forecast.auto_recharge_date ? formatDate(forecast.auto_recharge_date) : "Not at this pace") : "Off"}
        />
      </div>
      {data.series.length === 0 ? (
        <p className="px-4 pb-6 text-center text-sm text-zinc-600">No credits were added or spent in this period: add credits in Billing, then run a column to see the curve.</p>
      ) : (
        <div className="h-64 px-4 pb-4" role="img" aria-label="Credits spent over time">
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={data.series}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="bucket" />
              <YAxis />
              <Tooltip />
              <Legend />
              <Line type="monotone" dataKey="net_spent" name="Spent" stroke="#ef4444" />
              <Line type="monotone" dataKey="added" name="Added" stroke="#10b981" />
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
    </Card>
  );
}

function JobSection({ workspaceId, range }: { workspaceId: string; range: AnalyticsRange }) {
  const report = useJobReport(workspaceId, range);
  const data = report.data;
  if (!data) return <Card><SkeletonRows rows={2} label="Loading job analytics" /></Card>;
  return (
    <Card>
      <CardHeader
        title="Jobs"
        description="Enrichment jobs and column runs: how many ran, how long they waited, how fast they went."
        action={<CsvButton workspaceId={workspaceId} report="jobs" range={range} title="job analytics" />}
      />
      <div className="grid gap-4 p-4 sm:grid-cols-4">
        <Stat label="Jobs finished" value={`${formatNumber(data.totals.finished)} of ${formatNumber(data.totals.created)}`} />
        <Stat label="Average queue time" value={formatMs(data.totals.avg_queue_ms)} />
        <Stat label="Records per second" value={data.totals.records_per_second === null ? "–" : data.totals.records_per_second.toFixed(1)} />
        <Stat label="Records completed" value={formatNumber(data.totals.records_completed)} />
      </div>
    </Card>
  );
}

function ScrapingSection({ workspaceId, range }: { workspaceId: string; range: AnalyticsRange }) {
  const report = useScrapingReport(workspaceId, range);
  const data = report.data;
  if (!data) return <Card><SkeletonRows rows={3} label="Loading scraping analytics" /></Card>;
  return (
    <Card>
      <CardHeader
        title="Scraping"
        description="Pages the scraper fetched for enrichment: success and latency by domain."
        action={<CsvButton workspaceId={workspaceId} report="scraping" range={range} title="scraping analytics" />}
      />
      {data.totals.tasks === 0 ? (
        <EmptyState icon={<IconJobs />} title="No scraping in this period">
          Domains appear here once enrichment uses the scraper.
        </EmptyState>
      ) : (
        <>
          <div className="grid gap-4 p-4 sm:grid-cols-3">
            <Stat label="Pages" value={formatNumber(data.totals.tasks)} />
            <Stat label="Success rate" value={formatPercent(data.totals.success_rate ?? 0)} />
            <Stat label="Average latency" value={formatMs(data.totals.avg_latency_ms)} />
          </div>
          <table className="w-full text-left text-sm">
            <thead className="text-xs text-zinc-500">
              <tr className="border-b border-zinc-100">
                <th scope="col" className="px-4 py-2 font-medium">Domain</th>
                <th scope="col" className="px-4 py-2 text-right font-medium">Pages</th>
                <th scope="col" className="px-4 py-2 text-right font-medium">Success rate</th>
                <th scope="col" className="px-4 py-2 text-right font-medium">Failed</th>
                <th scope="col" className="px-4 py-2 text-right font-medium">Median latency</th>
                <th scope="col" className="px-4 py-2 text-right font-medium">p95 latency</th>
              </tr>
            </thead>
            <tbody>
              {data.by_domain.map((d) => (
                <tr key={d.domain} className="border-b border-zinc-50">
                  <td className="px-4 py-2">{d.domain || "(no answer)"}</td>
                  <td className="px-4 py-2 text-right tabular-nums">{formatNumber(d.tasks)}</td>
                  <td className="px-4 py-2 text-right tabular-nums">{formatPercent(d.success_rate ?? 0)}</td>
                  <td className="px-4 py-2 text-right tabular-nums">{formatNumber(d.failed)}</td>
                  <td className="px-4 py-2 text-right tabular-nums">{formatMs(d.p50_latency_ms)}</td>
                  <td className="px-4 py-2 text-right tabular-nums">{formatMs(d.p95_latency_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Card>
  );
}

export function AnalyticsPage() {
  const workspaceId = useWorkspaceId();
  const [range, setRange] = useState<AnalyticsRange>(defaultRange);
  return (
    <div className="space-y-6">
      <PageHeader
        title="Analytics"
        description="Which providers find values, what a found value costs, and when credits run out."
        action={<RangePicker range={range} onChange={setRange} />}
      />
      <EnrichmentSection workspaceId={workspaceId} range={range} />
      <CreditSection workspaceId={workspaceId} range={range} />
      <JobSection workspaceId={workspaceId} range={range} />
      <ScrapingSection workspaceId={workspaceId} range={range} />
    </div>
  );
}
