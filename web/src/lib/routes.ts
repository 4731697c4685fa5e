// The dashboard's one route table: each address pattern, the screen it shows,
// whether it is open to signed-out visitors, and what the screen reads first
// (started before React renders, by `prefetchRoute`). `App` picks the screen
// from it and `prefetch` the reads, so the two cannot disagree.

import { match } from './router';

export type Screen = 'login' | 'signup' | 'sites' | 'new-site' | 'job' | 'editor' | 'site' | 'billing';

export type Params = Record<string, string>;

export interface Route {
  /// `/sites/:id`: `:name` segments become params.
  pattern: string;
  screen: Screen;
  /// Shown to signed-out visitors (the sign-in pages); every other route needs a session.
  public?: boolean;
  /// The API paths (under `/api/v1`) the screen reads first.
  reads?: (params: Params, query: URLSearchParams) => string[];
  /// The screen's code, for the heavier screens loaded on demand.
  code?: () => Promise<unknown>;
}

/// The screens loaded when first opened, not with the app's script.
export const screenCode = {
  site: () => import('../pages/SiteDetail'),
  editor: () => import('../pages/Editor'),
};

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

const fleet = (_: Params, query: URLSearchParams) => [fleetPath(query), '/fleet/tags'];
const draft = ({ id }: Params) => [`/sites/${id}/draft`];

/// In order: the first pattern that matches wins (`/sites/new` before `/sites/:id`).
export const ROUTES: readonly Route[] = [
  { pattern: '/login', screen: 'login', public: true },
  { pattern: '/signup', screen: 'signup', public: true },
  { pattern: '/', screen: 'sites', reads: fleet },
  { pattern: '/sites', screen: 'sites', reads: fleet },
  { pattern: '/sites/new', screen: 'new-site' },
  { pattern: '/sites/:id', screen: 'site', code: screenCode.site, reads: ({ id }) => ['', '/draft', '/jobs', '/deployments'].map((part) => `/sites/${id}${part}`) },
  { pattern: '/sites/:id/editor', screen: 'editor', code: screenCode.editor, reads: draft },
  { pattern: '/sites/:id/pages/:slug', screen: 'editor', code: screenCode.editor, reads: draft },
  { pattern: '/jobs/:id', screen: 'job', reads: ({ id }) => [`/jobs/${id}`] },
  { pattern: '/billing', screen: 'billing', reads: () => ['/billing'] },
];

export interface RouteMatch {
  route: Route;
  params: Params;
}

/// The route `path` shows, with its params; null for an address the dashboard does not have.
export function findRoute(path: string): RouteMatch | null {
  for (const route of ROUTES) {
    const params = match(route.pattern, path);
    if (params) return { route, params };
  }
  return null;
}
