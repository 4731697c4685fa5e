import type { SiteDrift } from '../api/types';

/// "3 minutes ago", "in 2 hours", "just now".
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '—';
  const seconds = Math.round((then - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return 'just now';
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['minute', 60],
    ['hour', 3600],
    ['day', 86400],
    ['month', 2592000],
    ['year', 31536000],
  ];
  let unit: Intl.RelativeTimeFormatUnit = 'minute';
  let size = 60;
  for (const [u, s] of units) {
    if (abs >= s) {
      unit = u;
      size = s;
    }
  }
  return new Intl.RelativeTimeFormat('en', { numeric: 'auto' }).format(Math.round(seconds / size), unit);
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

export function number(n: number | null | undefined): string {
  return n == null ? '—' : new Intl.NumberFormat('en').format(n);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${number(n)} ${n === 1 ? one : many}`;
}

/// A version from the agent's inventory, or a dash until it has reported one.
export function version(value: string | null | undefined): string {
  return value ? value : '—';
}

/// Drift in a few words: `{checked, drifted, total_drifted}` as the agent last reported it.
export function driftLabel(drift: SiteDrift | null | undefined): { text: string; tone: 'ok' | 'warn' | 'none' } {
  if (!drift) return { text: '—', tone: 'none' };
  const count = drift.total_drifted ?? drift.drifted.length;
  return count > 0 ? { text: `${number(count)} changed`, tone: 'warn' } : { text: 'In sync', tone: 'ok' };
}

export function date(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleDateString('en-GB', { dateStyle: 'medium', timeZone: 'UTC' });
}

/// A size in bytes as a person reads it: "812 B", "36 KB", "4.2 MB".
export function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${Math.round(n / 1000)} KB`;
  return `${(n / 1_000_000).toFixed(1)} MB`;
}
