// The REST API client: one session (access and refresh tokens) kept in
// localStorage, refreshed before it runs out and on a 401, one refresh at a
// time across tabs (a refresh token works once; presenting it twice signs
// every session of its family out). Errors become `ApiError`s with the
// server's words.

import type { ErrorDetail, Registration, TokenPair } from './types';

export const API = '/api/v1';
const STORAGE_KEY = 'gsw.session';
/// Refresh this long before the access token expires.
const REFRESH_MARGIN_MS = 30_000;

export interface Session {
  access_token: string;
  refresh_token: string;
  /// When the access token expires (ms since the epoch).
  expires_at: number;
  email?: string;
}

/// An error the API answered with, or a failure to reach it, in words a person can act on.
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId?: string;
  /// The field a validation error is about, as the server names it: a body
  /// attribute (`email`) or a path into one (`goals[0]`, `sections[1].heading`).
  /// The message is then about that field alone, for showing beside it.
  readonly field?: string;

  constructor(status: number, code: string, message: string, details: { requestId?: string; field?: string } = {}) {
    super(sentence(message));
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.requestId = details.requestId;
    this.field = details.field;
  }
}

/// The attribute a field path starts with (`goals[0]` → `goals`, `sections[1].heading` → `sections`).
export function fieldName(field: string): string {
  return /^[^[.]*/.exec(field)![0];
}

/// The session has ended (refresh refused): sign in again.
export class SessionExpired extends ApiError {
  constructor(message = 'Your session has ended. Sign in again to carry on.') {
    super(401, 'session_expired', message);
  }
}

type Listener = (session: Session | null, reason?: 'expired' | 'logout') => void;

function toSession(pair: TokenPair, email?: string): Session {
  // From the local clock, so a machine whose clock is off still refreshes in time.
  return {
    access_token: pair.access_token,
    refresh_token: pair.refresh_token,
    expires_at: Date.now() + pair.expires_in * 1000,
    email: pair.user?.email ?? email,
  };
}

async function errorFrom(response: Response): Promise<ApiError> {
  const requestId = response.headers.get('x-request-id') ?? undefined;
  try {
    const e = errorDetail(await response.json());
    if (e) {
      return new ApiError(response.status, e.code, e.message, { requestId: e.request_id || requestId, field: e.field ?? undefined });
    }
  } catch {
    // Not JSON: a proxy or a crash answered.
  }
  const words: Record<number, string> = {
    502: 'The control plane is not answering (bad gateway). Try again in a moment.',
    503: 'The control plane is not ready. Try again in a moment.',
    504: 'The control plane took too long to answer. Try again.',
  };
  return new ApiError(
    response.status,
    'http_error',
    words[response.status] ?? `The server answered ${response.status} ${response.statusText}.`,
    { requestId },
  );
}

/// The `error` of an API error body, if `body` is one.
function errorDetail(body: unknown): ErrorDetail | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const e = body.error as Partial<Record<keyof ErrorDetail, unknown>> | null;
  if (typeof e?.message !== 'string') return undefined;
  return {
    code: typeof e.code === 'string' ? e.code : 'error',
    message: e.message,
    request_id: typeof e.request_id === 'string' ? e.request_id : '',
    field: typeof e.field === 'string' ? e.field : undefined,
  };
}

/// Capitalises a server message and ends it with a full stop.
export function sentence(message: string): string {
  const text = message.trim();
  if (!text) return text;
  const first = text[0].toUpperCase() + text.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /// Send no Authorization header (sign-in, sign-up).
  anonymous?: boolean;
  signal?: AbortSignal;
  /// The answer is text (a stylesheet), not JSON.
  text?: boolean;
  /// The answer is bytes (an image), not JSON.
  blob?: boolean;
}

export class ApiClient {
  private session: Session | null;
  private refreshing: Promise<Session> | null = null;
  private listeners = new Set<Listener>();
  private readonly storage: Storage | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(options: { storage?: Storage; fetch?: typeof fetch } = {}) {
    this.storage = options.storage ?? (typeof localStorage !== 'undefined' ? localStorage : undefined);
    this.fetchImpl = options.fetch ?? ((...args) => fetch(...args));
    this.session = this.load();
    if (typeof window !== 'undefined') {
      // Another tab signed in, refreshed or signed out.
      window.addEventListener('storage', (event) => {
        if (event.key !== STORAGE_KEY) return;
        this.session = this.load();
        this.emit();
      });
    }
  }

  private load(): Session | null {
    try {
      const raw = this.storage?.getItem(STORAGE_KEY);
      return raw ? (JSON.parse(raw) as Session) : null;
    } catch {
      return null;
    }
  }

  private store(session: Session | null, reason?: 'expired' | 'logout') {
    this.session = session;
    if (session) this.storage?.setItem(STORAGE_KEY, JSON.stringify(session));
    else this.storage?.removeItem(STORAGE_KEY);
    this.emit(reason);
  }

  private emit(reason?: 'expired' | 'logout') {
    for (const listener of this.listeners) listener(this.session, reason);
  }

  /// Calls `listener` whenever the session changes; returns the unsubscribe.
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  current(): Session | null {
    return this.session;
  }

  /// Creates the account, then signs in with it. Registration answers the
  /// same whether or not the address already had an account (so it tells
  /// nobody which addresses have one) and signs nobody in; a refused sign-in
  /// right after it means the address had an account with another password.
  async register(email: string, password: string): Promise<Session> {
    await this.request<Registration>('/auth/register', {
      method: 'POST',
      body: { email, password },
      anonymous: true,
    });
    try {
      return await this.login(email, password);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_credentials') {
        throw new ApiError(err.status, err.code, 'this address already has an account with another password: sign in with that password instead', {
          requestId: err.requestId,
        });
      }
      throw err;
    }
  }

  async login(email: string, password: string): Promise<Session> {
    const pair = await this.request<TokenPair>('/auth/login', {
      method: 'POST',
      body: { email, password },
      anonymous: true,
    });
    const session = toSession(pair, email);
    this.store(session);
    return session;
  }

  async logout(): Promise<void> {
    const session = this.session;
    this.store(null, 'logout');
    if (session) {
      try {
        await this.request('/auth/logout', {
          method: 'POST',
          body: { refresh_token: session.refresh_token },
          anonymous: true,
        });
      } catch {
        // Signed out here either way; the refresh token expires on its own.
      }
    }
  }

  /// Ends the session because it can no longer be refreshed.
  expire() {
    if (this.session) this.store(null, 'expired');
  }

  /// A fresh access token, refreshing first if it runs out soon.
  async accessToken(): Promise<string> {
    const session = this.session;
    if (!session) throw new SessionExpired('Sign in to carry on.');
    if (session.expires_at - Date.now() > REFRESH_MARGIN_MS) return session.access_token;
    return (await this.refresh(session)).access_token;
  }

  /// Swaps the refresh token for a new pair, once even if many callers ask at once.
  refresh(stale: Session): Promise<Session> {
    if (this.refreshing === null) {
      const run = () => this.doRefresh(stale);
      const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
      this.refreshing = ((locks ? locks.request('gsw.refresh', run) : run()) as Promise<Session>).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(stale: Session): Promise<Session> {
    // Another tab may have refreshed while this one waited for the lock.
    const latest = this.load();
    if (latest && latest.refresh_token !== stale.refresh_token) {
      this.session = latest;
      if (latest.expires_at - Date.now() > REFRESH_MARGIN_MS) return latest;
      stale = latest;
    }
    let response: Response;
    try {
      response = await this.fetchImpl(`${API}/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: stale.refresh_token }),
      });
    } catch {
      throw new ApiError(0, 'network', 'Cannot reach the control plane. Check your connection and try again.');
    }
    if (response.status === 401) {
      this.expire();
      throw new SessionExpired();
    }
    if (!response.ok) throw await errorFrom(response);
    const session = toSession((await response.json()) as TokenPair, stale.email);
    this.store(session);
    return session;
  }

  /// Sends a request to `/api/v1{path}`; JSON in, JSON out (`undefined` for 204).
  async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const send = async (token?: string) => {
      const headers: Record<string, string> = { accept: options.blob ? '*/*' : options.text ? 'text/*' : 'application/json' };
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      if (token) headers.authorization = `Bearer ${token}`;
      try {
        return await this.fetchImpl(`${API}${path}`, {
          method: options.method ?? 'GET',
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal: options.signal,
        });
      } catch (err) {
        if ((err as Error)?.name === 'AbortError') throw err;
        throw new ApiError(0, 'network', 'Cannot reach the control plane. Check your connection and try again.');
      }
    };
    let response: Response;
    if (options.anonymous) {
      response = await send();
    } else {
      response = await send(await this.accessToken());
      if (response.status === 401 && this.session) {
        // The token was refused (revoked, or the clock is off): refresh once and retry.
        const session = await this.refresh(this.session);
        response = await send(session.access_token);
        if (response.status === 401) {
          this.expire();
          throw new SessionExpired();
        }
      }
    }
    if (!response.ok) throw await errorFrom(response);
    if (response.status === 204) return undefined as T;
    if (options.blob) return (await response.blob()) as T;
    const text = await response.text();
    if (options.text) return text as T;
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T>(path: string, signal?: AbortSignal) {
    return this.request<T>(path, { signal });
  }
  getText(path: string, signal?: AbortSignal) {
    return this.request<string>(path, { signal, text: true });
  }
  getBlob(path: string, signal?: AbortSignal) {
    return this.request<Blob>(path, { signal, blob: true });
  }
  post<T>(path: string, body?: unknown) {
    return this.request<T>(path, { method: 'POST', body });
  }
  patch<T>(path: string, body: unknown) {
    return this.request<T>(path, { method: 'PATCH', body });
  }

  /// The WebSocket URL of a job's events and the protocols that carry the token.
  async jobSocket(jobId: string): Promise<{ url: string; protocols: string[] }> {
    const token = await this.accessToken();
    const origin = typeof location !== 'undefined' ? location : { protocol: 'http:', host: 'localhost' };
    const scheme = origin.protocol === 'https:' ? 'wss:' : 'ws:';
    return { url: `${scheme}//${origin.host}${API}/jobs/${jobId}/events`, protocols: ['bearer', token] };
  }
}

export const api = new ApiClient();
