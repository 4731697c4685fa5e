// Starts a screen's API reads (and its code, for the screens loaded on
// demand) as soon as the app's script runs, before React has rendered
// anything: on a cold load the data is then on its way while the page is
// still being built. The screen picks the answer up with `fetchOnce`.

import { api } from '../api/client';
import { findRoute } from './routes';

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

/// Starts what the screen at `pathname` reads first (and its code), if someone is signed in.
export function prefetchRoute(pathname: string, search: string) {
  if (!api.current()) return;
  const found = findRoute(pathname);
  if (!found) return;
  void found.route.code?.();
  for (const path of found.route.reads?.(found.params, new URLSearchParams(search)) ?? []) prefetch(path);
}
