// A site: its agent and the command to enroll one, tags, the draft's
// sitemap, pages, design and plugin plan, and the deployment history with
// per-item results and rollback.

import { useState } from 'react';
import { api, ApiError } from '../api/client';
import type { Agent, Deployment, Draft, Job, Site } from '../api/types';
import { ConnectSite, WaitingForSite } from '../components/ConnectSite';
import { Badge, Button, Card, Empty, ErrorNote, Input, Loading, PageHeader, StatusBadge, cx, deploymentStatus } from '../components/ui';
import { ago, driftLabel, version } from '../lib/format';
import { useInteractive, useLoad, usePollWhile, type Loaded } from '../lib/hooks';
import { fetchOnce } from '../lib/prefetch';
import { Link, navigate } from '../lib/router';

/// Loads something that may not exist yet (404 → null).
async function optional<T>(promise: Promise<T>): Promise<T | null> {
  try {
    return await promise;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

export default function SiteDetailPage({ siteId }: { siteId: string }) {
  const site = useLoad((s) => fetchOnce<Site>(`/sites/${siteId}`, s), [siteId]);
  const draft = useLoad((s) => optional(fetchOnce<Draft>(`/sites/${siteId}/draft`, s)), [siteId]);
  const jobs = useLoad((s) => fetchOnce<{ jobs: Job[] }>(`/sites/${siteId}/jobs`, s), [siteId]);
  const deployments = useLoad((s) => fetchOnce<{ deployments: Deployment[] }>(`/sites/${siteId}/deployments`, s), [siteId]);
  const [deploying, setDeploying] = useState(false);
  const [keepTheme, setKeepTheme] = useState(false);
  // A deployment on its way is followed until the agent reports on it.
  usePollWhile(Boolean(deployments.data?.deployments.some((d) => d.status === 'queued' || d.status === 'delivered')), deployments.reload);
  const [deployError, setDeployError] = useState<ApiError>();
  // A connection under way is followed until the site has called in.
  const [awaiting, setAwaiting] = useState(false);
  const online = Boolean(site.data?.agent?.online && site.data.inventory);
  usePollWhile(awaiting && !online, site.reload, 3000);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<ApiError>();
  useInteractive('site', Boolean(site.data) && !draft.loading);

  if (site.error) return <ErrorNote error={site.error} title="This site could not be loaded" onRetry={site.reload} />;
  if (!site.data) return <Loading label="Loading the site…" />;
  const s = site.data;
  const latestJob = jobs.data?.jobs[0];
  const running = latestJob && (latestJob.status === 'queued' || latestJob.status === 'running');

  const remove = async () => {
    if (!window.confirm(`Delete ${s.name}? Its draft, jobs and deployment history go, and its agent or plugin is disconnected. The WordPress site itself is not touched.`)) return;
    setDeleting(true);
    setDeleteError(undefined);
    try {
      await api.request<void>(`/sites/${siteId}`, { method: 'DELETE' });
      navigate('/');
    } catch (e) {
      setDeleteError(e as ApiError);
      setDeleting(false);
    }
  };

  const deploy = async () => {
    setDeploying(true);
    setDeployError(undefined);
    try {
      await api.request<Deployment>(`/sites/${siteId}/deployments`, { method: 'POST', body: { theme: keepTheme ? 'keep' : 'generated' } });
      deployments.reload();
    } catch (e) {
      setDeployError(e as ApiError);
    } finally {
      setDeploying(false);
    }
  };

  return (
    <div>
      <PageHeader
        back={
          <Link href="/" className="text-slate-500 hover:text-slate-800">
            ← Sites
          </Link>
        }
        title={s.name}
        subtitle={
          <span className="flex flex-wrap items-center gap-2">
            <StatusBadge status={s.status} />
            <SiteAddress site={s} />
            <span className="text-slate-400">· created {ago(s.created_at)}</span>
          </span>
        }
        actions={
          <>
            {draft.data && (
              <Button variant="secondary" onClick={() => navigate(`/sites/${siteId}/editor`)}>
                Open the editor
              </Button>
            )}
            {draft.data && (
              <label className="flex items-center gap-2 text-sm text-slate-700" title="Deploy the content only, styled by its own blocks, and leave the site's theme active">
                <input type="checkbox" className="size-4 rounded border-slate-300 accent-indigo-600" checked={keepTheme} onChange={(e) => setKeepTheme(e.target.checked)} />
                Keep the site's own theme
              </label>
            )}
            {draft.data && (
              <Button onClick={deploy} busy={deploying} disabled={Boolean(running)}>
                Deploy the draft
              </Button>
            )}
            <Button variant="danger" onClick={remove} busy={deleting}>
              Delete site
            </Button>
          </>
        }
      />
      {deleteError && (
        <div className="mb-4">
          <ErrorNote error={deleteError} title="The site could not be deleted" />
        </div>
      )}
      {deployError && (
        <div className="mb-4">
          <ErrorNote error={deployError} title="The draft could not be deployed" />
        </div>
      )}
      {running && latestJob && (
        <div className="mb-4 flex flex-wrap items-center justify-between gap-3 rounded-xl bg-indigo-50 px-4 py-3 text-sm text-indigo-900 ring-1 ring-indigo-200">
          <span>A generation is {latestJob.status} ({latestJob.progress}%).</span>
          <Link href={`/jobs/${latestJob.id}`} className="font-semibold hover:underline">
            Watch its progress →
          </Link>
        </div>
      )}
      {latestJob?.status === 'failed' && !draft.data && (
        <div className="mb-4">
          <ErrorNote error={latestJob.error ?? 'The generation failed.'} title="The last generation failed" />
          <Link href={`/jobs/${latestJob.id}`} className="mt-2 inline-block text-sm font-semibold text-indigo-700 hover:underline">
            See what happened and retry →
          </Link>
        </div>
      )}

      <div className="grid gap-6 lg:grid-cols-3 [&>*]:min-w-0">
        <div className="space-y-6 lg:col-span-2">
          <DraftCards draft={draft} siteId={siteId} />
          <DeploymentHistory loaded={deployments} kept={s?.inventory?.snapshots} />
        </div>
        <div className="space-y-6">
          <AgentCard site={s} siteId={siteId} awaiting={awaiting && !online} onStarted={() => setAwaiting(true)} onChanged={site.reload} />
          <TagsCard site={s} onSaved={(updated) => site.setData(updated)} />
        </div>
      </div>
    </div>
  );
}

function DraftCards({ draft, siteId }: { draft: Loaded<Draft | null>; siteId: string }) {
  if (draft.error) return <ErrorNote error={draft.error} title="The draft could not be loaded" onRetry={draft.reload} />;
  if (draft.loading && draft.data === undefined) return <Loading label="Loading the draft…" />;
  const d = draft.data;
  if (!d)
    return (
      <Card title="Draft">
        <Empty title="No draft yet" action={<Button onClick={() => navigate('/sites/new')}>Generate a site</Button>}>
          This site has no generated draft. Generate one, or connect an existing WordPress site and deploy bundles to it.
        </Empty>
      </Card>
    );
  const { palette, fonts } = d.design;
  const swatches: [string, string][] = [
    ['Base', palette.base],
    ['Text', palette.contrast],
    ['Primary', palette.primary],
    ['On primary', palette.on_primary],
    ['Secondary', palette.secondary],
    ['Accent', palette.accent],
  ];
  const byParent = (parent: string | null) => d.sitemap.pages.filter((p) => (p.parent ?? null) === parent || (parent === null && p.parent === 'home' && p.slug !== 'home'));
  const failed = new Map((d.failed_pages ?? []).map((f) => [f.slug, f.reason]));
  return (
    <>
      <Card title="Pages" actions={<span className="text-xs text-slate-500">Draft updated {ago(d.updated_at)}</span>}>
        <ul className="divide-y divide-slate-100">
          {d.sitemap.pages.map((plan) => {
            const page = d.pages.find((p) => p.slug === plan.slug);
            return (
              <li key={plan.slug} className="flex flex-wrap items-center justify-between gap-2 py-2.5">
                <div className="min-w-0">
                  <p className={cx('text-sm font-medium', plan.parent && plan.parent !== 'home' && 'pl-4')}>
                    {page?.title ?? plan.title}
                    <span className="ml-2 font-mono text-xs text-slate-500">{page?.path ?? `/${plan.slug}/`}</span>
                  </p>
                  <p className="truncate text-xs text-slate-500">{page?.seo_title ?? plan.purpose}</p>
                  {failed.has(plan.slug) && <p className="text-xs text-red-700">Not written: {failed.get(plan.slug)}</p>}
                </div>
                {page && (
                  <Link href={`/sites/${siteId}/pages/${page.slug}`} className="text-sm font-semibold text-indigo-700 hover:underline">
                    Edit<span className="sr-only"> {page.title}</span>
                  </Link>
                )}
              </li>
            );
          })}
        </ul>
        <details className="mt-3 text-sm">
          <summary className="cursor-pointer font-medium text-slate-700">Sitemap and navigation</summary>
          <div className="mt-2 grid gap-4 sm:grid-cols-2">
            <div>
              <p className="text-xs font-semibold uppercase tracking-wide text-slate-500">Hierarchy</p>
              <ul className="mt-1 space-y-1">
                {byParent(null).map((p) => (
                  <li key={p.slug}>
                    {p.title}
                    {d.sitemap.pages.some((c) => c.parent === p.slug) && (
                      <ul className="ml-4 list-disc pl-3 text-slate-600">
                        {d.sitemap.pages
                          .filter((c) => c.parent === p.slug)
                          .map((c) => (
                            <li key={c.slug}>{c.title}</li>
                          ))}
                      </ul>
                    )}
                  </li>
                ))}
              </ul>
            </div>
            <div>
              <p className="text-xs font-semibold uppercase tracking-wide text-slate-500">Menu</p>
              <ol className="mt-1 list-decimal space-y-1 pl-5">
                {d.sitemap.navigation.map((slug) => (
                  <li key={slug}>{d.sitemap.pages.find((p) => p.slug === slug)?.title ?? slug}</li>
                ))}
              </ol>
            </div>
          </div>
        </details>
      </Card>

      <Card title="Design">
        <p className="text-sm text-slate-700">{d.design.style}</p>
        <p className="mt-1 text-xs text-slate-500">
          Theme <span className="font-mono">{d.design.theme}</span>
        </p>
        <ul className="mt-4 grid grid-cols-3 gap-3 sm:grid-cols-6" aria-label="Palette">
          {swatches.map(([name, colour]) => (
            <li key={name} className="text-center">
              <span className="block h-12 rounded-lg shadow-inner ring-1 ring-black/10" style={{ background: colour }} />
              <span className="mt-1 block text-xs font-medium text-slate-700">{name}</span>
              <span className="block font-mono text-[11px] text-slate-500">{colour}</span>
            </li>
          ))}
        </ul>
        <div className="mt-4 grid gap-3 sm:grid-cols-2">
          <div className="rounded-lg p-4 ring-1 ring-slate-200" style={{ background: palette.base, color: palette.contrast }}>
            <p className="text-xs uppercase tracking-wide opacity-70">Headings · {fonts.heading}</p>
            <p className="mt-1 text-2xl font-semibold" style={{ fontFamily: `${fonts.heading}, Georgia, serif`, color: palette.primary }}>
              {d.brief.business_name}
            </p>
          </div>
          <div className="rounded-lg p-4 ring-1 ring-slate-200" style={{ background: palette.base, color: palette.contrast }}>
            <p className="text-xs uppercase tracking-wide opacity-70">Body · {fonts.body}</p>
            <p className="mt-1 text-sm" style={{ fontFamily: `${fonts.body}, system-ui, sans-serif` }}>
              The quick brown fox jumps over the lazy dog.
            </p>
          </div>
        </div>
      </Card>

      <Card title="Plugin plan">
        {d.plugins.plugins.length === 0 ? (
          <p className="text-sm text-slate-500">No plugins needed.</p>
        ) : (
          <ul className="divide-y divide-slate-100">
            {d.plugins.plugins.map((p) => (
              <li key={p.slug} className="py-2.5">
                <p className="flex flex-wrap items-center gap-2 text-sm font-medium">
                  {p.name || p.slug}
                  {p.category && <Badge>{p.category}</Badge>}
                </p>
                <p className="text-sm text-slate-600">{p.reason}</p>
              </li>
            ))}
          </ul>
        )}
      </Card>
    </>
  );
}

/// Where the site is on the web: its domain, else the address its agent or
/// plugin reports, with a link to wp-admin.
function SiteAddress({ site }: { site: Site }) {
  const home = site.domain ? (/^https?:\/\//.test(site.domain) ? site.domain : `https://${site.domain}`) : site.inventory?.home_url;
  if (!home) return <span>No address yet</span>;
  const admin = site.wp_admin_url ?? (site.inventory?.site_url ? `${site.inventory.site_url.replace(/\/$/, '')}/wp-admin/` : undefined);
  return (
    <span className="flex flex-wrap items-center gap-2">
      <a href={home} target="_blank" rel="noreferrer" className="font-medium text-indigo-700 hover:underline" data-testid="site-link">
        {home.replace(/^https?:\/\//, '').replace(/\/$/, '')} ↗
      </a>
      {admin && (
        <a href={admin} target="_blank" rel="noreferrer" className="text-slate-600 hover:underline">
          wp-admin ↗
        </a>
      )}
    </span>
  );
}

const CONNECTION_LABEL: Record<Agent['connection'], string> = {
  agent: 'Agent on the server',
  plugin: 'Plugin only',
};

function AgentCard({ site, siteId, awaiting, onStarted, onChanged }: { site: Site; siteId: string; awaiting: boolean; onStarted: () => void; onChanged: () => void }) {
  const agent = site.agent ?? null;
  const [connecting, setConnecting] = useState(!agent);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<ApiError>();
  const drift = driftLabel(site.drift);
  const disconnect = async () => {
    if (!window.confirm('Disconnect this site? Its agent or plugin stops receiving deployments until it is connected again.')) return;
    setBusy(true);
    setFailure(undefined);
    try {
      await api.request<void>(`/sites/${siteId}/agent`, { method: 'DELETE' });
      setConnecting(true);
      onChanged();
    } catch (e) {
      setFailure(e as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="WordPress host">
      <dl className="grid grid-cols-[7rem_1fr] gap-y-2 text-sm">
        <dt className="text-slate-500">Connection</dt>
        <dd className="flex flex-wrap items-center gap-2">
          {agent ? (
            <>
              <Badge tone={agent.online ? 'green' : 'slate'} dot>
                {agent.online ? 'Online' : 'Offline'}
              </Badge>
              <span className="text-slate-600">{CONNECTION_LABEL[agent.connection]}</span>
            </>
          ) : (
            <span className="text-slate-500">Not connected</span>
          )}
        </dd>
        <dt className="text-slate-500">Last contact</dt>
        <dd>{agent ? ago(agent.last_seen) : '—'}</dd>
        <dt className="text-slate-500">Host</dt>
        <dd className="truncate">{agent?.hostname ?? '—'}</dd>
        <dt className="text-slate-500">WordPress</dt>
        <dd>{version(site.inventory?.wordpress_version)}</dd>
        <dt className="text-slate-500">PHP</dt>
        <dd>{version(site.inventory?.php_version)}</dd>
        <dt className="text-slate-500">Theme</dt>
        <dd className="truncate">{site.inventory?.active_theme || '—'}</dd>
        <dt className="text-slate-500">Plugins</dt>
        <dd>{site.inventory?.plugins ? `${site.inventory.plugins.filter((p) => p.active).length} active of ${site.inventory.plugins.length}` : '—'}</dd>
        <dt className="text-slate-500">Drift</dt>
        <dd>{drift.tone === 'none' ? '—' : <Badge tone={drift.tone === 'ok' ? 'green' : 'amber'}>{drift.text}</Badge>}</dd>
      </dl>
      {(site.inventory_at || site.drift_at) && (
        <p className="mt-2 text-xs text-slate-500">Reported by the {agent?.connection === 'plugin' ? 'plugin' : 'agent'} {ago(site.inventory_at ?? site.drift_at)}.</p>
      )}
      {agent?.connection === 'plugin' && !agent.online && (
        <p className="mt-2 text-xs text-slate-500">A plugin connection calls in from WP-Cron, when the site has visitors, or every minute from a real cron.</p>
      )}
      {site.drift && site.drift.drifted.length > 0 && (
        <details className="mt-3 text-sm">
          <summary className="cursor-pointer font-medium text-amber-800">Changed in WordPress since deployed</summary>
          <ul className="mt-2 space-y-1 text-xs">
            {site.drift.drifted.map((item) => (
              <li key={item.key} className="flex justify-between gap-2">
                <span className="truncate font-mono">{item.key}</span>
                <span className="text-slate-500">{item.state}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
      <div className="mt-4 space-y-3 border-t border-slate-100 pt-4">
        {awaiting && <WaitingForSite />}
        {connecting ? (
          <>
            <p className="text-sm font-medium text-slate-800">{agent ? 'Connect again' : 'Connect a site'}</p>
            <ConnectSite siteId={siteId} connected={Boolean(agent)} onStarted={onStarted} />
            {agent && (
              <Button variant="secondary" onClick={() => setConnecting(false)}>
                Cancel
              </Button>
            )}
          </>
        ) : (
          <div className="flex flex-wrap gap-2">
            <Button variant="secondary" onClick={() => setConnecting(true)}>
              Connect again
            </Button>
            <Button variant="danger" onClick={disconnect} busy={busy}>
              Disconnect
            </Button>
          </div>
        )}
        {failure && <ErrorNote error={failure} />}
      </div>
    </Card>
  );
}

export function parseTags(text: string): string[] {
  const tags = text
    .split(/[,\n]/)
    .map((t) => t.trim().replace(/^#/, '').toLowerCase())
    .filter(Boolean);
  return [...new Set(tags)];
}

function TagsCard({ site, onSaved }: { site: Site; onSaved: (site: Site) => void }) {
  const current = Array.isArray(site.metadata?.tags) ? (site.metadata.tags as unknown[]).filter((t): t is string => typeof t === 'string') : [];
  const [text, setText] = useState(current.join(', '));
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<ApiError>();
  const [saved, setSaved] = useState(false);
  const save = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setFailure(undefined);
    try {
      const updated = await api.patch<Site>(`/sites/${site.id}`, { metadata: { ...site.metadata, tags: parseTags(text) } });
      onSaved(updated);
      setText(parseTags(text).join(', '));
      setSaved(true);
      setTimeout(() => setSaved(false), 2000);
    } catch (e) {
      setFailure(e as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Tags">
      <form onSubmit={save} className="space-y-2">
        <label htmlFor="site-tags" className="text-sm text-slate-600">
          Comma-separated; filter the fleet by them.
        </label>
        <Input id="site-tags" value={text} onChange={(e) => setText(e.target.value)} placeholder="bakery, lyon, client-acme" />
        <div className="flex items-center gap-3">
          <Button type="submit" variant="secondary" busy={busy}>
            Save tags
          </Button>
          {saved && (
            <span className="text-sm text-emerald-700" role="status">
              Saved
            </span>
          )}
        </div>
        {failure && <ErrorNote error={failure} />}
      </form>
    </Card>
  );
}

/// Why a deployment cannot be rolled back, or null when it can.
export function rollbackBlocked(d: Deployment, kept?: number[] | null): string | null {
  if (d.status !== 'applied' && d.status !== 'failed') return 'Only an applied deployment can be rolled back';
  // The agent keeps the newest snapshots; a deployment older than the oldest has none.
  if (kept?.length && d.sequence < kept[0]) return `The host no longer keeps this deployment's snapshot (it keeps #${kept[0]} and later)`;
  return null;
}

function DeploymentHistory({ loaded, kept }: { loaded: Loaded<{ deployments: Deployment[] }>; kept?: number[] | null }) {
  const [open, setOpen] = useState<string>();
  const [rolling, setRolling] = useState<string>();
  const [failure, setFailure] = useState<ApiError>();
  const rollback = async (d: Deployment) => {
    if (!confirm(`Roll the site back to what it was before deployment #${d.sequence}?`)) return;
    setRolling(d.id);
    setFailure(undefined);
    try {
      await api.post(`/deployments/${d.id}/rollback`);
      loaded.reload();
    } catch (e) {
      const err = e as ApiError;
      setFailure(err.status === 404 && err.message.startsWith('No such route') ? new ApiError(404, 'not_available', 'Rollback is not available on this control plane yet.') : err);
    } finally {
      setRolling(undefined);
    }
  };
  return (
    <Card title="Deployments">
      {failure && (
        <div className="mb-3">
          <ErrorNote error={failure} title="The rollback did not start" />
        </div>
      )}
      {loaded.error ? (
        <ErrorNote error={loaded.error} onRetry={loaded.reload} />
      ) : !loaded.data ? (
        <Loading label="Loading deployments…" />
      ) : loaded.data.deployments.length === 0 ? (
        <p className="text-sm text-slate-500">Nothing deployed yet. Deploy the draft, or push from the fleet table.</p>
      ) : (
        <ul className="divide-y divide-slate-100">
          {loaded.data.deployments.map((d) => (
            <li key={d.id} className="py-3">
              <div className="flex flex-wrap items-center justify-between gap-2">
                <button type="button" className="flex items-center gap-3 text-left" aria-expanded={open === d.id} onClick={() => setOpen(open === d.id ? undefined : d.id)}>
                  <span className="font-mono text-sm text-slate-500">#{d.sequence}</span>
                  <StatusBadge status={deploymentStatus(d)} />
                  {d.rollback_of && <Badge tone="amber">rollback</Badge>}
                  <span className="text-sm text-slate-700">
                    {d.items.length} items · {ago(d.created_at)}
                  </span>
                </button>
                <Button
                  variant="secondary"
                  className="min-h-8 px-3 py-1"
                  busy={rolling === d.id}
                  disabled={rollbackBlocked(d, kept) !== null}
                  title={rollbackBlocked(d, kept) ?? 'Restore the site as it was before this deployment'}
                  onClick={() => rollback(d)}
                >
                  Roll back
                </Button>
              </div>
              {d.error && <p className="mt-1 text-sm text-red-700">{d.error}</p>}
              {d.warnings.length > 0 && (
                <ul className="mt-1 list-disc pl-5 text-sm text-amber-800" aria-label={`Warnings of deployment ${d.sequence}`}>
                  {d.warnings.map((w) => (
                    <li key={w}>{w}</li>
                  ))}
                </ul>
              )}
              {open === d.id && (
                <table className="mt-3 w-full text-left text-xs">
                  <thead className="text-slate-500">
                    <tr>
                      <th className="py-1 pr-2 font-medium">Item</th>
                      <th className="py-1 pr-2 font-medium">Result</th>
                    </tr>
                  </thead>
                  <tbody className="divide-y divide-slate-100">
                    {d.items.map((entry) => {
                      const item = manifestEntry(entry);
                      const result = d.results?.find((r) => r.path === item.path && (!r.kind || r.kind === item.kind));
                      return (
                        <tr key={`${item.kind}/${item.path}`}>
                          <td className="py-1 pr-2 font-mono">
                            {item.kind}/{item.path}
                          </td>
                          <td className="py-1 pr-2">
                            {result ? (
                              <span className={cx(result.status === 'failed' ? 'text-red-700' : 'text-slate-700')}>
                                {result.status}
                                {result.message ? `: ${result.message}` : ''}
                              </span>
                            ) : (
                              <span className="text-slate-400">{d.status === 'queued' || d.status === 'delivered' ? 'Pending' : '—'}</span>
                            )}
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              )}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

/// An entry of a deployment's manifest. The OpenAPI document describes the
/// entries only as objects, so their kind and path are read with care.
function manifestEntry(entry: Record<string, unknown>): { kind: string; path: string } {
  return { kind: typeof entry.kind === 'string' ? entry.kind : '?', path: typeof entry.path === 'string' ? entry.path : '?' };
}
