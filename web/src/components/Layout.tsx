import { useState, type ReactNode } from 'react';
import { api, type Session } from '../api/client';
import { Link, navigate } from '../lib/router';
import { cx } from './ui';

const NAV = [
  { href: '/', label: 'Sites', active: (p: string) => p === '/' || (p.startsWith('/sites') && p !== '/sites/new') },
  { href: '/sites/new', label: 'New site', active: (p: string) => p === '/sites/new' || p.startsWith('/jobs') },
  { href: '/billing', label: 'Billing', active: (p: string) => p === '/billing' },
];

export function Logo() {
  return (
    <span className="flex items-center gap-2 font-semibold tracking-tight text-slate-900">
      <span className="grid size-8 place-items-center rounded-lg bg-indigo-600 text-white shadow-sm" aria-hidden>
        <svg viewBox="0 0 24 24" className="size-4" fill="none" stroke="currentColor" strokeWidth="3" strokeLinecap="round">
          <path d="M5 12h14M12 5v14" />
        </svg>
      </span>
      gsWstudio
    </span>
  );
}

export function Layout({ session, path, children }: { session: Session; path: string; children: ReactNode }) {
  const [open, setOpen] = useState(false);
  const signOut = async () => {
    await api.logout();
    navigate('/login', { replace: true });
  };
  return (
    <div className="min-h-dvh">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2">
        Skip to content
      </a>
      <header className="sticky top-0 z-30 border-b border-slate-200 bg-white/90 backdrop-blur">
        <div className="mx-auto flex h-16 max-w-7xl items-center justify-between gap-4 px-4 sm:px-6">
          <Link href="/" aria-label="gsWstudio home">
            <Logo />
          </Link>
          <nav aria-label="Main" className="hidden items-center gap-1 md:flex">
            {NAV.map((item) => (
              <Link
                key={item.href}
                href={item.href}
                aria-current={item.active(path) ? 'page' : undefined}
                className={cx(
                  'rounded-lg px-3 py-2 text-sm font-medium',
                  item.active(path) ? 'bg-slate-100 text-slate-900' : 'text-slate-600 hover:bg-slate-50 hover:text-slate-900',
                )}
              >
                {item.label}
              </Link>
            ))}
          </nav>
          <div className="hidden items-center gap-3 md:flex">
            <span className="max-w-48 truncate text-sm text-slate-500" title={session.email}>
              {session.email}
            </span>
            <button type="button" onClick={signOut} className="rounded-lg px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100">
              Sign out
            </button>
          </div>
          <button
            type="button"
            className="rounded-lg p-2 text-slate-700 hover:bg-slate-100 md:hidden"
            aria-expanded={open}
            aria-controls="mobile-nav"
            onClick={() => setOpen(!open)}
          >
            <span className="sr-only">Menu</span>
            <svg viewBox="0 0 24 24" className="size-6" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" aria-hidden>
              {open ? <path d="M6 6l12 12M18 6L6 18" /> : <path d="M4 7h16M4 12h16M4 17h16" />}
            </svg>
          </button>
        </div>
        {open && (
          <nav id="mobile-nav" aria-label="Main" className="border-t border-slate-200 px-4 py-3 md:hidden">
            {NAV.map((item) => (
              <Link
                key={item.href}
                href={item.href}
                onClick={() => setOpen(false)}
                aria-current={item.active(path) ? 'page' : undefined}
                className={cx('block rounded-lg px-3 py-2 text-base font-medium', item.active(path) ? 'bg-slate-100' : 'text-slate-700')}
              >
                {item.label}
              </Link>
            ))}
            <div className="mt-2 flex items-center justify-between border-t border-slate-100 pt-3">
              <span className="truncate text-sm text-slate-500">{session.email}</span>
              <button type="button" onClick={signOut} className="rounded-lg px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100">
                Sign out
              </button>
            </div>
          </nav>
        )}
      </header>
      <main id="main" className="mx-auto max-w-7xl px-4 py-6 sm:px-6 sm:py-8">
        {children}
      </main>
    </div>
  );
}
