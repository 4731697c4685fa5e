// Connecting a WordPress site, three ways: with a WordPress login (the
// control plane checks the site, then has the connector plugin enroll
// itself), on a server with the agent (the commands to run), or the plugin
// by hand (what to paste into Settings > gsWstudio). Then it waits until
// the site has called in.

import { useState } from 'react';
import { api, ApiError } from '../api/client';
import type { Agent, EnrollmentToken, WordPressCredentials, WordPressReport } from '../api/types';
import { Badge, Button, CopyButton, ErrorNote, Field, Input, Spinner, cx } from './ui';
import { dateTime } from '../lib/format';

type Way = 'login' | 'server' | 'manual';

const WAYS: { id: Way; label: string; hint: string }[] = [
  { id: 'login', label: 'WordPress login', hint: 'Shared hosting: the connector plugin and an application password' },
  { id: 'server', label: 'Server with the agent', hint: 'A server you have a shell on' },
  { id: 'manual', label: 'Plugin, by hand', hint: 'Paste a token into the plugin' },
];

/// The connector plugin, as this control plane serves it.
export const CONNECTOR_ZIP = '/api/v1/connector.zip';

/// `onStarted` is called once a connection is under way (connected with a
/// login, or a token made), so the page follows the site until it calls in.
export function ConnectSite({ siteId, connected, onStarted }: { siteId: string; connected: boolean; onStarted: () => void }) {
  const [way, setWay] = useState<Way>('login');
  return (
    <div className="space-y-3" data-testid="connect-site">
      <div role="tablist" aria-label="How to connect" className="grid grid-cols-3 gap-1 rounded-lg bg-slate-100 p-1 text-xs">
        {WAYS.map((w) => (
          <button
            key={w.id}
            role="tab"
            type="button"
            aria-selected={way === w.id}
            title={w.hint}
            onClick={() => setWay(w.id)}
            className={cx('rounded-md px-2 py-1.5 font-medium', way === w.id ? 'bg-white text-slate-900 shadow-sm' : 'text-slate-600 hover:text-slate-900')}
          >
            {w.label}
          </button>
        ))}
      </div>
      {way === 'login' && <WithLogin siteId={siteId} onConnected={onStarted} />}
      {way === 'server' && <WithToken siteId={siteId} kind="server" connected={connected} onMade={onStarted} />}
      {way === 'manual' && <WithToken siteId={siteId} kind="manual" connected={connected} onMade={onStarted} />}
    </div>
  );
}

function WithLogin({ siteId, onConnected }: { siteId: string; onConnected: () => void }) {
  const [form, setForm] = useState<WordPressCredentials>({ url: '', username: '', application_password: '' });
  const [report, setReport] = useState<WordPressReport>();
  const [busy, setBusy] = useState<'check' | 'connect'>();
  const [failure, setFailure] = useState<ApiError>();
  const [done, setDone] = useState(false);
  const set = (field: keyof WordPressCredentials) => (e: React.ChangeEvent<HTMLInputElement>) => {
    setForm({ ...form, [field]: e.target.value });
    setReport(undefined);
  };
  const run = async (what: 'check' | 'connect') => {
    setBusy(what);
    setFailure(undefined);
    try {
      if (what === 'check') {
        setReport(await api.post<WordPressReport>('/wordpress/validate', form));
      } else {
        await api.post<Agent>(`/sites/${siteId}/connect`, form);
        setDone(true);
        setForm({ ...form, application_password: '' });
        onConnected();
      }
    } catch (e) {
      setFailure(e as ApiError);
    } finally {
      setBusy(undefined);
    }
  };
  const fieldError = (name: string) => (failure?.field === name ? failure.message : undefined);
  if (done)
    return (
      <p className="rounded-lg bg-emerald-50 px-3 py-2 text-sm text-emerald-900 ring-1 ring-emerald-200" role="status">
        Connected. The application password was used once and not kept; you may revoke it in WordPress.
      </p>
    );
  return (
    <form
      className="space-y-3"
      onSubmit={(e) => {
        e.preventDefault();
        void run('connect');
      }}
    >
      <ol className="list-decimal space-y-1 pl-5 text-sm text-slate-600">
        <li>
          <a href={CONNECTOR_ZIP} download className="font-semibold text-indigo-700 hover:underline">
            Download the connector plugin
          </a>{' '}
          and install it in WordPress (Plugins → Add New → Upload Plugin), then activate it.
        </li>
        <li>In WordPress, make an application password: Users → Profile → Application Passwords.</li>
        <li>Enter it here. It is used once to connect the plugin and never stored.</li>
      </ol>
      <Field label="Site address" error={fieldError('url')}>
        {(p) => <Input {...p} type="url" required placeholder="https://bakery.example" value={form.url} onChange={set('url')} autoComplete="url" />}
      </Field>
      <Field label="WordPress user" error={fieldError('username')}>
        {(p) => <Input {...p} required placeholder="admin" value={form.username} onChange={set('username')} autoComplete="username" />}
      </Field>
      <Field label="Application password" error={fieldError('application_password')}>
        {(p) => <Input {...p} type="password" required placeholder="abcd EFGH ijkl MNOP qrst UVWX" value={form.application_password} onChange={set('application_password')} autoComplete="off" />}
      </Field>
      {report && <Checked report={report} />}
      {failure && !failure.field && <ErrorNote error={failure} title={connectTitle(failure)} />}
      <div className="flex flex-wrap gap-2">
        <Button type="button" variant="secondary" busy={busy === 'check'} disabled={Boolean(busy)} onClick={() => void run('check')}>
          Check
        </Button>
        <Button type="submit" busy={busy === 'connect'} disabled={Boolean(busy)}>
          Connect
        </Button>
      </div>
    </form>
  );
}

/// A title for what went wrong, by the error's code.
export function connectTitle(error: ApiError): string {
  switch (error.code) {
    case 'unreachable':
      return 'The site could not be reached';
    case 'not_wordpress':
      return 'That address does not look like WordPress';
    case 'rest_api_disabled':
      return 'The site’s REST API is switched off';
    case 'invalid_credentials':
      return 'WordPress refused the user or application password';
    case 'insufficient_role':
      return 'That user is not an administrator';
    case 'forbidden_target':
      return 'That address is not on the public internet';
    case 'connector_missing':
      return 'Install and activate the connector plugin first';
    case 'connect_failed':
      return 'The connector could not connect';
    default:
      return 'The site could not be connected';
  }
}

function Checked({ report }: { report: WordPressReport }) {
  const connector = report.connector;
  return (
    <dl className="grid grid-cols-[8rem_1fr] gap-y-1 rounded-lg bg-slate-50 p-3 text-sm ring-1 ring-slate-200" data-testid="wordpress-report">
      <dt className="text-slate-500">WordPress</dt>
      <dd>{report.wordpress_version ?? 'version hidden'}</dd>
      <dt className="text-slate-500">PHP</dt>
      <dd>{report.php_version ?? 'not told'}</dd>
      <dt className="text-slate-500">User</dt>
      <dd>
        {report.user.name} <span className="text-slate-500">({report.user.roles.join(', ') || 'no role'})</span>
      </dd>
      <dt className="text-slate-500">Connector</dt>
      <dd>
        {connector.active ? (
          <Badge tone="green">Active{connector.version ? ` · ${connector.version}` : ''}</Badge>
        ) : connector.installed ? (
          <Badge tone="amber">Installed, not active</Badge>
        ) : (
          <Badge tone="amber">Not installed</Badge>
        )}
      </dd>
    </dl>
  );
}

function WithToken({ siteId, kind, connected, onMade }: { siteId: string; kind: 'server' | 'manual'; connected: boolean; onMade: () => void }) {
  const [token, setToken] = useState<EnrollmentToken>();
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<ApiError>();
  const make = async () => {
    setBusy(true);
    setFailure(undefined);
    try {
      setToken(await api.post<EnrollmentToken>(`/sites/${siteId}/enrollment-tokens`));
      onMade();
    } catch (e) {
      setFailure(e as ApiError);
    } finally {
      setBusy(false);
    }
  };
  const server = window.location.origin;
  return (
    <div className="space-y-2">
      <p className="text-sm text-slate-600">
        {kind === 'server'
          ? connected
            ? 'Move the site to another server, or replace its agent: run these on it.'
            : 'On the WordPress server, with the gsw-agent package installed (see the README), run:'
          : 'In WordPress, open Settings → gsWstudio and paste these three.'}
      </p>
      {token ? (
        kind === 'server' ? (
          <>
            <pre className="overflow-x-auto rounded-lg bg-slate-900 p-3 text-xs text-slate-100" data-testid="enroll-command">
              {serverCommands(token)}
            </pre>
            <div className="flex items-center justify-between gap-2">
              <span className="text-xs text-slate-500">Works once, until {dateTime(token.expires_at)}.</span>
              <CopyButton text={serverCommands(token)} />
            </div>
          </>
        ) : (
          <dl className="space-y-2 text-sm" data-testid="manual-enrollment">
            <Copyable label="Control plane address" value={server} />
            <Copyable label="Enrollment token" value={token.token} />
            <Copyable label="Key fingerprint" value={token.bundle_key_fingerprint} />
            <p className="text-xs text-slate-500">
              The token works once, until {dateTime(token.expires_at)}.{' '}
              <a href={CONNECTOR_ZIP} download className="font-semibold text-indigo-700 hover:underline">
                Download the connector plugin
              </a>
            </p>
          </dl>
        )
      ) : (
        <Button variant="secondary" onClick={make} busy={busy}>
          {kind === 'server' ? 'Show the commands' : 'Make a token'}
        </Button>
      )}
      {token && kind === 'server' && (
        <p className="text-xs text-slate-500" data-testid="signing-key">
          The agent trusts only this control plane&rsquo;s signing key:{' '}
          <code className="mt-0.5 block break-all font-mono text-slate-700">{token.bundle_key_fingerprint}</code>
        </p>
      )}
      {failure && <ErrorNote error={failure} />}
    </div>
  );
}

/// The commands for a server: the package's own list when the control
/// plane gives one, else the enrollment command alone.
export function serverCommands(token: EnrollmentToken): string {
  return token.commands.length > 0 ? token.commands.join('\n') : token.command;
}

function Copyable({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <dt className="text-xs font-medium text-slate-500">{label}</dt>
      <dd className="mt-0.5 flex items-center gap-2">
        <code className="min-w-0 flex-1 truncate rounded bg-slate-100 px-2 py-1 font-mono text-xs text-slate-800">{value}</code>
        <CopyButton text={value} />
      </dd>
    </div>
  );
}

/// Shown while a connection is expected: until the site calls in.
export function WaitingForSite() {
  return (
    <p className="flex items-center gap-2 rounded-lg bg-indigo-50 px-3 py-2 text-sm text-indigo-900 ring-1 ring-indigo-200" role="status">
      <Spinner className="size-4" label="Waiting" />
      Waiting for the site to call in…
    </p>
  );
}
