import { useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { Card, CardHeader, PageHeader } from "@/components/ui/card";
import { EmptyState, SkeletonRows } from "@/components/ui/feedback";
import { Field, Input, Select } from "@/components/ui/form";
import { IconJobs } from "@/components/ui/icons";
import { formatDate, formatNumber, formatPercent } from "@/lib/format";
import { useWorkspaceId } from "@/lib/workspace";

import { type AnalyticsRange, type Granularity, useCreditReport, useEnrichmentReport, useJobReport } from "../api/analytics";

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
      <CardHeader title="Providers" description="Success rate (%) and credits per found value, by provider." />
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
      <CardHeader title="Credits" description="Net credits spent over time, and when the balance runs out at the last 14 days' pace." />
      <div className="grid gap-4 p-4 sm:grid-cols-4">
        <Stat label="Spent in period" value={formatNumber(data.totals.net_spent)} />
        <Stat label="Daily usage (14 days)" value={forecast.daily_usage.toFixed(1)} />
        <Stat label="Runs out" value={forecast.zero_date ? formatDate(forecast.zero_date) : "Not at this pace"} />
        <Stat
          label="Auto-recharge triggers"
          value={forecast.auto_recharge_enabled ? (forecast.auto_recharge_date ? formatDate(forecast.auto_recharge_date) : "Not at this pace") : "Off"}
        />
      </div>
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
    </Card>
  );
}

function JobSection({ workspaceId, range }: { workspaceId: string; range: AnalyticsRange }) {
  const report = useJobReport(workspaceId, range);
  const data = report.data;
  if (!data) return <Card><SkeletonRows rows={2} label="Loading job analytics" /></Card>;
  return (
    <Card>
      <CardHeader title="Jobs" description="Throughput of enrichment jobs in the period." />
      <div className="grid gap-4 p-4 sm:grid-cols-4">
        <Stat label="Jobs finished" value={formatNumber(data.totals.finished)} />
        <Stat label="Records" value={formatNumber(data.totals.records)} />
        <Stat label="Records completed" value={formatNumber(data.totals.records_completed)} />
        <Stat label="Credits spent" value={formatNumber(data.totals.credits_spent)} />
      </div>
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
    </div>
  );
}
