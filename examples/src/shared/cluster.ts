import type { LeaderElection, PolicySync } from '@ztap/cluster';

/**
 * What the example applications need from the cluster, as interfaces. Each application is written
 * once against these and wired to etcd in production (`etcd.ts`, used by every `main.ts`) and to the
 * in-memory backend in its tests (`memory.ts`). This split is the pattern to copy.
 */
export interface Cluster {
  readonly election: LeaderElection;
  readonly policies: PolicySync;
  /** Where leader-only work records its results. */
  readonly store: FencedStore;
  /** Why the backend cannot be reached right now, or `undefined` while it answers (for /healthz). */
  backendError(): Error | undefined;
}

/**
 * Key-value storage for leader-only results. `put` is fenced: it writes only while `term` is the
 * current leadership in the backend, otherwise it throws `FencedWriteError` and writes nothing, even
 * if the writer has not noticed yet that it was deposed.
 */
export interface FencedStore {
  put(term: number, key: string, value: string): Promise<void>;
  get(key: string): Promise<string | undefined>;
}
