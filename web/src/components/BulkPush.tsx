// A bulk push: each selected site gets a deployment of its own, either its
// current draft (a few requests at a time) or the same theme and plugin
// zips for all (one request per 500 sites), then every deployment's status
// is followed in batches until its agent has applied it or refused it.

import { useEffect, useRef, useState } from 'react';
import { api, ApiError } from '../api/client';
import type { Deployment, DeploymentStatus, FleetRow } from '../api/types';
import { bytes as formatBytes } from '../lib/format';
import { guessKind, packagePath, toBase64, zipNames, type PackageKind } from '../lib/zip';
import { Button, ProgressBar, Select, StatusBadge } from './ui';

/// Requests in flight at once while queueing drafts.
const CONCURRENCY = 4;
/// Sites per bulk request when pushing zips.
const BULK_SITES = 500;
/// Deployment ids per status request (the API's limit).
const STATUS_BATCH = 200;
const POLL_MS = 2000;

export type PushState = { phase: 'waiting' } | { phase: 'sending' } | { phase: 'error'; message: string } | { phase: 'sent'; deployment: string; status: DeploymentStatus; error?: string | null };

export const FINAL: DeploymentStatus[] = ['applied', 'failed', 'refused'];

/// A theme or plugin zip chosen for the push.
export interface Package {
  name: string;
  path: string;
  kind: PackageKind;
  size: number;
  base64: string;
}

/// Reads a chosen file: a zip whose kind is guessed from its folders; refuses anything else.
export async function readPackage(file: File): Promise<Package> {
  const data = new Uint8Array(await file.arrayBuffer());
  const names = zipNames(data);
  if (!names || names.length === 0) throw new Error(`${file.name} is not a zip file.`);
  return { name: file.name, path: packagePath(file.name), kind: guessKind(names), size: data.length, base64: toBase64(data) };
}

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

/// What to push: each site's draft, or zips chosen in the panel.
export type PushWhat = 'drafts' | 'packages';

function PackagePicker({ packages, onChange, disabled }: { packages: Package[]; onChange: (p: Package[]) => void; disabled: boolean }) {
  const [error, setError] = useState<string>();
  const [reading, setReading] = useState(false);
  const add = async (files: FileList | null) => {
    if (!files?.length) return;
    setReading(true);
    setError(undefined);
    const added: Package[] = [];
    for (const file of Array.from(files)) {
      try {
        added.push(await readPackage(file));
      } catch (e) {
        setError((e as Error).message);
      }
    }
    setReading(false);
    // The same name twice would be one path in the bundle: the later file wins.
    const paths = new Set(added.map((p) => p.path));
    onChange([...packages.filter((p) => !paths.has(p.path)), ...added]);
  };
  return (
    <div className="mt-4 space-y-3">
      <div hidden={disabled}>
        <label htmlFor="bulk-packages" className="block text-sm font-medium text-slate-800">
          Theme and plugin zips
        </label>
        <p id="bulk-packages-help" className="text-xs text-slate-500">
          As downloaded from WordPress.org or a vendor: one folder inside each zip.
        </p>
        <input
          id="bulk-packages"
          type="file"
          accept=".zip,application/zip"
          multiple
          disabled={disabled || reading}
          aria-describedby="bulk-packages-help"
          className="mt-1 block w-full text-sm file:mr-3 file:rounded-lg file:border-0 file:bg-slate-100 file:px-3 file:py-2 file:font-medium hover:file:bg-slate-200"
          onChange={(e) => {
            void add(e.target.files);
            e.target.value = '';
          }}
        />
        {error && (
          <p role="alert" className="mt-1 text-sm text-red-700">
            {error}
          </p>
        )}
      </div>
      {packages.length > 0 && (
        <ul className="divide-y divide-slate-100 rounded-lg ring-1 ring-slate-100">
          {packages.map((p) => (
            <li key={p.path} className="flex flex-wrap items-center justify-between gap-2 px-3 py-2 text-sm">
              <span>
                <span className="font-medium">{p.name}</span> <span className="text-xs text-slate-500">{formatBytes(p.size)}</span>
              </span>
              <span className="flex items-center gap-2">
                <Select aria-label={`Kind of ${p.name}`} value={p.kind} disabled={disabled} className="w-28" onChange={(e) => onChange(packages.map((q) => (q.path === p.path ? { ...q, kind: e.target.value as PackageKind } : q)))}>
                  <option value="plugin">Plugin</option>
                  <option value="theme">Theme</option>
                </Select>
                <Button variant="ghost" disabled={disabled} aria-label={`Remove ${p.name}`} className="min-h-8 px-2 py-1" onClick={() => onChange(packages.filter((q) => q.path !== p.path))}>
                  Remove
                </Button>
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function BulkPush({ rows, onClose, what = 'drafts' }: { rows: FleetRow[]; onClose: () => void; what?: PushWhat }) {
  const [states, setStates] = useState<Record<string, PushState>>(() => Object.fromEntries(rows.map((r) => [r.site.id, { phase: 'waiting' }])));
  const [started, setStarted] = useState(false);
  const [packages, setPackages] = useState<Package[]>([]);
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

  const pushPackages = async () => {
    const items = packages.map((p) => ({ kind: p.kind, path: p.path, content_base64: p.base64 }));
    const ids = rows.map((r) => r.site.id);
    for (let i = 0; i < ids.length && alive.current; i += BULK_SITES) {
      const chunk = ids.slice(i, i + BULK_SITES);
      chunk.forEach((id) => set(id, { phase: 'sending' }));
      try {
        const { deployments } = await api.request<{ deployments: Deployment[] }>('/deployments', { method: 'POST', body: { site_ids: chunk, items } });
        for (const d of deployments) set(d.site_id, { phase: 'sent', deployment: d.id, status: d.status, error: d.error });
      } catch (e) {
        chunk.forEach((id) => set(id, { phase: 'error', message: (e as ApiError).message }));
      }
    }
  };

  const start = async () => {
    setStarted(true);
    if (what === 'packages') return pushPackages();
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
    const poll = async () => {
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
    };
    const timer = setInterval(() => void poll(), POLL_MS);
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
            {what === 'packages' ? 'Push themes and plugins' : 'Push current drafts'} to {rows.length === 1 ? '1 site' : `${rows.length} sites`}
          </h2>
          <p className="mt-0.5 text-sm text-slate-600">
            {what === 'packages'
              ? 'Each site gets its own signed bundle of these zips. WordPress installs them with its own upgraders and activates them; what they replace is kept, so each deployment can be rolled back.'
              : 'Each site gets its own signed bundle of its draft.'}{' '}
            Agents that are offline receive it when they reconnect.
          </p>
        </div>
        <div className="flex gap-2">
          {!started && (
            <Button onClick={start} disabled={what === 'packages' && packages.length === 0}>
              Start the push
            </Button>
          )}
          <Button variant="secondary" onClick={onClose}>
            {started ? 'Close' : 'Cancel'}
          </Button>
        </div>
      </div>
      {what === 'packages' && <PackagePicker packages={packages} onChange={setPackages} disabled={started} />}
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
