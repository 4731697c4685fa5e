import type { Billing } from '../api/types';
import { Badge, Card, ErrorNote, Loading, PageHeader, ProgressBar } from '../components/ui';
import { date, number } from '../lib/format';
import { useInteractive, useLoad } from '../lib/hooks';
import { fetchOnce } from '../lib/prefetch';

function Meter({ label, used, limit, unit }: { label: string; used: number; limit: number | null; unit?: string }) {
  const share = limit ? Math.min(100, (used / limit) * 100) : 0;
  return (
    <div>
      <div className="flex items-baseline justify-between gap-2 text-sm">
        <span className="font-medium text-slate-800">{label}</span>
        <span className="tabular-nums text-slate-600">
          {number(used)}
          {limit != null ? ` of ${number(limit)}` : ''} {unit}
          {limit == null && <span className="ml-1 text-slate-400">(unlimited)</span>}
        </span>
      </div>
      {limit != null && (
        <div className="mt-2">
          <ProgressBar value={share} label={`${label} used`} tone={share >= 90 ? 'red' : 'indigo'} />
        </div>
      )}
    </div>
  );
}

export function BillingPage() {
  const billing = useLoad((s) => fetchOnce<Billing>('/billing', s), []);
  useInteractive('billing', Boolean(billing.data));
  if (billing.error) return <ErrorNote error={billing.error} title="Billing could not be loaded" onRetry={billing.reload} />;
  if (!billing.data) return <Loading label="Loading your plan…" />;
  const b = billing.data;
  const tokens = b.usage.tokens.input_tokens + b.usage.tokens.output_tokens;
  return (
    <div className="mx-auto max-w-3xl">
      <PageHeader title="Billing" subtitle={`This period: ${date(b.period_start)} to ${date(new Date(Date.parse(b.period_end) - 1).toISOString())}`} />
      <div className="grid gap-6">
        <Card title="Your plan" actions={<Badge tone={b.plan.status === 'active' ? 'green' : 'amber'} dot>{b.plan.status}</Badge>}>
          <div className="flex flex-wrap items-end justify-between gap-4">
            <div>
              <p className="text-3xl font-bold tracking-tight" data-testid="plan-name">
                {b.plan.name}
              </p>
              <p className="mt-1 text-sm text-slate-600">
                {b.plan.price_cents == null ? 'Custom pricing' : b.plan.price_cents === 0 ? 'Free forever' : `$${(b.plan.price_cents / 100).toFixed(0)} a month`}
              </p>
            </div>
            <p className="max-w-xs text-sm text-slate-500">
              {b.payments_enabled ? 'Manage payment details below.' : 'Paid plans and payment are coming soon. Usage is shown so you know where you stand.'}
            </p>
          </div>
        </Card>
        <Card title="Usage this period">
          <div className="space-y-5">
            <Meter label="Sites" used={b.usage.sites} limit={b.plan.limits.sites ?? null} />
            <Meter label="Generations" used={b.usage.generations} limit={b.plan.limits.generations ?? null} />
            <Meter label="Deployments" used={b.usage.deployments} limit={b.plan.limits.deployments ?? null} />
            <Meter label="AI tokens" used={tokens} limit={b.plan.limits.tokens ?? null} />
          </div>
          <dl className="mt-6 grid grid-cols-2 gap-3 border-t border-slate-100 pt-4 text-xs text-slate-600 sm:grid-cols-4">
            {(
              [
                ['Input', b.usage.tokens.input_tokens],
                ['Output', b.usage.tokens.output_tokens],
                ['Cache reads', b.usage.tokens.cache_read_tokens],
                ['Cache writes', b.usage.tokens.cache_creation_tokens],
              ] as const
            ).map(([label, value]) => (
              <div key={label}>
                <dt>{label}</dt>
                <dd className="text-sm font-semibold tabular-nums text-slate-900">{number(value)}</dd>
              </div>
            ))}
          </dl>
        </Card>
      </div>
    </div>
  );
}
