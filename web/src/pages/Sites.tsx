// Sites and fleet: the table of sites with status, agent, versions, last
// deployment and drift; search, filters and tags (done by the server, so a
// fleet of thousands pages like ten); selecting sites for a bulk push of
// their drafts, or of theme and plugin zips.

import { useEffect, useMemo, useState } from 'react';
import { api, ApiError } from '../api/client';
import type { FleetPage, FleetRow, TagCount } from '../api/types';
import { BulkPush, type PushWhat } from '../components/BulkPush';
import { Badge, Button, Empty, ErrorNote, Input, Loading, PageHeader, Select, StatusBadge, cx } from '../components/ui';
import { ago, driftLabel, number, plural, version } from '../lib/format';
import { useInteractive, useLoad } from '../lib/hooks';
import { fetchOnce } from '../lib/prefetch';
import { fleetPath } from '../lib/routes';
import { Link, navigate, useLocation } from '../lib/router';

export interface Filters {
  q: string;
  status: string;
  agent: string;
  tag: string;
}

function AgentCell({ row }: { row: FleetRow }) {
  const agent = row.agent;
  if (!agent) return <span className="text-sm text-slate-400">Not connected</span>;
  return (
    <div className="space-y-0.5">
      <Badge tone={agent.online ? 'green' : 'slate'} dot>
        {agent.online ? 'Online' : 'Offline'}
      </Badge>
      <p className="text-xs text-slate-500">
        {agent.connection === 'plugin' ? 'Plugin only · ' : ''}Seen {ago(agent.last_seen)}
      </p>
    </div>
  );
}

interface More {
  base: FleetPage | undefined;
  rows: FleetRow[];
  after: string | null;
  loading: boolean;
  error?: ApiError;
}

export function SitesPage() {
  const location = useLocation();
  const filters: Filters = {
    q: location.query.get('q') ?? '',
    status: location.query.get('status') ?? '',
    agent: location.query.get('agent') ?? '',
    tag: location.query.get('tag') ?? '',
  };
  const [search, setSearch] = useState(filters.q);
  // Pages loaded with "Load more" after `base`, the first page they follow.
  const [loaded, setMore] = useState<More>({ base: undefined, rows: [], after: null, loading: false });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [pushing, setPushing] = useState<{ rows: FleetRow[]; what: PushWhat }>();

  const setFilter = (key: keyof Filters, value: string) => {
    const next = new URLSearchParams(location.query);
    if (value) next.set(key, value);
    else next.delete(key);
    const qs = next.toString();
    navigate(`/${qs ? `?${qs}` : ''}`, { replace: true });
  };

  // Search as the person types, a moment after they stop.
  useEffect(() => {
    if (search === filters.q) return;
    const timer = setTimeout(() => setFilter('q', search.trim()), 250);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search]);

  const key = fleetPath(location.query);
  const page = useLoad((signal) => fetchOnce<FleetPage>(key, signal), [key]);
  const tags = useLoad((signal) => fetchOnce<{ tags: TagCount[] }>('/fleet/tags', signal), []);
  useInteractive('sites', !page.loading && Boolean(page.data));

  // A new first page (new filters, or a reload) starts the extra pages over.
  const more: More = loaded.base === page.data ? loaded : { base: page.data, rows: [], after: page.data?.next_after ?? null, loading: false };
  const rows = useMemo(() => [...(page.data?.sites ?? []), ...more.rows], [page.data, more.rows]);

  // While a site is being generated, look again every few seconds.
  const generating = rows.some((r) => r.site.status === 'generating');
  useEffect(() => {
    if (!generating) return;
    const timer = setTimeout(page.reload, 4000);
    return () => clearTimeout(timer);
  }, [generating, page.data, page.reload]);
  const filtered = Object.values(filters).some(Boolean);

  const loadMore = async () => {
    if (!more.after) return;
    setMore({ ...more, loading: true, error: undefined });
    try {
      const next = await api.get<FleetPage>(fleetPath(location.query, more.after));
      // An answer for a first page that has since been replaced is dropped.
      setMore((old) => (old.base === more.base ? { base: more.base, rows: [...more.rows, ...next.sites], after: next.next_after ?? null, loading: false } : old));
    } catch (e) {
      setMore((old) => (old.base === more.base ? { ...more, loading: false, error: e as ApiError } : old));
    }
  };

  const toggle = (id: string) =>
    setSelected((old) => {
      const next = new Set(old);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.site.id));
  const toggleAll = () => setSelected(allSelected ? new Set() : new Set(rows.map((r) => r.site.id)));

  return (
    <div>
      <PageHeader
        title="Sites"
        subtitle={page.data ? `${plural(page.data.total, 'site')}${filtered ? ' match' : ' in your fleet'}` : 'Your fleet at a glance'}
        actions={<Button onClick={() => navigate('/sites/new')}>Generate a site</Button>}
      />

      <div className="mb-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-[1fr_10rem_10rem_10rem]" role="search">
        <div>
          <label htmlFor="site-search" className="sr-only">
            Search sites
          </label>
          <Input id="site-search" type="search" placeholder="Search by name or domain" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        <div>
          <label htmlFor="filter-status" className="sr-only">
            Status
          </label>
          <Select id="filter-status" value={filters.status} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">Any status</option>
            <option value="draft">Draft</option>
            <option value="generating">Generating</option>
            <option value="active">Active</option>
          </Select>
        </div>
        <div>
          <label htmlFor="filter-agent" className="sr-only">
            Agent
          </label>
          <Select id="filter-agent" value={filters.agent} onChange={(e) => setFilter('agent', e.target.value)}>
            <option value="">Any agent</option>
            <option value="online">Online</option>
            <option value="offline">Offline</option>
            <option value="none">Not connected</option>
          </Select>
        </div>
        <div>
          <label htmlFor="filter-tag" className="sr-only">
            Tag
          </label>
          <Select id="filter-tag" value={filters.tag} onChange={(e) => setFilter('tag', e.target.value)}>
            <option value="">Any tag</option>
            {tags.data?.tags.map((t) => (
              <option key={t.tag} value={t.tag}>
                {t.tag} ({t.sites})
              </option>
            ))}
            {filters.tag && !tags.data?.tags.some((t) => t.tag === filters.tag) && <option value={filters.tag}>{filters.tag}</option>}
          </Select>
        </div>
      </div>

      {selected.size > 0 && (
        <div className="sticky top-16 z-20 mb-4 flex flex-wrap items-center justify-between gap-3 rounded-xl bg-indigo-600 px-4 py-3 text-white shadow-md">
          <p className="text-sm font-medium">{plural(selected.size, 'site')} selected</p>
          <div className="flex gap-2">
            <Button variant="ghost" className="text-white hover:bg-indigo-500" onClick={() => setSelected(new Set())}>
              Clear
            </Button>
            <Button variant="secondary" onClick={() => setPushing({ rows: rows.filter((r) => selected.has(r.site.id)), what: 'packages' })}>
              Push a theme or plugin
            </Button>
            <Button variant="secondary" onClick={() => setPushing({ rows: rows.filter((r) => selected.has(r.site.id)), what: 'drafts' })}>
              Push current drafts
            </Button>
          </div>
        </div>
      )}

      {pushing && (
        <BulkPush
          key={pushing.what}
          rows={pushing.rows}
          what={pushing.what}
          onClose={() => {
            setPushing(undefined);
            page.reload();
          }}
        />
      )}

      {page.error && <ErrorNote error={page.error} title="The sites could not be loaded" onRetry={page.reload} />}
      {page.loading && !page.data && <Loading label="Loading your sites…" />}
      {page.data && rows.length === 0 && (
        filtered ? (
          <Empty title="No sites match" action={<Button variant="secondary" onClick={() => (setSearch(''), navigate('/', { replace: true }))}>Clear the filters</Button>}>
            Nothing in your fleet matches these filters.
          </Empty>
        ) : (
          <Empty title="No sites yet" action={<Button onClick={() => navigate('/sites/new')}>Generate your first site</Button>}>
            Describe a business and we write the whole site: pages, design and plugins. Then connect a WordPress host and deploy.
          </Empty>
        )
      )}

      {rows.length > 0 && (
        <div className={cx('overflow-hidden rounded-xl bg-white shadow-sm ring-1 ring-slate-200', page.loading && 'opacity-60')}>
          <div className="overflow-x-auto">
            <table className="min-w-full divide-y divide-slate-200 text-left text-sm">
              <thead className="bg-slate-50 text-xs font-semibold uppercase tracking-wide text-slate-500">
                <tr>
                  <th scope="col" className="w-10 px-4 py-3">
                    <input type="checkbox" className="size-4 rounded border-slate-300 accent-indigo-600" aria-label="Select all sites shown" checked={allSelected} onChange={toggleAll} />
                  </th>
                  <th scope="col" className="px-3 py-3">Site</th>
                  <th scope="col" className="px-3 py-3">Status</th>
                  <th scope="col" className="px-3 py-3">Agent</th>
                  <th scope="col" className="hidden px-3 py-3 md:table-cell">WordPress</th>
                  <th scope="col" className="hidden px-3 py-3 md:table-cell">PHP</th>
                  <th scope="col" className="hidden px-3 py-3 lg:table-cell">Last deployment</th>
                  <th scope="col" className="hidden px-3 py-3 lg:table-cell">Drift</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {rows.map((row) => {
                  const drift = driftLabel(row.site.drift);
                  return (
                    <tr key={row.site.id} className={cx('hover:bg-slate-50', selected.has(row.site.id) && 'bg-indigo-50/50')}>
                      <td className="px-4 py-3">
                        <input type="checkbox" className="size-4 rounded border-slate-300 accent-indigo-600" aria-label={`Select ${row.site.name}`} checked={selected.has(row.site.id)} onChange={() => toggle(row.site.id)} />
                      </td>
                      <td className="max-w-xs px-3 py-3">
                        <Link href={`/sites/${row.site.id}`} className="font-semibold text-slate-900 hover:text-indigo-700 hover:underline">
                          {row.site.name}
                        </Link>
                        <p className="truncate text-xs text-slate-500">{row.site.domain ?? 'No domain yet'}</p>
                        {row.tags.length > 0 && (
                          <div className="mt-1 flex flex-wrap gap-1">
                            {row.tags.map((tag) => (
                              <button key={tag} type="button" aria-label={`Show sites tagged ${tag}`} onClick={() => setFilter('tag', tag)} className="rounded bg-slate-100 px-1.5 py-0.5 text-[11px] font-medium text-slate-600 hover:bg-slate-200">
                                #{tag}
                              </button>
                            ))}
                          </div>
                        )}
                      </td>
                      <td className="px-3 py-3">
                        <StatusBadge status={row.site.status} />
                      </td>
                      <td className="px-3 py-3">
                        <AgentCell row={row} />
                      </td>
                      <td className="hidden px-3 py-3 tabular-nums md:table-cell">{version(row.site.inventory?.wordpress_version)}</td>
                      <td className="hidden px-3 py-3 tabular-nums md:table-cell">{version(row.site.inventory?.php_version)}</td>
                      <td className="hidden px-3 py-3 lg:table-cell">
                        {row.last_deployment ? (
                          <div className="space-y-0.5">
                            <StatusBadge status={row.last_deployment.status} />
                            <p className="text-xs text-slate-500">
                              #{row.last_deployment.sequence} · {ago(row.last_deployment.created_at)}
                            </p>
                          </div>
                        ) : (
                          <span className="text-slate-400">Never</span>
                        )}
                      </td>
                      <td className="hidden px-3 py-3 lg:table-cell">
                        {drift.tone === 'none' ? <span className="text-slate-400">—</span> : <Badge tone={drift.tone === 'ok' ? 'green' : 'amber'}>{drift.text}</Badge>}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <div className="flex flex-wrap items-center justify-between gap-3 border-t border-slate-100 px-4 py-3 text-sm text-slate-600">
            <span>
              Showing {number(rows.length)} of {number(page.data?.total ?? rows.length)}
            </span>
            {more.after && (
              <Button variant="secondary" busy={more.loading} onClick={loadMore}>
                Load more
              </Button>
            )}
          </div>
          {more.error && <ErrorNote error={more.error} onRetry={loadMore} />}
        </div>
      )}
    </div>
  );
}
