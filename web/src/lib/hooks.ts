import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
  setData: (data: T) => void;
}

/// Loads `fetcher()` when `key` changes; aborts a load that is no longer wanted.
/// Until the load for the current `key` settles, `loading` is true and `data`
/// is the previous answer (so a table does not blink while its filter changes).
export function useLoad<T>(fetcher: (signal: AbortSignal) => Promise<T>, key: unknown[]): Loaded<T> {
  const [data, setData] = useState<T>();
  // The dependencies of the load that last settled, and its error if it failed.
  const [settled, setSettled] = useState<{ deps: unknown[]; error?: ApiError }>();
  const [tick, setTick] = useState(0);
  const fetcherRef = useRef(fetcher);
  // Declared before the load's effect, so that effect sees this render's fetcher.
  useEffect(() => {
    fetcherRef.current = fetcher;
  });
  const deps = [...key, tick];
  useEffect(() => {
    const controller = new AbortController();
    fetcherRef.current(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setSettled({ deps });
      },
      (err: unknown) => {
        if (controller.signal.aborted || (err instanceof Error && err.name === 'AbortError')) return;
        setSettled({ deps, error: err instanceof ApiError ? err : new ApiError(0, 'error', err instanceof Error ? err.message : String(err)) });
      },
    );
    return () => controller.abort();
    // The caller's `key` says when to load again; the fetcher is read from its ref.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const current = settled !== undefined && sameDeps(settled.deps, deps);
  return { data, error: current ? settled.error : undefined, loading: !current, reload, setData };
}

/// Calls `tick` every `ms` milliseconds while `active` is true: a screen
/// showing something still on its way (a queued deployment) follows it
/// without a reload.
export function usePollWhile(active: boolean, tick: () => void, ms = 2000): void {
  const tickRef = useRef(tick);
  useEffect(() => {
    tickRef.current = tick;
  });
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => tickRef.current(), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
}

function sameDeps(a: unknown[], b: unknown[]): boolean {
  return a.length === b.length && a.every((value, i) => Object.is(value, b[i]));
}

/// State kept in sessionStorage under `key`, so what a person typed survives
/// a reload or a trip through the sign-in page.
export function usePersistentState<T>(key: string, initial: T): [T, (value: T | ((old: T) => T)) => void, () => void] {
  const [value, setValue] = useState<T>(() => {
    try {
      const raw = sessionStorage.getItem(key);
      return raw ? { ...initial, ...(JSON.parse(raw) as Partial<T>) } : initial;
    } catch {
      return initial;
    }
  });
  useEffect(() => {
    try {
      sessionStorage.setItem(key, JSON.stringify(value));
    } catch {
      // Storage full or disabled: the form still works, it just will not survive a reload.
    }
  }, [key, value]);
  const clear = useCallback(() => sessionStorage.removeItem(key), [key]);
  return [value, setValue, clear];
}

/// Marks the moment a screen's main control is ready, for the benchmarks.
export function useInteractive(screen: string, ready: boolean) {
  const marked = useRef<string>(undefined);
  useEffect(() => {
    if (!ready || marked.current === screen) return;
    marked.current = screen;
    // Effects run once the commit that shows the control is on screen.
    try {
      performance.mark(`gsw:interactive:${screen}`);
    } catch {
      // performance.mark is missing in some test environments.
    }
    document.documentElement.dataset.interactive = screen;
  }, [screen, ready]);
}
