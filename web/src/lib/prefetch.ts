// Starts a screen's API reads (and its code, for the screens loaded on
// demand) as soon as the app's script runs, before React has rendered
// anything: on a cold load the data is then on its way while the page is
// still being built. The screen picks the answer up with `fetchOnce`.

import { api } from '../api/client';
import { match } from './router';

const FRESH_MS = 5000;
const started = new Map<string, { at: number; answer: Promise<unknown> }>();

function prefetch(path: string) {
  const answer = api.get(path);
  // Whoever takes it handles the failure; an untaken one must not be reported.
  answer.catch(() => {});
  started.set(path, { at: Date.now(), answer });
}

/// The answer to `GET path`: the prefetched one if it is fresh, else a new request.
export function fetchOnce<T>(path: string, signal?: AbortSignal): Promise<T> {
  const hit = started.get(path);
  started.delete(path);
  if (hit && Date.now() - hit.at < FRESH_MS) return hit.answer as Promise<T>;
  return api.get<T>(path, signal);
}

/// The fleet table's query for the current filters (kept in the address).
export function fleetPath(query: URLSearchParams, after?: string | null): string {
  const params = new URLSearchParams();
  for (const key of ['q', 'status', 'agent', 'tag']) {
    const value = query.get(key);
    if (value) params.set(key, value);
  }
  params.set('limit', '50');
  if (after) params.set('after', after);
  return `/fleet/sites?${params}`;
}

/// Starts what the screen at `pathname` reads first, if someone is signed in.
export function prefetchRoute(pathname: string, search: string) {
  if (!api.current()) return;
  let p: Record<string, string> | null;
  if (pathname === '/' || pathname === '/sites') {
    prefetch(fleetPath(new URLSearchParams(search)));
    prefetch('/fleet/tags');
  } else if (pathname === '/billing') {
    prefetch('/billing');
  } else if ((p = match('/jobs/:id', pathname))) {
    prefetch(`/jobs/${p.id}`);
  } else if ((p = match('/sites/:id/editor', pathname) ?? match('/sites/:id/pages/:slug', pathname))) {
    void import('../pages/Editor');
    prefetch(`/sites/${p.id}/draft`);
  } else if ((p = match('/sites/:id', pathname)) && p.id !== 'new') {
    void import('../pages/SiteDetail');
    for (const part of ['', '/draft', '/agent', '/jobs', '/deployments']) prefetch(`/sites/${p.id}${part}`);
  }
}
