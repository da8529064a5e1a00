import type { LeaderElection } from '@ztap/cluster';

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Resolves after `count` more successful heartbeats of `election`: time passes while it keeps renewing. */
export function heartbeats(election: LeaderElection, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const subscription = election.telemetry.onHeartbeat(({ ok }) => {
      if (ok && ++seen >= count) {
        subscription.dispose();
        resolve();
      }
    });
  });
}
