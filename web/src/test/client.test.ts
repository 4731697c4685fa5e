import { describe, expect, it } from 'vitest';
import { ApiClient, ApiError, SessionExpired, fieldName, sentence } from '../api/client';

function memoryStorage(): Storage {
  const data = new Map<string, string>();
  return {
    get length() {
      return data.size;
    },
    clear: () => data.clear(),
    getItem: (k) => data.get(k) ?? null,
    key: (i) => [...data.keys()][i] ?? null,
    removeItem: (k) => void data.delete(k),
    setItem: (k, v) => void data.set(k, String(v)),
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

const pair = (n: number, expiresIn = 900) => ({
  access_token: `access-${n}`,
  refresh_token: `refresh-${n}`,
  expires_in: expiresIn,
  user: { email: 'ada@example.com' },
});

type Fetch = (url: string, init: RequestInit) => Promise<Response>;
const client = (fetch: Fetch, storage = memoryStorage()) => new ApiClient({ storage, fetch: fetch as unknown as typeof globalThis.fetch });

describe('ApiClient', () => {
  it('signs in, sends the access token and reads JSON', async () => {
    const calls: [string, RequestInit][] = [];
    const api = client(async (url, init) => {
      calls.push([url, init]);
      if (url.endsWith('/auth/login')) return json(200, pair(1));
      return json(200, { sites: [] });
    });
    const session = await api.login('ada@example.com', 'correct horse battery');
    expect(session.email).toBe('ada@example.com');
    expect(await api.get('/sites')).toEqual({ sites: [] });
    expect(calls[1][0]).toBe('/api/v1/sites');
    expect((calls[1][1].headers as Record<string, string>).authorization).toBe('Bearer access-1');
    expect((calls[0][1].headers as Record<string, string>).authorization).toBeUndefined();
  });

  it('refreshes a token about to expire once, even for concurrent requests', async () => {
    let refreshes = 0;
    const storage = memoryStorage();
    const api = client(async (url, init) => {
      if (url.endsWith('/auth/login')) return json(200, pair(1, 10));
      if (url.endsWith('/auth/refresh')) {
        refreshes++;
        expect(JSON.parse(init.body as string)).toEqual({ refresh_token: 'refresh-1' });
        return json(200, pair(2));
      }
      expect((init.headers as Record<string, string>).authorization).toBe('Bearer access-2');
      return json(200, { ok: true });
    }, storage);
    await api.login('ada@example.com', 'correct horse battery');
    await Promise.all([api.get('/a'), api.get('/b'), api.get('/c')]);
    expect(refreshes).toBe(1);
    expect((JSON.parse(storage.getItem('gsw.session')!) as { refresh_token: string }).refresh_token).toBe('refresh-2');
  });

  it('uses a pair another tab already refreshed instead of spending the old token', async () => {
    const storage = memoryStorage();
    const api = client(async (url) => {
      if (url.endsWith('/auth/login')) return json(200, pair(1, 10));
      if (url.endsWith('/auth/refresh')) throw new Error('must not refresh');
      return json(200, {});
    }, storage);
    await api.login('ada@example.com', 'correct horse battery');
    storage.setItem('gsw.session', JSON.stringify({ access_token: 'access-9', refresh_token: 'refresh-9', expires_at: Date.now() + 600_000 }));
    expect(await api.accessToken()).toBe('access-9');
  });

  it('retries once after a 401 with a refreshed token', async () => {
    let first = true;
    const api = client(async (url, init) => {
      if (url.endsWith('/auth/login')) return json(200, pair(1));
      if (url.endsWith('/auth/refresh')) return json(200, pair(2));
      const auth = (init.headers as Record<string, string>).authorization;
      if (first) {
        first = false;
        expect(auth).toBe('Bearer access-1');
        return json(401, { error: { code: 'unauthorized', message: 'the access token has expired; refresh it', request_id: 'r1' } });
      }
      expect(auth).toBe('Bearer access-2');
      return json(200, { ok: 1 });
    });
    await api.login('ada@example.com', 'correct horse battery');
    expect(await api.get('/me')).toEqual({ ok: 1 });
  });

  it('ends the session when the refresh token is refused', async () => {
    const api = client(async (url) => {
      if (url.endsWith('/auth/login')) return json(200, pair(1, 5));
      if (url.endsWith('/auth/refresh'))
        return json(401, { error: { code: 'invalid_refresh_token', message: 'the refresh token is not valid; log in again', request_id: 'r' } });
      return json(200, {});
    });
    const events: (string | undefined)[] = [];
    api.subscribe((s, reason) => events.push(s ? 'session' : reason));
    await api.login('ada@example.com', 'correct horse battery');
    await expect(api.get('/sites')).rejects.toBeInstanceOf(SessionExpired);
    expect(api.current()).toBeNull();
    expect(events).toEqual(['session', 'expired']);
  });

  it('turns API errors into sentences with the field the server names', async () => {
    const api = client(() =>
      Promise.resolve(
        json(422, { error: { code: 'validation', message: 'must not be empty', field: 'goals[0]', request_id: 'req-7' } }, { 'x-request-id': 'req-7' }),
      ),
    );
    const err = (await api.register('ada@example.com', 'x').catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(422);
    expect(err.code).toBe('validation');
    expect(err.message).toBe('Must not be empty.');
    expect(err.field).toBe('goals[0]');
    expect(fieldName(err.field!)).toBe('goals');
    expect(err.requestId).toBe('req-7');
  });

  it('does not read a field out of the message', async () => {
    const api = client(() =>
      Promise.resolve(json(422, { error: { code: 'validation_failed', message: 'email: must be an email address', request_id: 'req-8' } })),
    );
    const err = (await api.register('ada', 'x').catch((e: unknown) => e)) as ApiError;
    expect(err.field).toBeUndefined();
    expect(err.message).toBe('Email: must be an email address.');
    expect(err.requestId).toBe('req-8');
  });

  it('registers, then signs in with the same credentials', async () => {
    const calls: string[] = [];
    const api = client(async (url) => {
      calls.push(url.replace(/^.*\/api\/v1/, ''));
      if (url.endsWith('/auth/register')) return json(202, { email: 'ada@example.com', message: 'sign in' });
      return json(200, pair(1));
    });
    const session = await api.register('ada@example.com', 'correct horse battery');
    expect(calls).toEqual(['/auth/register', '/auth/login']);
    expect(session.email).toBe('ada@example.com');
    expect(api.current()).not.toBeNull();
  });

  it('says an address already has an account when signing in after registering is refused', async () => {
    const api = client(async (url) => {
      if (url.endsWith('/auth/register')) return json(202, { email: 'ada@example.com', message: 'sign in' });
      return json(401, { error: { code: 'invalid_credentials', message: 'wrong email or password', request_id: 'r' } });
    });
    const err = (await api.register('ada@example.com', 'correct horse battery').catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.message).toMatch(/already has an account/);
    expect(api.current()).toBeNull();
  });

  it('names the fields of a path', () => {
    expect(fieldName('email')).toBe('email');
    expect(fieldName('sections[1].heading')).toBe('sections');
    expect(fieldName('brief.goals')).toBe('brief');
  });

  it('explains a failure to reach the server and a non-JSON answer', async () => {
    const down = client(async () => Promise.reject(new TypeError('Failed to fetch')));
    await expect(down.register('a@b.example', 'x')).rejects.toThrow('Cannot reach the control plane');
    const proxy = client(async () => new Response('<html>bad gateway</html>', { status: 502 }));
    await expect(proxy.register('a@b.example', 'x')).rejects.toThrow('not answering');
  });

  it('puts the token in the WebSocket protocols, not the URL', async () => {
    const api = client(async () => json(200, pair(1)));
    await api.login('ada@example.com', 'correct horse battery');
    const socket = await api.jobSocket('job-1');
    expect(socket.url).toMatch(/^ws:\/\/.+\/api\/v1\/jobs\/job-1\/events$/);
    expect(socket.protocols).toEqual(['bearer', 'access-1']);
  });

  it('writes sentences', () => {
    expect(sentence('wrong email or password')).toBe('Wrong email or password.');
    expect(sentence('Done!')).toBe('Done!');
  });
});
