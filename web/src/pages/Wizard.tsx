// The generation wizard: business, description, goals, style, review, then
// Generate. What is typed is kept in sessionStorage until the job starts, so a
// reload or an expired session loses nothing.

import { useRef, useState, type FormEvent, type ReactNode } from 'react';
import { api, ApiError, fieldName } from '../api/client';
import type { JobAccepted } from '../api/types';
import { Button, Card, ErrorNote, Field, Input, PageHeader, Textarea, cx } from '../components/ui';
import { useInteractive, usePersistentState } from '../lib/hooks';
import { navigate } from '../lib/router';

export interface WizardForm {
  business_name: string;
  type: string;
  description: string;
  goals: string[];
  look: string[];
  tone: string;
  colours: string;
}

export const EMPTY_FORM: WizardForm = {
  business_name: '',
  type: '',
  description: '',
  goals: [''],
  look: [],
  tone: '',
  colours: '',
};

export const LIMITS = { business_name: 200, type: 100, description: 4000, goal: 200, goals: 10, colours: 120 };
const DESCRIPTION_MIN = 30;

const TYPES = ['Bakery', 'Restaurant', 'Dental clinic', 'Law firm', 'Plumber', 'Yoga studio', 'Photographer', 'Online shop'];
const GOAL_IDEAS = ['Take online orders', 'Be found on Google', 'Get more bookings', 'Collect enquiries', 'Show our work', 'Grow a newsletter'];
const LOOKS = ['Modern', 'Minimal', 'Classic', 'Warm', 'Playful', 'Bold', 'Elegant'];
const TONES = ['Friendly', 'Professional', 'Luxurious', 'Down-to-earth', 'Technical'];

export const STEPS = ['Business', 'Description', 'Goals', 'Style', 'Review'] as const;

const FIELDS = ['business_name', 'type', 'description', 'goals', 'colours'] as const;
type Errors = Partial<Record<(typeof FIELDS)[number], string>>;

/// The messages for the fields of `step` (all steps when `step` is undefined).
export function validate(form: WizardForm, step?: number): Errors {
  const errors: Errors = {};
  const all = step === undefined;
  if (all || step === 0) {
    if (!form.business_name.trim()) errors.business_name = 'Enter the name of the business.';
    else if (form.business_name.trim().length > LIMITS.business_name) errors.business_name = `Keep the name under ${LIMITS.business_name} characters.`;
    if (!form.type.trim()) errors.type = 'Say what kind of business it is, such as “bakery”.';
    else if (form.type.trim().length > LIMITS.type) errors.type = `Keep the type under ${LIMITS.type} characters.`;
  }
  if (all || step === 1) {
    const length = form.description.trim().length;
    if (!length) errors.description = 'Describe the business: what it offers, where, and for whom.';
    else if (length < DESCRIPTION_MIN) errors.description = `Write a little more (at least ${DESCRIPTION_MIN} characters) so the site has something to say.`;
    else if (length > LIMITS.description) errors.description = `Keep the description under ${LIMITS.description} characters.`;
  }
  if (all || step === 2) {
    const goals = form.goals.map((g) => g.trim()).filter(Boolean);
    if (!goals.length) errors.goals = 'Give at least one goal for the site.';
    else if (goals.length > LIMITS.goals) errors.goals = `Give at most ${LIMITS.goals} goals.`;
    else if (goals.some((g) => g.length > LIMITS.goal)) errors.goals = `Keep each goal under ${LIMITS.goal} characters.`;
  }
  if (all || step === 3) {
    if (form.colours.trim().length > LIMITS.colours) errors.colours = `Keep the colours under ${LIMITS.colours} characters.`;
  }
  return errors;
}

/// The style preferences in one line for the design agent; undefined if none were given.
export function styleLine(form: WizardForm): string | undefined {
  const parts = [];
  if (form.look.length) parts.push(`Look: ${form.look.join(', ').toLowerCase()}.`);
  if (form.tone) parts.push(`Tone: ${form.tone.toLowerCase()}.`);
  if (form.colours.trim()) parts.push(`Colours: ${form.colours.trim()}.`);
  return parts.length ? parts.join(' ') : undefined;
}

/// The request body of `POST /sites/generate`.
export function briefOf(form: WizardForm) {
  const style = styleLine(form);
  return {
    business_name: form.business_name.trim(),
    type: form.type.trim(),
    description: form.description.trim(),
    goals: form.goals.map((g) => g.trim()).filter(Boolean),
    ...(style ? { style } : {}),
  };
}

function stepOfField(field: string | undefined): number {
  switch (field) {
    case 'business_name':
    case 'type':
      return 0;
    case 'description':
      return 1;
    case 'goals':
      return 2;
    case 'style':
      return 3;
    default:
      return 4;
  }
}

function Chip({ selected, onClick, children }: { selected: boolean; onClick: () => void; children: ReactNode }) {
  return (
    <button
      type="button"
      aria-pressed={selected}
      onClick={onClick}
      className={cx(
        'min-h-9 rounded-full px-3.5 py-1.5 text-sm font-medium ring-1 ring-inset transition-colors focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600',
        selected ? 'bg-indigo-600 text-white ring-indigo-600' : 'bg-white text-slate-700 ring-slate-300 hover:bg-slate-50',
      )}
    >
      {children}
    </button>
  );
}

export function WizardPage() {
  const [form, setForm, clear] = usePersistentState<WizardForm>('gsw.wizard', EMPTY_FORM);
  const [step, setStep] = usePersistentState<{ at: number }>('gsw.wizard.step', { at: 0 });
  const [errors, setErrors] = useState<Errors>({});
  const [failure, setFailure] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useInteractive('wizard', true);

  const at = Math.min(step.at, STEPS.length - 1);
  const set = <K extends keyof WizardForm>(key: K, value: WizardForm[K]) => {
    setForm((old) => ({ ...old, [key]: value }));
    setErrors((old) => ({ ...old, [key === 'goals' ? 'goals' : key]: undefined }));
  };
  const go = (to: number) => {
    setStep({ at: to });
    setFailure(undefined);
    requestAnimationFrame(() => heading.current?.focus());
  };

  const next = (event: FormEvent) => {
    event.preventDefault();
    if (at === STEPS.length - 1) return generate();
    const found = validate(form, at);
    setErrors(found);
    if (Object.values(found).some(Boolean)) {
      // Focus the first field with a message.
      requestAnimationFrame(() => document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return;
    }
    go(at + 1);
  };

  const generate = async () => {
    const found = validate(form);
    if (Object.values(found).some(Boolean)) {
      setErrors(found);
      go(stepOfField(Object.keys(found).find((k) => found[k as keyof Errors])));
      return;
    }
    setBusy(true);
    setFailure(undefined);
    try {
      const accepted = await api.post<JobAccepted>('/sites/generate', briefOf(form));
      clear();
      sessionStorage.removeItem('gsw.wizard.step');
      navigate(`/jobs/${accepted.job_id}`);
    } catch (err) {
      const e = err as ApiError;
      // `goals[2]` is shown beside the goals; the style is written from the colours (and chips).
      const name = e.field === undefined ? undefined : fieldName(e.field);
      const key = name === 'style' ? 'colours' : name;
      if (name && key && FIELDS.includes(key as keyof Errors)) {
        setErrors({ [key]: e.message });
        go(stepOfField(name));
      } else {
        setFailure(e);
      }
    } finally {
      setBusy(false);
    }
  };

  const goals = form.goals.length ? form.goals : [''];

  return (
    <div className="mx-auto max-w-3xl">
      <PageHeader title="Generate a site" subtitle="Tell us about the business. We plan the pages, pick a design and write every page for you." />
      <ol className="mb-6 grid grid-cols-5 gap-2" aria-label="Steps">
        {STEPS.map((name, i) => (
          <li key={name}>
            <button
              type="button"
              onClick={() => (i < at ? go(i) : undefined)}
              disabled={i >= at}
              aria-current={i === at ? 'step' : undefined}
              className="group w-full text-left disabled:cursor-default"
            >
              <span className={cx('block h-1.5 rounded-full', i <= at ? 'bg-indigo-600' : 'bg-slate-200')} />
              <span className={cx('mt-2 block truncate text-xs font-medium sm:text-sm', i === at ? 'text-indigo-700' : i < at ? 'text-slate-700 group-hover:underline' : 'text-slate-400')}>
                <span className="sr-only">Step {i + 1}: </span>
                {name}
              </span>
            </button>
          </li>
        ))}
      </ol>
      <form onSubmit={next} noValidate>
        <Card>
          <h2 ref={heading} tabIndex={-1} className="mb-5 text-lg font-semibold outline-none">
            {['The business', 'What it does', 'What the site should achieve', 'Style preferences', 'Review'][at]}
          </h2>
          {at === 0 && (
            <div className="space-y-5">
              <Field label="Business name" error={errors.business_name} count={{ used: form.business_name.length, max: LIMITS.business_name }}>
                {(p) => <Input {...p} name="business_name" autoFocus value={form.business_name} onChange={(e) => set('business_name', e.target.value)} placeholder="Maison Lune" />}
              </Field>
              <Field label="Type of business" error={errors.type} hint="Free text: what you would call it.">
                {(p) => <Input {...p} name="type" list="business-types" value={form.type} onChange={(e) => set('type', e.target.value)} placeholder="Bakery" />}
              </Field>
              <datalist id="business-types">
                {TYPES.map((t) => (
                  <option key={t} value={t} />
                ))}
              </datalist>
            </div>
          )}
          {at === 1 && (
            <Field
              label="Description"
              error={errors.description}
              count={{ used: form.description.length, max: LIMITS.description }}
              hint="What you offer, where, for whom, and what makes you different. Every sentence on the site is written from this."
            >
              {(p) => (
                <Textarea
                  {...p}
                  name="description"
                  autoFocus
                  rows={7}
                  value={form.description}
                  onChange={(e) => set('description', e.target.value)}
                  placeholder="A family bakery in Lyon making sourdough bread, croissants and celebration cakes…"
                />
              )}
            </Field>
          )}
          {at === 2 && (
            <fieldset className="space-y-3" aria-describedby={errors.goals ? 'goals-error' : undefined}>
              <legend className="text-sm font-medium text-slate-800">Goals (one per line, up to {LIMITS.goals})</legend>
              {goals.map((goal, i) => (
                <div key={i} className="flex gap-2">
                  <label className="sr-only" htmlFor={`goal-${i}`}>
                    Goal {i + 1}
                  </label>
                  <Input
                    id={`goal-${i}`}
                    name={`goal-${i}`}
                    autoFocus={i === 0}
                    aria-invalid={errors.goals ? true : undefined}
                    value={goal}
                    maxLength={LIMITS.goal + 20}
                    onChange={(e) => set('goals', goals.map((g, j) => (j === i ? e.target.value : g)))}
                    placeholder={i === 0 ? 'Take online orders' : 'Another goal'}
                  />
                  {goals.length > 1 && (
                    <Button variant="ghost" aria-label={`Remove goal ${i + 1}`} onClick={() => set('goals', goals.filter((_, j) => j !== i))}>
                      Remove
                    </Button>
                  )}
                </div>
              ))}
              {errors.goals && (
                <p id="goals-error" className="text-sm text-red-700" role="alert">
                  {errors.goals}
                </p>
              )}
              <div className="flex flex-wrap items-center gap-2 pt-1">
                {goals.length < LIMITS.goals && (
                  <Button variant="secondary" onClick={() => set('goals', [...goals, ''])}>
                    Add a goal
                  </Button>
                )}
                <span className="text-xs text-slate-500">Ideas:</span>
                {GOAL_IDEAS.filter((idea) => !goals.includes(idea)).slice(0, 4).map((idea) => (
                  <Chip
                    key={idea}
                    selected={false}
                    onClick={() => {
                      const filled = goals.filter((g) => g.trim());
                      if (filled.length < LIMITS.goals) set('goals', [...filled, idea]);
                    }}
                  >
                    + {idea}
                  </Chip>
                ))}
              </div>
            </fieldset>
          )}
          {at === 3 && (
            <div className="space-y-6">
              <fieldset>
                <legend className="text-sm font-medium text-slate-800">Look</legend>
                <p className="mb-2 text-xs text-slate-500">Pick any that fit. Optional.</p>
                <div className="flex flex-wrap gap-2">
                  {LOOKS.map((look) => (
                    <Chip
                      key={look}
                      selected={form.look.includes(look)}
                      onClick={() => set('look', form.look.includes(look) ? form.look.filter((l) => l !== look) : [...form.look, look])}
                    >
                      {look}
                    </Chip>
                  ))}
                </div>
              </fieldset>
              <fieldset>
                <legend className="mb-2 text-sm font-medium text-slate-800">Tone of voice</legend>
                <div className="flex flex-wrap gap-2">
                  {TONES.map((tone) => (
                    <Chip key={tone} selected={form.tone === tone} onClick={() => set('tone', form.tone === tone ? '' : tone)}>
                      {tone}
                    </Chip>
                  ))}
                </div>
              </fieldset>
              <Field label="Colours you like" error={errors.colours} hint="For example “deep green and cream”. Optional." count={{ used: form.colours.length, max: LIMITS.colours }}>
                {(p) => <Input {...p} name="colours" value={form.colours} onChange={(e) => set('colours', e.target.value)} />}
              </Field>
            </div>
          )}
          {at === 4 && <Review form={form} onEdit={go} />}
          {failure && (
            <div className="mt-5">
              <ErrorNote error={failure} title="The site could not be started" />
            </div>
          )}
          <div className="mt-8 flex flex-col-reverse gap-3 border-t border-slate-100 pt-5 sm:flex-row sm:justify-between">
            <Button variant="secondary" onClick={() => go(at - 1)} disabled={at === 0}>
              Back
            </Button>
            <Button type="submit" busy={busy}>
              {at === STEPS.length - 1 ? 'Generate' : 'Continue'}
            </Button>
          </div>
        </Card>
      </form>
    </div>
  );
}

function Review({ form, onEdit }: { form: WizardForm; onEdit: (step: number) => void }) {
  const brief = briefOf(form);
  const rows: [string, ReactNode, number][] = [
    ['Business', `${brief.business_name} · ${brief.type}`, 0],
    ['Description', <span className="whitespace-pre-line">{brief.description}</span>, 1],
    [
      'Goals',
      <ul className="list-disc pl-5">
        {brief.goals.map((g) => (
          <li key={g}>{g}</li>
        ))}
      </ul>,
      2,
    ],
    ['Style', brief.style ?? 'No preference: the design follows the type of business.', 3],
  ];
  return (
    <dl className="divide-y divide-slate-100">
      {rows.map(([label, value, step]) => (
        <div key={label} className="grid gap-1 py-3 sm:grid-cols-[8rem_1fr_auto] sm:gap-4">
          <dt className="text-sm font-medium text-slate-500">{label}</dt>
          <dd className="text-sm text-slate-900">{value}</dd>
          <dd>
            <button type="button" className="text-sm font-semibold text-indigo-700 hover:underline" onClick={() => onEdit(step)}>
              Edit<span className="sr-only"> {label.toLowerCase()}</span>
            </button>
          </dd>
        </div>
      ))}
    </dl>
  );
}
