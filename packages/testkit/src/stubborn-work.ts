import type { LeaderElection } from '@ztap/cluster';

/** Leader work that ignores its signal: it runs until the test says so. */
export interface StubbornWork {
  /** Lets the work end, and resolves once it has. */
  finish(): Promise<void>;
}

/**
 * Starts leader work on `election` (which must be leading or about to) that ignores its signal, and
 * resolves once it runs: a step-down then waits for it, up to `drainTimeout`.
 */
export async function startStubbornWork(election: LeaderElection): Promise<StubbornWork> {
  const { promise: release, resolve: finish } = Promise.withResolvers<void>();
  const { promise: running, resolve: started } = Promise.withResolvers<void>();
  const work = election.runWhileLeader(() => {
    started();
    return release;
  });
  await running;
  return {
    finish: async () => {
      finish();
      await work;
    },
  };
}
