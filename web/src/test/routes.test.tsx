import { render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../App';
import { api } from '../api/client';
import { fetchOnce, prefetchRoute } from '../lib/prefetch';
import { ROUTES, findRoute } from '../lib/routes';

const session = { access_token: 'a', refresh_token: 'r', expires_at: Date.now() + 600_000, email: 'ada@example.com' };

afterEach(() => {
  vi.restoreAllMocks();
  history.replaceState(null, '', '/');
});

describe('the route table', () => {
  it('finds the screen and its params for each address', () => {
    const at = (path: string) => {
      const found = findRoute(path);
      return found && { screen: found.route.screen, ...found.params };
    };
    expect(at('/')).toEqual({ screen: 'sites' });
    expect(at('/sites')).toEqual({ screen: 'sites' });
    // The wizard's address is not read as a site called "new".
    expect(at('/sites/new')).toEqual({ screen: 'new-site' });
    expect(at('/sites/s1')).toEqual({ screen: 'site', id: 's1' });
    expect(at('/sites/s1/editor')).toEqual({ screen: 'editor', id: 's1' });
    expect(at('/sites/s1/pages/caf%C3%A9')).toEqual({ screen: 'editor', id: 's1', slug: 'café' });
    expect(at('/jobs/j1')).toEqual({ screen: 'job', id: 'j1' });
    expect(at('/billing')).toEqual({ screen: 'billing' });
    expect(at('/login')).toEqual({ screen: 'login' });
    expect(at('/sites/s1/nope')).toBeNull();
    expect(at('/nope')).toBeNull();
  });

  it('opens only the sign-in pages to signed-out visitors', () => {
    expect(ROUTES.filter((r) => r.public).map((r) => r.pattern)).toEqual(['/login', '/signup']);
  });

  it('says what each screen reads first', () => {
    const reads = (path: string, search = '') => {
      const found = findRoute(path)!;
      return found.route.reads?.(found.params, new URLSearchParams(search)) ?? [];
    };
    expect(reads('/', '?q=lune&status=active&page=2')).toEqual(['/fleet/sites?q=lune&status=active&limit=50', '/fleet/tags']);
    expect(reads('/sites/s1')).toEqual(['/sites/s1', '/sites/s1/draft', '/sites/s1/jobs', '/sites/s1/deployments']);
    expect(reads('/sites/s1/pages/home')).toEqual(['/sites/s1/draft']);
    expect(reads('/jobs/j1')).toEqual(['/jobs/j1']);
    expect(reads('/sites/new')).toEqual([]);
  });
});

describe('prefetchRoute', () => {
  it('starts the reads of the signed-in screen, and the screen takes the answers', async () => {
    vi.spyOn(api, 'current').mockReturnValue(session);
    const get = vi.spyOn(api, 'get').mockImplementation((path: string) => Promise.resolve({ path }));
    prefetchRoute('/jobs/j1', '');
    expect(get.mock.calls.map(([path]) => path)).toEqual(['/jobs/j1']);
    expect(await fetchOnce('/jobs/j1')).toEqual({ path: '/jobs/j1' });
    // Taken once: the next read asks again.
    await fetchOnce('/jobs/j1');
    expect(get).toHaveBeenCalledTimes(2);
  });

  it('reads nothing for a signed-out visitor or an unknown address', () => {
    const get = vi.spyOn(api, 'get');
    vi.spyOn(api, 'current').mockReturnValue(null);
    prefetchRoute('/billing', '');
    vi.spyOn(api, 'current').mockReturnValue(session);
    prefetchRoute('/nope', '');
    expect(get).not.toHaveBeenCalled();
  });
});

describe('App', () => {
  it('sends a signed-out visitor to sign in, keeping where they were going', async () => {
    vi.spyOn(api, 'current').mockReturnValue(null);
    history.replaceState(null, '', '/sites/s1');
    render(<App />);
    await waitFor(() => expect(location.pathname + location.search).toBe('/login?next=%2Fsites%2Fs1'));
  });

  it('shows a signed-in person the screen of the address, or that there is none', () => {
    vi.spyOn(api, 'current').mockReturnValue(session);
    history.replaceState(null, '', '/no/such/screen');
    render(<App />);
    expect(screen.getByText('Nothing here')).toBeTruthy();
  });
});
