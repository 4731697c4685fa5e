// Routes and the session: signed-out visitors see the sign-in pages; an
// expired session sends the person to sign in and back to where they were,
// with what they had typed kept (forms keep their state in sessionStorage).

import { lazy, Suspense, useEffect, useState } from 'react';
import { api, type Session } from './api/client';
import { Layout } from './components/Layout';
import { Loading } from './components/ui';
import { match, navigate, useLocation } from './lib/router';
import { AuthPage } from './pages/Auth';
import { SitesPage } from './pages/Sites';
import { WizardPage } from './pages/Wizard';
import { JobPage } from './pages/Job';
import { BillingPage } from './pages/Billing';
import { NotFound } from './pages/NotFound';

// The heavier screens load when first opened.
const SiteDetailPage = lazy(() => import('./pages/SiteDetail'));
const EditorPage = lazy(() => import('./pages/Editor'));

const PUBLIC = ['/login', '/signup'];

export function App() {
  const location = useLocation();
  const [session, setSession] = useState<Session | null>(api.current());
  const [notice, setNotice] = useState<string>();

  useEffect(
    () =>
      api.subscribe((next, reason) => {
        setSession(next);
        if (!next && reason === 'expired') {
          setNotice('Your session ended. Sign in again: what you were typing is kept.');
          const here = window.location.pathname + window.location.search;
          navigate(`/login?next=${encodeURIComponent(here)}`, { replace: true });
        }
      }),
    [],
  );

  const path = location.path;
  const isPublic = PUBLIC.includes(path);

  useEffect(() => {
    if (!session && !isPublic) {
      const here = path === '/' ? '' : `?next=${encodeURIComponent(path + window.location.search)}`;
      navigate(`/login${here}`, { replace: true });
    } else if (session && isPublic) {
      navigate(safeNext(location.query.get('next')), { replace: true });
    }
  }, [session, isPublic, path]);

  if (isPublic) {
    return <AuthPage mode={path === '/signup' ? 'signup' : 'login'} notice={notice} onSignedIn={() => setNotice(undefined)} />;
  }
  if (!session) return <Loading label="Opening the sign-in page…" />;

  let screen;
  let params: Record<string, string> | null;
  if (path === '/' || path === '/sites') screen = <SitesPage />;
  else if (path === '/sites/new') screen = <WizardPage />;
  else if ((params = match('/jobs/:id', path))) screen = <JobPage jobId={params.id} />;
  else if ((params = match('/sites/:id/pages/:slug', path))) screen = <EditorPage siteId={params.id} slug={params.slug} />;
  else if ((params = match('/sites/:id/editor', path))) screen = <EditorPage siteId={params.id} />;
  else if ((params = match('/sites/:id', path))) screen = <SiteDetailPage siteId={params.id} />;
  else if (path === '/billing') screen = <BillingPage />;
  else screen = <NotFound />;

  return (
    <Layout session={session} path={path}>
      <Suspense fallback={<Loading />}>{screen}</Suspense>
    </Layout>
  );
}

/// Only same-origin paths: never send someone off-site after signing in.
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/login') || next.startsWith('/signup')) {
    return '/';
  }
  return next;
}
