import { act, fireEvent, render, renderHook, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { api } from '../api/client';
import type { Job } from '../api/types';
import { usePollWhile } from '../lib/hooks';
import { JobPage } from '../pages/Job';

/// A WebSocket that delivers the given events once opened, then closes.
function fakeSocket(events: unknown[], opened: string[][]) {
  return class {
    onopen?: () => void;
    onmessage?: (m: { data: string }) => void;
    onclose?: () => void;
    constructor(url: string, protocols: string[]) {
      opened.push([url, ...protocols]);
      setTimeout(() => {
        this.onopen?.();
        for (const e of events) this.onmessage?.({ data: JSON.stringify(e) });
        this.onclose?.();
      }, 0);
    }
    close() {}
  };
}

const failed: Job = {
  id: 'job-1',
  site_id: 'site-1',
  kind: 'generation',
  status: 'failed',
  progress: 15,
  logs: 'planning the sitemap\nplanned 2 pages: Home, Contact\ncould not write the Home page: the model refused',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  stage: 'failed',
  error: 'no page could be written: the model refused',
};

afterEach(() => vi.restoreAllMocks());

describe('JobPage', () => {
  it('follows the WebSocket to a failure, shows why, and retries', async () => {
    const opened: string[][] = [];
    vi.stubGlobal('WebSocket', fakeSocket([{ job_id: 'job-1', status: 'failed', progress: 15, stage: 'failed', message: 'no page could be written: the model refused' }], opened));
    vi.spyOn(api, 'get').mockResolvedValue(failed);
    vi.spyOn(api, 'jobSocket').mockResolvedValue({ url: 'ws://x/api/v1/jobs/job-1/events', protocols: ['bearer', 'tok'] });
    const post = vi.spyOn(api, 'post').mockResolvedValue({ job_id: 'job-2', site_id: 'site-1', status: 'queued' });
    render(<JobPage jobId="job-1" />);
    expect(await screen.findByRole('heading', { name: 'Generation failed' })).toBeTruthy();
    expect(opened[0]).toEqual(['ws://x/api/v1/jobs/job-1/events', 'bearer', 'tok']);
    expect(screen.getAllByText('no page could be written: the model refused').length).toBeGreaterThan(0);
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('15');
    expect(screen.getByText('the model refused')).toBeTruthy();
    // The log on demand.
    expect(screen.queryByText(/planned 2 pages/)).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Show the log' }));
    expect(screen.getByText(/planned 2 pages/)).toBeTruthy();
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    });
    expect(post).toHaveBeenCalledWith('/jobs/job-1/retry');
    expect(location.pathname).toBe('/jobs/job-2');
    vi.unstubAllGlobals();
  });
});

describe('usePollWhile', () => {
  it('ticks while active and stops when it is not', async () => {
    vi.useFakeTimers();
    try {
      const tick = vi.fn();
      const { rerender, unmount } = renderHook(({ active }) => usePollWhile(active, tick, 1000), { initialProps: { active: true } });
      vi.advanceTimersByTime(3500);
      expect(tick).toHaveBeenCalledTimes(3);
      rerender({ active: false });
      vi.advanceTimersByTime(5000);
      expect(tick).toHaveBeenCalledTimes(3);
      unmount();
    } finally {
      vi.useRealTimers();
    }
  });
});
