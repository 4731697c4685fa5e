import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api/client';
import { Logo } from '../components/Layout';
import { Button, ErrorNote, Field, Input } from '../components/ui';
import { useInteractive } from '../lib/hooks';
import { Link } from '../lib/router';

export const PASSWORD_MIN = 10;

export function validateCredentials(email: string, password: string, signup: boolean) {
  const errors: { email?: string; password?: string } = {};
  if (!email.trim()) errors.email = 'Enter your email address.';
  else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) errors.email = 'Enter an email address like ada@example.com.';
  if (!password) errors.password = 'Enter your password.';
  else if (signup && password.length < PASSWORD_MIN) errors.password = `Use at least ${PASSWORD_MIN} characters.`;
  return errors;
}

export function AuthPage({ mode, notice, onSignedIn }: { mode: 'login' | 'signup'; notice?: string; onSignedIn?: () => void }) {
  const signup = mode === 'signup';
  const [email, setEmail] = useState(() => api.current()?.email ?? sessionStorage.getItem('gsw.last-email') ?? '');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ email?: string; password?: string }>({});
  const [failure, setFailure] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  useInteractive(signup ? 'signup' : 'login', true);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = validateCredentials(email, password, signup);
    setErrors(found);
    setFailure(undefined);
    if (found.email || found.password) return;
    setBusy(true);
    try {
      sessionStorage.setItem('gsw.last-email', email.trim());
      if (signup) await api.register(email.trim(), password);
      else await api.login(email.trim(), password);
      onSignedIn?.();
    } catch (err) {
      const e = err as ApiError;
      if (e.field === 'email' || e.field === 'password') setErrors({ [e.field]: e.message });
      else setFailure(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="flex min-h-dvh flex-col items-center justify-center bg-gradient-to-b from-indigo-50 to-slate-50 px-4 py-12">
      <div className="w-full max-w-sm">
        <div className="mb-8 flex justify-center">
          <Logo />
        </div>
        <div className="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200 sm:p-8">
          <h1 className="text-xl font-bold tracking-tight">{signup ? 'Create your account' : 'Sign in'}</h1>
          <p className="mt-1 text-sm text-slate-600">
            {signup ? 'Generate a site in minutes and run your whole fleet from here.' : 'Welcome back. Your fleet is waiting.'}
          </p>
          {notice && (
            <p className="mt-4 rounded-lg bg-amber-50 px-3 py-2 text-sm text-amber-900 ring-1 ring-inset ring-amber-200" role="status">
              {notice}
            </p>
          )}
          <form className="mt-6 space-y-4" onSubmit={submit} noValidate>
            <Field label="Email" error={errors.email}>
              {(p) => <Input {...p} type="email" name="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} required />}
            </Field>
            <Field label="Password" error={errors.password} hint={signup ? `At least ${PASSWORD_MIN} characters.` : undefined}>
              {(p) => (
                <Input
                  {...p}
                  type="password"
                  name="password"
                  autoComplete={signup ? 'new-password' : 'current-password'}
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  required
                />
              )}
            </Field>
            {failure && <ErrorNote error={failure} />}
            <Button type="submit" busy={busy} className="w-full">
              {signup ? 'Create account' : 'Sign in'}
            </Button>
          </form>
        </div>
        <p className="mt-6 text-center text-sm text-slate-600">
          {signup ? 'Already have an account? ' : 'New to gsWstudio? '}
          <Link href={signup ? `/login${location.search}` : `/signup${location.search}`} className="font-semibold text-indigo-700 hover:underline">
            {signup ? 'Sign in' : 'Create an account'}
          </Link>
        </p>
      </div>
    </div>
  );
}
