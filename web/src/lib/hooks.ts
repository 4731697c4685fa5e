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
export function useLoad<T>(fetcher: (signal: AbortSignal) => Promise<T>, key: unknown[]): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;
  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setError(undefined);
    fetcherRef
      .current(controller.signal)
      .then((value) => {
        if (!controller.signal.aborted) setData(value);
      })
      .catch((err) => {
        if (controller.signal.aborted || err?.name === 'AbortError') return;
        setError(err instanceof ApiError ? err : new ApiError(0, 'error', String(err?.message ?? err)));
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, setData };
}

/// State kept in sessionStorage under `key`, so what a person typed survives
/// a reload or a trip through the sign-in page.
export function usePersistentState<T>(key: string, initial: T): [T, (value: T | ((old: T) => T)) => void, () => void] {
  const [value, setValue] = useState<T>(() => {
    try {
      const raw = sessionStorage.getItem(key);
      return raw ? { ...initial, ...JSON.parse(raw) } : initial;
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
