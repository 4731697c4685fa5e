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

/// A site's WordPress version, wherever the inventory keeps it.
export function wordpressVersion(inventory: Record<string, unknown> | null | undefined): string {
  const v = inventory?.wordpress_version ?? inventory?.wp_version ?? (inventory?.wordpress as Record<string, unknown> | undefined)?.version;
  return typeof v === 'string' && v ? v : '—';
}

export function phpVersion(inventory: Record<string, unknown> | null | undefined): string {
  const v = inventory?.php_version ?? (inventory?.php as Record<string, unknown> | undefined)?.version;
  return typeof v === 'string' && v ? v : '—';
}

/// Drift in a few words, whatever shape the API gives it (flag, count, list or object).
export function driftLabel(drift: unknown): { text: string; tone: 'ok' | 'warn' | 'none' } {
  if (drift == null) return { text: '—', tone: 'none' };
  if (typeof drift === 'boolean') return drift ? { text: 'Drifted', tone: 'warn' } : { text: 'In sync', tone: 'ok' };
  if (typeof drift === 'number') return drift > 0 ? { text: `${drift} changed`, tone: 'warn' } : { text: 'In sync', tone: 'ok' };
  if (typeof drift === 'string') return { text: drift, tone: drift === 'in_sync' || drift === 'none' ? 'ok' : 'warn' };
  if (Array.isArray(drift)) return drift.length ? { text: `${drift.length} changed`, tone: 'warn' } : { text: 'In sync', tone: 'ok' };
  if (typeof drift === 'object') {
    const d = drift as Record<string, unknown>;
    const status = d.status ?? d.state;
    if (Array.isArray(d.drifted)) {
      // The control plane's shape: {checked, drifted: [...], total_drifted?}.
      const count = typeof d.total_drifted === 'number' ? d.total_drifted : d.drifted.length;
      return count > 0 ? { text: `${count} changed`, tone: 'warn' } : { text: 'In sync', tone: 'ok' };
    }
    const items = (d.items ?? d.changed ?? d.pages) as unknown;
    if (d.drifted === false || status === 'in_sync' || status === 'clean') return { text: 'In sync', tone: 'ok' };
    if (Array.isArray(items)) return items.length ? { text: `${items.length} changed`, tone: 'warn' } : { text: 'In sync', tone: 'ok' };
    if (typeof d.count === 'number') return driftLabel(d.count);
    if (d.drifted === true) return { text: 'Drifted', tone: 'warn' };
    if (typeof status === 'string') return { text: status.replace(/_/g, ' '), tone: 'warn' };
  }
  return { text: '—', tone: 'none' };
}

export function date(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleDateString('en-GB', { dateStyle: 'medium', timeZone: 'UTC' });
}
