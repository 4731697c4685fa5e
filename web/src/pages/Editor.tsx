// The editor: each page's preview rendered from its block markup with the
// site's palette and fonts; simple edits (title, section texts, SEO title and
// meta description with counters); "regenerate this section"; then deploy.
// Unsaved edits are kept in sessionStorage per page until they are saved.

import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, ApiError } from '../api/client';
import type { Deployment, Draft, DraftPage, Job, JobAccepted, JobEvent, PageEdit } from '../api/types';
import { Badge, Button, Card, Empty, ErrorNote, Field, Input, Loading, PageHeader, Select, Spinner, StatusBadge, Textarea, cx, deploymentStatus } from '../components/ui';
import { useInteractive, useLoad, usePersistentState, usePollWhile } from '../lib/hooks';
import { previewDocument, referencedImages, themedDocument, withImages } from '../lib/preview';
import { fetchOnce } from '../lib/prefetch';
import { Link, navigate } from '../lib/router';

export const SEO_TITLE_MAX = 60;
export const META_DESCRIPTION_MAX = 156;
const TITLE_MAX = 100;

interface SectionForm {
  heading: string;
  /// Paragraphs separated by a blank line.
  paragraphs: string;
  items: { title: string; text: string }[];
  link_label: string | null;
}

export interface PageForm {
  title: string;
  seo_title: string;
  meta_description: string;
  sections: SectionForm[];
}

export function formOf(page: DraftPage): PageForm {
  return {
    title: page.title,
    seo_title: page.seo_title,
    meta_description: page.meta_description,
    sections: page.content.sections.map((s) => ({
      heading: s.heading,
      paragraphs: (s.paragraphs ?? []).join('\n\n'),
      items: (s.items ?? []).map((i) => ({ title: i.title, text: i.text })),
      link_label: s.link ? s.link.label : null,
    })),
  };
}

export function splitParagraphs(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s*\n\s*/g, ' ').trim())
    .filter(Boolean);
}

/// The PATCH body that turns `page` into `form`: only what changed.
export function editOf(page: DraftPage, form: PageForm): PageEdit {
  const edit: PageEdit = {};
  const before = formOf(page);
  if (form.title.trim() !== before.title) edit.title = form.title;
  if (form.seo_title.trim() !== before.seo_title) edit.seo_title = form.seo_title;
  if (form.meta_description.trim() !== before.meta_description) edit.meta_description = form.meta_description;
  const sections: NonNullable<PageEdit['sections']> = [];
  form.sections.forEach((s, index) => {
    const old = before.sections[index];
    if (!old) return;
    const change: NonNullable<PageEdit['sections']>[number] = { index };
    if (s.heading.trim() !== old.heading) change.heading = s.heading;
    const paragraphs = splitParagraphs(s.paragraphs);
    if (JSON.stringify(paragraphs) !== JSON.stringify(page.content.sections[index].paragraphs)) change.paragraphs = paragraphs;
    const items = s.items.map((i) => ({ title: i.title.trim(), text: i.text.trim() }));
    if (JSON.stringify(items) !== JSON.stringify(old.items)) change.items = items;
    if (s.link_label !== null && s.link_label.trim() !== old.link_label) change.link_label = s.link_label;
    if (Object.keys(change).length > 1) sections.push(change);
  });
  if (sections.length) edit.sections = sections;
  return edit;
}

export function checkForm(form: PageForm): Record<string, string> {
  const errors: Record<string, string> = {};
  const need = (key: string, value: string, max: number, what: string) => {
    const n = value.trim().length;
    if (!n) errors[key] = `${what} cannot be empty.`;
    else if (n > max) errors[key] = `${what} is ${n} characters; keep it to ${max}.`;
  };
  need('title', form.title, TITLE_MAX, 'The title');
  need('seo_title', form.seo_title, SEO_TITLE_MAX, 'The SEO title');
  need('meta_description', form.meta_description, META_DESCRIPTION_MAX, 'The meta description');
  form.sections.forEach((s, i) => {
    need(`sections[${i}].heading`, s.heading, 200, 'The heading');
    s.items.forEach((item, j) => {
      need(`sections[${i}].items[${j}].title`, item.title, 200, 'The item title');
      need(`sections[${i}].items[${j}].text`, item.text, 2000, 'The item text');
    });
    if (s.link_label !== null) need(`sections[${i}].link_label`, s.link_label, 60, 'The button label');
  });
  return errors;
}

const KIND_NAMES: Record<string, string> = {
  hero: 'Hero',
  text: 'Text',
  features: 'Features',
  steps: 'Steps',
  faq: 'Questions',
  call_to_action: 'Call to action',
  contact: 'Contact',
};

/// Waits for a job to finish over its WebSocket (falling back to polling).
async function waitForJob(jobId: string): Promise<Job> {
  try {
    const target = await api.jobSocket(jobId);
    await new Promise<void>((resolve) => {
      const socket = new WebSocket(target.url, target.protocols);
      socket.onmessage = (m) => {
        try {
          const e = JSON.parse(m.data as string) as JobEvent;
          if (e.status === 'completed' || e.status === 'failed') socket.close();
        } catch {
          // ignore
        }
      };
      socket.onclose = () => resolve();
      socket.onerror = () => resolve();
    });
  } catch {
    // Polling below covers it.
  }
  for (;;) {
    const job = await api.get<Job>(`/jobs/${jobId}`);
    if (job.status === 'completed' || job.status === 'failed') return job;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export default function EditorPage({ siteId, slug }: { siteId: string; slug?: string }) {
  const draft = useLoad((s) => fetchOnce<Draft>(`/sites/${siteId}/draft`, s), [siteId]);
  // The last section rewritten and whether its text came back unchanged;
  // kept here, since a rewrite gives the page a new variant and so a fresh editor.
  const [rewritten, setRewritten] = useState<Rewritten>();
  useInteractive('editor', Boolean(draft.data));
  if (draft.error)
    return draft.error.status === 404 ? (
      <Empty title="No draft to edit" action={<Button onClick={() => navigate(`/sites/${siteId}`)}>Back to the site</Button>}>
        This site has no generated draft yet.
      </Empty>
    ) : (
      <ErrorNote error={draft.error} title="The draft could not be loaded" onRetry={draft.reload} />
    );
  if (!draft.data) return <Loading label="Loading the editor…" />;
  const d = draft.data;
  const page = d.pages.find((p) => p.slug === slug) ?? d.pages[0];
  if (!page) return <Empty title="This draft has no pages">Regenerate the site to write its pages.</Empty>;
  return (
    <PageEditor
      key={`${page.slug}:${page.variant}`}
      draft={d}
      page={page}
      siteId={siteId}
      onDraft={(next) => draft.setData(next)}
      rewritten={rewritten?.slug === page.slug ? rewritten : undefined}
      onRewritten={setRewritten}
    />
  );
}

/** A section rewritten by "Regenerate this section", and whether its text came back the same. */
type Rewritten = { slug: string; index: number; same: boolean };

function PageEditor({
  draft,
  page,
  siteId,
  onDraft,
  rewritten,
  onRewritten: setRewritten,
}: {
  draft: Draft;
  page: DraftPage;
  siteId: string;
  onDraft: (d: Draft) => void;
  rewritten?: Rewritten;
  onRewritten: (r: Rewritten | undefined) => void;
}) {
  const [form, setForm, clearSaved] = usePersistentState<PageForm>(`gsw.editor.${siteId}.${page.slug}`, formOf(page));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saving, setSaving] = useState(false);
  const [failure, setFailure] = useState<ApiError>();
  const [saved, setSaved] = useState(false);
  const [regenerating, setRegenerating] = useState<number>();
  const [deploying, setDeploying] = useState(false);
  const [deployment, setDeployment] = useState<Deployment>();
  // The deployment just queued, followed until the agent reports on it.
  usePollWhile(deployment?.status === 'queued' || deployment?.status === 'delivered', () => {
    if (!deployment) return;
    api.request<Deployment>(`/deployments/${deployment.id}`).then(setDeployment, () => undefined);
  });
  const [device, setDevice] = useState<'desktop' | 'phone'>('desktop');

  // A saved form from an older draft (its section count differs) is dropped.
  useEffect(() => {
    if (form.sections.length !== page.content.sections.length) setForm(formOf(page));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const edit = useMemo(() => editOf(page, form), [page, form]);
  const dirty = Object.keys(edit).length > 0;
  // Closing the tab or leaving the dashboard with unsaved edits asks first
  // (moving between the dashboard's own screens keeps them in this tab).
  useEffect(() => {
    if (!dirty) return;
    const ask = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', ask);
    return () => window.removeEventListener('beforeunload', ask);
  }, [dirty]);
  // The generated theme's own stylesheet; until it is here (or if it cannot
  // be had), the palette-only preview.
  const themeCss = useLoad((signal) => api.getText(`/sites/${siteId}/draft/theme.css`, signal), [siteId, draft.design]);
  // The page's images, drawn by the control plane as the deployment uploads them.
  const pictures = useLoad(async (signal) => {
    const entries = await Promise.all(
      referencedImages(page.blocks).map(async (file) => {
        const blob = await api.getBlob(`/sites/${siteId}/draft/images/${file}`, signal);
        const url = await new Promise<string>((resolve, reject) => {
          const reader = new FileReader();
          reader.onload = () => resolve(typeof reader.result === 'string' ? reader.result : '');
          reader.onerror = () => reject(reader.error ?? new Error('reading an image'));
          reader.readAsDataURL(blob);
        });
        return [file, url] as const;
      }),
    );
    return Object.fromEntries(entries);
  }, [siteId, page.blocks]);
  const siteName = draft.identity?.name || draft.brief.business_name;
  // One document once the stylesheet and the images are here (each new
  // srcdoc reloads the frame); the palette-only one if the stylesheet
  // cannot be had.
  const doc = useMemo(() => {
    if (themeCss.data) {
      if (pictures.loading && !pictures.data) return null;
      return themedDocument(withImages(page.blocks, pictures.data ?? {}), themeCss.data, page.title, siteName, location.origin);
    }
    return themeCss.loading ? null : previewDocument(page.blocks, draft.design, page.title);
  }, [page, draft.design, themeCss.data, themeCss.loading, siteName, pictures.data, pictures.loading]);

  const update = (change: (f: PageForm) => PageForm) => {
    setForm((old) => change(old));
    setSaved(false);
  };
  const section = (i: number, change: Partial<SectionForm>) => update((f) => ({ ...f, sections: f.sections.map((s, j) => (j === i ? { ...s, ...change } : s)) }));

  const save = async (event?: FormEvent) => {
    event?.preventDefault();
    const found = checkForm(form);
    setErrors(found);
    setFailure(undefined);
    if (Object.keys(found).length) {
      requestAnimationFrame(() => document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return false;
    }
    if (!dirty) return true;
    setSaving(true);
    try {
      const result = await api.patch<{ updated_at: string; page: DraftPage }>(`/sites/${siteId}/draft/pages/${page.slug}`, edit);
      clearSaved();
      setSaved(true);
      onDraft({
        ...draft,
        updated_at: result.updated_at,
        pages: draft.pages.map((p) => (p.slug === page.slug ? result.page : p)),
        sitemap: { ...draft.sitemap, pages: draft.sitemap.pages.map((p) => (p.slug === page.slug ? { ...p, title: result.page.title } : p)) },
      });
      return true;
    } catch (e) {
      const err = e as ApiError;
      // The server names the field as the form does (`sections[1].heading`).
      if (err.field) setErrors({ [err.field]: err.message });
      else setFailure(err);
      return false;
    } finally {
      setSaving(false);
    }
  };

  const regenerate = async (index: number) => {
    setRegenerating(index);
    setFailure(undefined);
    setRewritten(undefined);
    const before = JSON.stringify(page.content.sections[index]);
    try {
      const accepted = await api.post<JobAccepted>(`/sites/${siteId}/regenerate`, { page: page.slug, section: index });
      const job = await waitForJob(accepted.job_id);
      if (job.status === 'failed') setFailure(new ApiError(0, 'job_failed', job.error ?? 'The section could not be rewritten.'));
      else {
        // Say what happened: a rewrite can come back word for word the same.
        const fresh = await api.request<Draft>(`/sites/${siteId}/draft`);
        const after = fresh.pages.find((p) => p.slug === page.slug)?.content.sections[index];
        setRewritten({ slug: page.slug, index, same: JSON.stringify(after) === before });
        clearSaved();
        onDraft(fresh);
      }
    } catch (e) {
      setFailure(e as ApiError);
    } finally {
      setRegenerating(undefined);
    }
  };

  const deploy = async () => {
    if (dirty && !(await save())) return;
    setDeploying(true);
    setFailure(undefined);
    try {
      setDeployment(await api.request<Deployment>(`/sites/${siteId}/deployments`, { method: 'POST' }));
    } catch (e) {
      setFailure(e as ApiError);
    } finally {
      setDeploying(false);
    }
  };

  return (
    <div>
      <PageHeader
        back={
          <Link href={`/sites/${siteId}`} className="text-slate-500 hover:text-slate-800">
            ← {draft.brief.business_name}
          </Link>
        }
        title="Editor"
        subtitle="Change the words; the page is rebuilt from them with the site's design."
        actions={
          <>
            <Button variant="secondary" onClick={() => save()} busy={saving} disabled={!dirty}>
              Save changes
            </Button>
            <Button onClick={deploy} busy={deploying}>
              Deploy
            </Button>
          </>
        }
      />
      <div className="mb-4 flex flex-wrap items-center gap-3">
        <label htmlFor="page-picker" className="text-sm font-medium text-slate-700">
          Page
        </label>
        <Select id="page-picker" className="w-auto min-w-48" value={page.slug} onChange={(e) => navigate(`/sites/${siteId}/pages/${e.target.value}`, { replace: true })}>
          {draft.pages.map((p) => (
            <option key={p.slug} value={p.slug}>
              {p.title} ({p.path})
            </option>
          ))}
        </Select>
        {dirty && <Badge tone="amber">Unsaved changes</Badge>}
        {saved && !dirty && (
          <span role="status">
            <Badge tone="green">Saved</Badge>
          </span>
        )}
      </div>
      {failure && (
        <div className="mb-4">
          <ErrorNote error={failure} />
        </div>
      )}
      {deployment && (
        <div className="mb-4 flex flex-wrap items-center gap-3 rounded-xl bg-emerald-50 px-4 py-3 text-sm text-emerald-900 ring-1 ring-emerald-200" role="status">
          <span>Deployment #{deployment.sequence} is</span>
          <StatusBadge status={deploymentStatus(deployment)} />
          <span>Its agent applies it when connected.</span>
          <Link href={`/sites/${siteId}`} className="font-semibold hover:underline">
            Follow it on the site page →
          </Link>
        </div>
      )}

      <div className="grid gap-6 xl:grid-cols-[minmax(0,28rem)_1fr] [&>*]:min-w-0">
        <form onSubmit={save} noValidate className="space-y-6" aria-label={`Edit ${page.title}`}>
          <Card title="Page and search">
            <div className="space-y-4">
              <Field label="Page title" error={errors.title} count={{ used: form.title.trim().length, max: TITLE_MAX }} hint="Also its label in the menu.">
                {(p) => <Input {...p} name="title" value={form.title} onChange={(e) => update((f) => ({ ...f, title: e.target.value }))} />}
              </Field>
              <Field label="SEO title" error={errors.seo_title} count={{ used: form.seo_title.trim().length, max: SEO_TITLE_MAX }} hint="Shown as the headline in search results.">
                {(p) => <Input {...p} name="seo_title" value={form.seo_title} onChange={(e) => update((f) => ({ ...f, seo_title: e.target.value }))} />}
              </Field>
              <Field
                label="Meta description"
                error={errors.meta_description}
                count={{ used: form.meta_description.trim().length, max: META_DESCRIPTION_MAX }}
                hint="The snippet under the headline in search results."
              >
                {(p) => <Textarea {...p} name="meta_description" rows={3} value={form.meta_description} onChange={(e) => update((f) => ({ ...f, meta_description: e.target.value }))} />}
              </Field>
              <div className="rounded-lg bg-slate-50 p-3 text-sm ring-1 ring-slate-200" aria-label="Search result preview">
                <p className="truncate text-xs text-slate-600">{page.path}</p>
                <p className="truncate text-base text-blue-800">{form.seo_title || 'SEO title'}</p>
                <p className="line-clamp-2 text-xs text-slate-600">{form.meta_description}</p>
              </div>
            </div>
          </Card>
          {form.sections.map((s, i) => {
            const kind = page.content.sections[i]?.kind ?? 'text';
            return (
              <Card
                key={i}
                title={
                  <span className="flex items-center gap-2">
                    <span className="text-slate-400">{i + 1}.</span> {KIND_NAMES[kind] ?? kind}
                  </span>
                }
                actions={
                  <Button variant="ghost" className="min-h-8 px-2 py-1 text-indigo-700" onClick={() => regenerate(i)} disabled={regenerating !== undefined} aria-label={`Regenerate section ${i + 1}`}>
                    {regenerating === i ? <Spinner className="size-4" /> : null}
                    {regenerating === i ? 'Rewriting…' : 'Regenerate this section'}
                  </Button>
                }
              >
                {rewritten?.index === i && (
                  <p role="status" className={cx('mb-3 text-sm', rewritten.same ? 'text-amber-800' : 'text-emerald-700')}>
                    {rewritten.same ? 'The rewrite came back the same as before. Try again, or edit the text here.' : 'Rewritten: the new text is below.'}
                  </p>
                )}
                <div className={cx('space-y-4', regenerating === i && 'pointer-events-none opacity-50')}>
                  <Field label={kind === 'hero' ? 'Main heading (H1)' : 'Heading'} error={errors[`sections[${i}].heading`]} count={{ used: s.heading.trim().length, max: 200 }}>
                    {(p) => <Input {...p} name={`section-${i}-heading`} value={s.heading} onChange={(e) => section(i, { heading: e.target.value })} />}
                  </Field>
                  <Field label="Text" error={errors[`sections[${i}].paragraphs`]} hint="Leave a blank line between paragraphs.">
                    {(p) => <Textarea {...p} name={`section-${i}-text`} rows={Math.min(10, 2 + s.paragraphs.length / 70)} value={s.paragraphs} onChange={(e) => section(i, { paragraphs: e.target.value })} />}
                  </Field>
                  {s.items.map((item, j) => (
                    <fieldset key={j} className="space-y-2 rounded-lg bg-slate-50 p-3 ring-1 ring-slate-200">
                      <legend className="sr-only">Item {j + 1}</legend>
                      <Field label={`Item ${j + 1} title`} error={errors[`sections[${i}].items[${j}].title`]}>
                        {(p) => <Input {...p} value={item.title} onChange={(e) => section(i, { items: s.items.map((it, k) => (k === j ? { ...it, title: e.target.value } : it)) })} />}
                      </Field>
                      <Field label={`Item ${j + 1} text`} error={errors[`sections[${i}].items[${j}].text`]}>
                        {(p) => <Textarea {...p} rows={2} value={item.text} onChange={(e) => section(i, { items: s.items.map((it, k) => (k === j ? { ...it, text: e.target.value } : it)) })} />}
                      </Field>
                    </fieldset>
                  ))}
                  {s.link_label !== null && (
                    <Field label="Button label" error={errors[`sections[${i}].link_label`]} count={{ used: s.link_label.trim().length, max: 60 }}>
                      {(p) => <Input {...p} value={s.link_label ?? ''} onChange={(e) => section(i, { link_label: e.target.value })} />}
                    </Field>
                  )}
                </div>
              </Card>
            );
          })}
          <div className="flex gap-3">
            <Button type="submit" busy={saving} disabled={!dirty}>
              Save changes
            </Button>
            {dirty && (
              <Button variant="ghost" onClick={() => (clearSaved(), setForm(formOf(page)), setErrors({}))}>
                Discard
              </Button>
            )}
          </div>
        </form>

        <div className="xl:sticky xl:top-20 xl:self-start">
          <Card
            title="Preview"
            actions={
              <div className="flex rounded-lg bg-slate-100 p-0.5 text-xs font-medium" role="group" aria-label="Preview width">
                {(['desktop', 'phone'] as const).map((d) => (
                  <button key={d} type="button" aria-pressed={device === d} onClick={() => setDevice(d)} className={cx('rounded-md px-2.5 py-1 capitalize', device === d ? 'bg-white shadow-sm' : 'text-slate-600')}>
                    {d}
                  </button>
                ))}
              </div>
            }
          >
            {dirty && <p className="mb-2 text-xs text-amber-800">The preview shows the saved page; save to see your changes.</p>}
            <div className={cx('mx-auto overflow-hidden rounded-lg ring-1 ring-slate-200 transition-[max-width]', device === 'phone' ? 'max-w-[390px]' : 'max-w-full')}>
              {doc === null ? (
                <div className="grid h-[70vh] place-items-center bg-white" aria-busy="true">
                  <Spinner />
                </div>
              ) : (
                <iframe title={`Preview of ${page.title}`} sandbox="" srcDoc={doc} className="block h-[70vh] w-full bg-white" />
              )}
            </div>
          </Card>
        </div>
      </div>
    </div>
  );
}
