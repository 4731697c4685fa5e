// Live progress of a generation job, fed by the job's WebSocket: the bar, the
// stages (planning, design, each page, plugins), the log on demand, and a
// failure with a retry. The job id is in the address, so a reload reconnects.

import { useEffect, useMemo, useRef, useState } from 'react';
import { api, ApiError } from '../api/client';
import type { Job, JobAccepted, JobEvent, JobStatus } from '../api/types';
import { Badge, Button, Card, ErrorNote, Loading, PageHeader, ProgressBar, Spinner, StatusBadge, cx } from '../components/ui';
import { useInteractive } from '../lib/hooks';
import { fetchOnce } from '../lib/prefetch';
import { Link, navigate } from '../lib/router';

export type StepState = 'waiting' | 'running' | 'done' | 'failed';

export interface Step {
  key: string;
  label: string;
  state: StepState;
  detail?: string;
  /// Page steps sit under "Content".
  page?: boolean;
}

const finished = (status: JobStatus) => status === 'completed' || status === 'failed';

/// The stages of a generation from its log and latest status: planning,
/// design, one step per planned page, plugins, saving. A regeneration's log
/// has no plan, so it is shown as one "rewrite" step.
export function stepsOf(logs: string, status: JobStatus, stage: string | null): Step[] {
  const lines = logs.split('\n').map((l) => l.trim()).filter(Boolean);
  const failed = status === 'failed';
  const done = status === 'completed';
  const plan = lines.map((l) => /planned (\d+) pages: (.+)$/.exec(l)).find(Boolean);
  const after = (s: string | null) => ['photos', 'plugins', 'saving', 'done'].includes(s ?? '');

  if (!plan && lines.some((l) => /^(rewriting|writing the|rewrote|wrote the)/.test(l))) {
    // A regeneration of one page or section.
    const last = [...lines].reverse().find((l) => /^(rewriting|writing|rewrote|wrote)/.test(l)) ?? 'rewriting';
    return [{ key: 'rewrite', label: last[0].toUpperCase() + last.slice(1), state: done ? 'done' : failed ? 'failed' : 'running' }];
  }

  const titles = plan ? plan[2].split(', ') : [];
  const planned = Boolean(plan);
  const steps: Step[] = [
    {
      key: 'planning',
      label: 'Planning the sitemap',
      state: planned || done ? 'done' : failed ? 'failed' : status === 'queued' ? 'waiting' : 'running',
      detail: plan ? `${plan[1]} pages` : undefined,
    },
    {
      key: 'design',
      label: 'Design: palette, fonts and theme',
      state: done || after(stage) ? 'done' : !planned ? 'waiting' : failed ? 'failed' : 'running',
    },
  ];
  const written = (title: string) => lines.some((l) => l === `wrote the ${title} page`);
  const refused = (title: string) => lines.find((l) => l.startsWith(`could not write the ${title} page`));
  for (const title of titles) {
    const failure = refused(title);
    steps.push({
      key: `page:${title}`,
      label: title,
      page: true,
      state: written(title) ? 'done' : failure ? 'failed' : done ? 'done' : failed ? 'failed' : planned ? 'running' : 'waiting',
      detail: failure ? failure.replace(/^could not write the .+? page: /, '') : undefined,
    });
  }
  steps.push({
    key: 'plugins',
    label: 'Choosing plugins',
    state: done || stage === 'saving' || stage === 'done' ? 'done' : stage === 'plugins' ? (failed ? 'failed' : 'running') : 'waiting',
  });
  steps.push({
    key: 'saving',
    label: 'Assembling the draft',
    state: done ? 'done' : stage === 'saving' ? (failed ? 'failed' : 'running') : 'waiting',
  });
  return steps;
}

function StepIcon({ state }: { state: StepState }) {
  if (state === 'running') return <Spinner className="size-4 text-indigo-600" />;
  const base = 'grid size-4 place-items-center rounded-full text-[10px] font-bold';
  if (state === 'done')
    return (
      <span className={cx(base, 'bg-emerald-600 text-white')} aria-hidden>
        ✓
      </span>
    );
  if (state === 'failed')
    return (
      <span className={cx(base, 'bg-red-600 text-white')} aria-hidden>
        !
      </span>
    );
  return <span className={cx(base, 'ring-2 ring-inset ring-slate-300')} aria-hidden />;
}

type Connection = 'connecting' | 'live' | 'reconnecting' | 'closed';

export function JobPage({ jobId }: { jobId: string }) {
  const [job, setJob] = useState<Job>();
  const [event, setEvent] = useState<JobEvent>();
  const [error, setError] = useState<ApiError>();
  const [connection, setConnection] = useState<Connection>('connecting');
  const [showLog, setShowLog] = useState(false);
  const [retrying, setRetrying] = useState(false);
  const [retryError, setRetryError] = useState<ApiError>();
  const refetch = useRef<() => void>(() => {});

  // The job row: on load, and after events (throttled) for the log's detail.
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = 0;
    const load = () => {
      fetchOnce<Job>(`/jobs/${jobId}`)
        .then((j) => alive && (setJob(j), setError(undefined)))
        .catch((e: unknown) => alive && setError(e instanceof ApiError ? e : new ApiError(0, 'error', String(e))));
    };
    refetch.current = () => {
      const wait = Math.max(0, last + 400 - Date.now());
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        last = Date.now();
        load();
      }, wait);
    };
    load();
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
  }, [jobId]);

  // The WebSocket: reconnects with backoff until the job has finished.
  useEffect(() => {
    let socket: WebSocket | undefined;
    let stopped = false;
    let attempt = 0;
    let done = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const open = async () => {
      if (stopped) return;
      setConnection(attempt === 0 ? 'connecting' : 'reconnecting');
      let target;
      try {
        target = await api.jobSocket(jobId);
      } catch {
        return; // Session over: the app sends the person to sign in.
      }
      if (stopped) return;
      socket = new WebSocket(target.url, target.protocols);
      socket.onopen = () => {
        attempt = 0;
        setConnection('live');
      };
      socket.onmessage = (message) => {
        try {
          const data = JSON.parse(message.data as string) as JobEvent;
          setEvent(data);
          if (finished(data.status)) done = true;
          refetch.current();
        } catch {
          // Not an event: ignore it.
        }
      };
      socket.onclose = () => {
        if (stopped) return;
        if (done) {
          setConnection('closed');
          return;
        }
        attempt += 1;
        setConnection('reconnecting');
        retry = setTimeout(() => void open(), Math.min(10_000, 500 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2));
      };
    };
    void open();
    return () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      socket?.close();
    };
  }, [jobId]);

  const status: JobStatus | undefined = event?.status ?? job?.status;
  const progress = Math.max(event?.progress ?? 0, job?.progress ?? 0);
  const stage = event?.stage ?? job?.stage ?? null;
  const logs = job?.logs ?? '';
  const steps = useMemo(() => (status ? stepsOf(logs, status, stage) : []), [logs, status, stage]);
  useInteractive('job', Boolean(job));

  const retry = async () => {
    setRetrying(true);
    setRetryError(undefined);
    try {
      const accepted = await api.post<JobAccepted>(`/jobs/${jobId}/retry`);
      navigate(`/jobs/${accepted.job_id}`);
    } catch (e) {
      setRetryError(e as ApiError);
    } finally {
      setRetrying(false);
    }
  };

  if (error && !job) return <ErrorNote error={error} title="This job could not be loaded" onRetry={() => refetch.current()} />;
  if (!job || !status) return <Loading label="Loading the job…" />;

  const failed = status === 'failed';
  const completed = status === 'completed';
  const failureText = event?.status === 'failed' ? event.message : job.error;

  return (
    <div className="mx-auto max-w-3xl">
      <PageHeader
        back={
          <Link href={`/sites/${job.site_id}`} className="text-slate-500 hover:text-slate-800">
            ← Site
          </Link>
        }
        title={completed ? 'Your site is ready' : failed ? 'Generation failed' : 'Generating your site'}
        subtitle={completed ? 'Every page is written. Review it, edit what you like, then deploy.' : failed ? 'Nothing was lost: finished stages are kept.' : 'This takes a minute or two with Claude; seconds with the offline engine.'}
        actions={<StatusBadge status={status} />}
      />
      <Card>
        <div className="flex items-baseline justify-between gap-4">
          <p className="text-sm font-medium text-slate-700" aria-live="polite">
            {failed ? 'Stopped' : completed ? 'Done' : event?.message || job.logs.trim().split('\n').pop() || 'Waiting for a worker…'}
          </p>
          <span className="text-sm font-semibold tabular-nums text-slate-900">{progress}%</span>
        </div>
        <div className="mt-3">
          <ProgressBar value={progress} label="Generation progress" tone={failed ? 'red' : completed ? 'green' : 'indigo'} />
        </div>
        <p className="mt-2 flex items-center gap-2 text-xs text-slate-500">
          {connection === 'live' && <Badge tone="green" dot>Live</Badge>}
          {connection === 'reconnecting' && <Badge tone="amber" dot>Reconnecting…</Badge>}
          {connection === 'connecting' && <Badge tone="slate" dot>Connecting…</Badge>}
          {connection === 'closed' && <span>Finished {new Date(job.updated_at).toLocaleTimeString()}</span>}
        </p>

        <ol className="mt-6 space-y-1" aria-label="Stages">
          {steps.map((step) => (
            <li key={step.key} className={cx('flex items-start gap-3 rounded-lg px-2 py-1.5', step.page && 'ml-6', step.state === 'running' && 'bg-indigo-50/60')} data-state={step.state}>
              <span className="mt-0.5">
                <StepIcon state={step.state} />
              </span>
              <span className="min-w-0 flex-1">
                <span className={cx('text-sm', step.state === 'waiting' ? 'text-slate-400' : 'text-slate-800', step.page && 'text-[13px]')}>
                  {step.page ? `Page: ${step.label}` : step.label}
                </span>
                {step.detail && <span className={cx('block text-xs', step.state === 'failed' ? 'text-red-700' : 'text-slate-500')}>{step.detail}</span>}
              </span>
              <span className="sr-only">{step.state}</span>
            </li>
          ))}
        </ol>

        {failed && (
          <div className="mt-6 space-y-3">
            <ErrorNote error={failureText || 'The job failed without a reason.'} title="Why it stopped" />
            {retryError && <ErrorNote error={retryError} />}
            <Button onClick={retry} busy={retrying}>
              Retry
            </Button>
          </div>
        )}
        {completed && (
          <div className="mt-6 flex flex-wrap gap-3">
            <Button onClick={() => navigate(`/sites/${job.site_id}/editor`)}>Open the editor</Button>
            <Button variant="secondary" onClick={() => navigate(`/sites/${job.site_id}`)}>
              View the site
            </Button>
          </div>
        )}

        <div className="mt-6 border-t border-slate-100 pt-4">
          <button type="button" className="text-sm font-semibold text-indigo-700 hover:underline" aria-expanded={showLog} aria-controls="job-log" onClick={() => setShowLog(!showLog)}>
            {showLog ? 'Hide the log' : 'Show the log'}
          </button>
          {showLog && (
            <pre id="job-log" className="mt-3 max-h-80 overflow-auto rounded-lg bg-slate-900 p-4 text-xs leading-relaxed text-slate-100">
              {job.logs.trim() || 'Nothing logged yet.'}
            </pre>
          )}
        </div>
      </Card>
    </div>
  );
}
