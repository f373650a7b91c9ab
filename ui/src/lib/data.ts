// Small data hooks over the API: fetch once, refetch on demand.
import { useCallback, useEffect, useRef, useState } from "react";
import { api, ok, type ProviderModels, type Skill, type ToolInfo } from "../api/client";

export interface Loaded<T> {
  data?: T;
  error?: string;
  loading: boolean;
  reload: () => Promise<T | undefined>;
}

/** Runs `load` now and whenever `reload` is called or `deps` change. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const ctrl = useRef<AbortController | null>(null);
  const reload = useCallback(async () => {
    ctrl.current?.abort();
    const c = new AbortController();
    ctrl.current = c;
    setLoading(true);
    try {
      const d = await loadRef.current(c.signal);
      if (c.signal.aborted) return undefined;
      setData(d);
      setError(undefined);
      return d;
    } catch (e) {
      if (!c.signal.aborted) setError(e instanceof Error ? e.message : String(e));
      return undefined;
    } finally {
      if (!c.signal.aborted) setLoading(false);
    }
  }, []);
  useEffect(() => {
    void reload();
    return () => ctrl.current?.abort();
  }, deps);
  return { data, error, loading, reload };
}

export function useModels(): Loaded<ProviderModels[]> {
  return useLoad((signal) => ok(api.GET("/api/v1/models", { signal })), []);
}

export function useSkills(): Loaded<Skill[]> {
  return useLoad((signal) => ok(api.GET("/api/v1/skills", { signal })), []);
}

export function useTools(): Loaded<ToolInfo[]> {
  return useLoad((signal) => ok(api.GET("/api/v1/tools", { signal })), []);
}

/** A value kept in localStorage (per browser), e.g. the chosen model. */
export function useStored<T>(key: string, initial: T): [T, (v: T) => void] {
  const [value, setValue] = useState<T>(() => {
    try {
      const raw = localStorage.getItem(`ctl.${key}`);
      return raw == null ? initial : (JSON.parse(raw) as T);
    } catch {
      return initial;
    }
  });
  const set = useCallback(
    (v: T) => {
      setValue(v);
      try {
        localStorage.setItem(`ctl.${key}`, JSON.stringify(v));
      } catch {
        /* private mode: keep it in memory */
      }
    },
    [key],
  );
  return [value, set];
}
