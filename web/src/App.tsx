// Routes and the session: signed-out visitors see the sign-in pages; an
// expired session sends the person to sign in and back to where they were,
// with what they had typed kept (forms keep their state in sessionStorage).

import { lazy, Suspense, useEffect, useState, type ReactNode } from 'react';
import { api, type Session } from './api/client';
import { Layout } from './components/Layout';
import { Loading } from './components/ui';
import { navigate, useLocation } from './lib/router';
import { findRoute, screenCode, type RouteMatch } from './lib/routes';
import { AuthPage } from './pages/Auth';
import { SitesPage } from './pages/Sites';
import { WizardPage } from './pages/Wizard';
import { JobPage } from './pages/Job';
import { BillingPage } from './pages/Billing';
import { NotFound } from './pages/NotFound';

// The heavier screens load when first opened.
const SiteDetailPage = lazy(screenCode.site);
const EditorPage = lazy(screenCode.editor);

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
  const found = findRoute(path);
  const isPublic = found?.route.public === true;
  const next = location.query.get('next');

  useEffect(() => {
    if (!session && !isPublic) {
      const here = path === '/' ? '' : `?next=${encodeURIComponent(path + window.location.search)}`;
      navigate(`/login${here}`, { replace: true });
    } else if (session && isPublic) {
      navigate(safeNext(next), { replace: true });
    }
  }, [session, isPublic, path, next]);

  if (found && isPublic) {
    return <AuthPage mode={found.route.screen === 'signup' ? 'signup' : 'login'} notice={notice} onSignedIn={() => setNotice(undefined)} />;
  }
  if (!session) return <Loading label="Opening the sign-in page…" />;

  return (
    <Layout session={session} path={path}>
      <Suspense fallback={<Loading />}>{found ? screenOf(found) : <NotFound />}</Suspense>
    </Layout>
  );
}

/// The screen a signed-in person sees at a route.
function screenOf({ route, params }: RouteMatch): ReactNode {
  switch (route.screen) {
    case 'sites':
      return <SitesPage />;
    case 'new-site':
      return <WizardPage />;
    case 'site':
      return <SiteDetailPage siteId={params.id} />;
    case 'editor':
      return <EditorPage siteId={params.id} slug={params.slug} />;
    case 'job':
      return <JobPage jobId={params.id} />;
    case 'billing':
      return <BillingPage />;
    case 'login':
    case 'signup':
      // Public: shown above, signed in or not.
      return null;
  }
}

/// Only same-origin paths: never send someone off-site after signing in.
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/login') || next.startsWith('/signup')) {
    return '/';
  }
  return next;
}
