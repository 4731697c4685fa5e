// A bulk push: each selected site's current draft is queued as a deployment
// (a few requests at a time), then every deployment's status is followed in
// batches until its agent has applied it or refused it.

import { useEffect, useRef, useState } from 'react';
import { api, ApiError } from '../api/client';
import type { Deployment, DeploymentStatus, FleetRow } from '../api/types';
import { Button, ProgressBar, StatusBadge } from './ui';

/// Requests in flight at once while queueing.
const CONCURRENCY = 4;
/// Deployment ids per status request (the API's limit).
const STATUS_BATCH = 200;
const POLL_MS = 2000;

export type PushState = { phase: 'waiting' } | { phase: 'sending' } | { phase: 'error'; message: string } | { phase: 'sent'; deployment: string; status: DeploymentStatus; error?: string | null };

export const FINAL: DeploymentStatus[] = ['applied', 'failed', 'refused'];

/// Runs `work` over `items` with at most `limit` at once.
export async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  });
  await Promise.all(runners);
}

export function summarise(states: PushState[]) {
  const count = { waiting: 0, errors: 0, queued: 0, delivered: 0, applied: 0, failed: 0 };
  for (const s of states) {
    if (s.phase === 'waiting' || s.phase === 'sending') count.waiting++;
    else if (s.phase === 'error') count.errors++;
    else if (s.status === 'queued') count.queued++;
    else if (s.status === 'delivered') count.delivered++;
    else if (s.status === 'applied') count.applied++;
    else count.failed++;
  }
  return count;
}

export function BulkPush({ rows, onClose }: { rows: FleetRow[]; onClose: () => void }) {
  const [states, setStates] = useState<Record<string, PushState>>(() => Object.fromEntries(rows.map((r) => [r.site.id, { phase: 'waiting' }])));
  const [started, setStarted] = useState(false);
  const stateRef = useRef(states);
  stateRef.current = states;
  const alive = useRef(true);
  useEffect(
    () => () => {
      alive.current = false;
    },
    [],
  );

  const set = (id: string, state: PushState) => alive.current && setStates((old) => ({ ...old, [id]: state }));

  const start = async () => {
    setStarted(true);
    await eachLimited(rows, CONCURRENCY, async (row) => {
      if (!alive.current) return;
      set(row.site.id, { phase: 'sending' });
      try {
        const d = await api.request<Deployment>(`/sites/${row.site.id}/deployments`, { method: 'POST' });
        set(row.site.id, { phase: 'sent', deployment: d.id, status: d.status, error: d.error });
      } catch (e) {
        set(row.site.id, { phase: 'error', message: (e as ApiError).message });
      }
    });
  };

  // Follow the deployments until each is final (or the panel closes).
  useEffect(() => {
    if (!started) return;
    const timer = setInterval(async () => {
      const open = Object.entries(stateRef.current).filter(([, s]) => s.phase === 'sent' && !FINAL.includes(s.status)) as [string, Extract<PushState, { phase: 'sent' }>][];
      if (!open.length) return;
      for (let i = 0; i < open.length; i += STATUS_BATCH) {
        const batch = open.slice(i, i + STATUS_BATCH);
        try {
          const { deployments } = await api.get<{ deployments: Deployment[] }>(`/fleet/deployments?ids=${batch.map(([, s]) => s.deployment).join(',')}`);
          const byId = new Map(deployments.map((d) => [d.id, d]));
          for (const [site, s] of batch) {
            const d = byId.get(s.deployment);
            if (d && d.status !== s.status) set(site, { ...s, status: d.status, error: d.error });
          }
        } catch {
          // A missed poll is caught up by the next.
        }
      }
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [started]);

  const list = rows.map((r) => states[r.site.id]);
  const count = summarise(list);
  const sent = rows.length - count.waiting;

  return (
    <section className="mb-6 rounded-xl bg-white p-4 shadow-sm ring-1 ring-indigo-200 sm:p-5" aria-labelledby="bulk-push-title">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div>
          <h2 id="bulk-push-title" className="text-base font-semibold">
            Push current drafts to {rows.length === 1 ? '1 site' : `${rows.length} sites`}
          </h2>
          <p className="mt-0.5 text-sm text-slate-600">
            Each site gets its own signed bundle of its draft. Agents that are offline receive it when they reconnect.
          </p>
        </div>
        <div className="flex gap-2">
          {!started && <Button onClick={start}>Start the push</Button>}
          <Button variant="secondary" onClick={onClose}>
            {started ? 'Close' : 'Cancel'}
          </Button>
        </div>
      </div>
      {started && (
        <div className="mt-4 space-y-2">
          <ProgressBar value={(sent / rows.length) * 100} label="Bundles queued" />
          <p className="text-xs text-slate-600" aria-live="polite">
            {sent}/{rows.length} queued · {count.delivered} delivered · {count.applied} applied
            {count.failed > 0 && ` · ${count.failed} failed`}
            {count.errors > 0 && ` · ${count.errors} not sent`}
          </p>
        </div>
      )}
      <ul className="mt-4 max-h-72 divide-y divide-slate-100 overflow-auto rounded-lg ring-1 ring-slate-100">
        {rows.map((row) => {
          const s = states[row.site.id];
          return (
            <li key={row.site.id} className="flex flex-wrap items-center justify-between gap-2 px-3 py-2 text-sm" data-site={row.site.id}>
              <span className="font-medium">{row.site.name}</span>
              <span className="text-right">
                {s.phase === 'waiting' && <span className="text-slate-400">{started ? 'Waiting' : 'Ready'}</span>}
                {s.phase === 'sending' && <span className="text-slate-500">Queueing…</span>}
                {s.phase === 'error' && <span className="text-red-700">{s.message}</span>}
                {s.phase === 'sent' && (
                  <span className="inline-flex items-center gap-2">
                    <StatusBadge status={s.status} />
                    {s.error && <span className="text-xs text-red-700">{s.error}</span>}
                  </span>
                )}
              </span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
